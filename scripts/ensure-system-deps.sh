#!/usr/bin/env bash
# Make sure Debian packages are installed: install them when we are root, otherwise stop with one line
# saying what to run. With --optional, a non-root user only gets a warning (the tier that needs them skips).
set -euo pipefail
optional=0
if [ "${1:-}" = "--optional" ]; then optional=1; shift; fi
missing=()
for pkg in "$@"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  if [ $optional -eq 1 ] && [ "${CI:-}" != "true" ]; then
    echo "note: ${missing[*]} not installed; the tests that need them will be skipped (sudo apt-get install ${missing[*]})" >&2
    exit 0
  fi
  echo "missing system packages: ${missing[*]} — run: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "installing system packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y --no-install-recommends "${missing[@]}" >/tmp/bantin-apt.log 2>&1; then
  apt-get update >/tmp/bantin-apt.log 2>&1
  if ! apt-get install -y --no-install-recommends "${missing[@]}" >>/tmp/bantin-apt.log 2>&1; then
    if [ $optional -eq 1 ] && [ "${CI:-}" != "true" ]; then
      echo "note: could not install ${missing[*]} (see /tmp/bantin-apt.log); the tests that need them will be skipped" >&2
      exit 0
    fi
    echo "apt-get install ${missing[*]} failed; see /tmp/bantin-apt.log" >&2
    exit 1
  fi
fi
