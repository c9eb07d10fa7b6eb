#!/usr/bin/env bash
# A throw-away single-node Ceph cluster with an S3 endpoint, for the "real S3" test tier and for local use:
# 1 ceph-mon, 1 ceph-osd (bluestore on a sparse file), no mgr, radosgw (beast) on 127.0.0.1:PORT.
# Everything lives under DIR; `start` on an existing DIR restarts the daemons and keeps the data.
#
#   usage: ceph-rgw-local.sh start DIR [PORT]     (PORT defaults to 7480, or to the port DIR was created with)
#          ceph-rgw-local.sh stop  DIR
#
#   needs: apt-get install radosgw ceph-mon ceph-osd      (Debian 12 ships Ceph 16 "Pacific")
#
# Environment (all optional):
#   S3_ACCESS_KEY / S3_SECRET_KEY   keys of the S3 user made on first start (testkey / testsecret123)
#   CEPH_MON_PORT / CEPH_MON_V1_PORT  monitor ports, msgr2 and legacy (13300 / 16789); fixed when DIR is created
#   CEPH_BLOCK_SIZE_GIB             size of the sparse bluestore file (8)
#   CEPH_OSD_MEMORY_MIB             osd_memory_target (896, the lowest value Ceph accepts); the bluestore cache
#                                   is fixed at 64 MiB (autotune off), so the OSD stays near 50-150 MB anyway
#   CEPH_START_TIMEOUT              seconds to wait for each step of start-up (120)
#   CEPH_STOP_TIMEOUT               seconds to wait for each daemon to exit before SIGKILL (30)
#
# Notes (see shared/research/infra.md §A.2): Debian's Ceph 16 has no `dbstore`, so radosgw needs a RADOS
# cluster; with `auth ... = none` radosgw must be told `ms mon client mode = crc secure` or it loops on
# "get_initial_auth_request returned -13" for 5 minutes. Without a mgr, `ceph -s` shows 0 pools (cosmetic).
set -euo pipefail

prog=$(basename "$0")
die() { echo "$prog: $*" >&2; exit 1; }
usage() { echo "usage: $prog start|stop DIR [PORT]" >&2; exit 2; }

[ $# -ge 2 ] || usage
cmd=$1
D=$(realpath -m -- "$2")
PORT_ARG=${3:-}
CONF=$D/ceph.conf
C=(-c "$CONF")
START_TIMEOUT=${CEPH_START_TIMEOUT:-120}
STOP_TIMEOUT=${CEPH_STOP_TIMEOUT:-30}
DAEMONS=(radosgw osd mon)   # stop order; start order is the reverse

# The PID in DIR/run/NAME.pid, only if that process is alive and is one of ours (its command line names
# our ceph.conf), so a stale pidfile whose PID was reused by another process is never signalled.
own_pid() {
  local f=$D/run/$1.pid pid
  [ -f "$f" ] || return 1
  pid=$(tr -dc '0-9' <"$f")
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$CONF" || return 1
  echo "$pid"
}

stop_daemon() {
  local name=$1 pid deadline
  pid=$(own_pid "$name") || { rm -f "$D/run/$name.pid"; return 0; }
  kill -TERM "$pid" 2>/dev/null || true
  deadline=$((SECONDS + STOP_TIMEOUT))
  while kill -0 "$pid" 2>/dev/null; do
    if [ $SECONDS -ge $deadline ]; then
      echo "$prog: $name (pid $pid) still running after ${STOP_TIMEOUT}s, sending SIGKILL" >&2
      kill -KILL "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.2
  done
  rm -f "$D/run/$name.pid"
}

if [ "$cmd" = stop ]; then
  [ -d "$D" ] || exit 0
  for n in "${DAEMONS[@]}"; do stop_daemon "$n"; done
  echo "ceph in $D stopped"
  exit 0
fi
[ "$cmd" = start ] || usage

missing=()
for b in radosgw ceph-mon ceph-osd ceph radosgw-admin monmaptool ceph-authtool; do
  command -v "$b" >/dev/null 2>&1 || missing+=("$b")
done
[ ${#missing[@]} -eq 0 ] || die "missing ${missing[*]}: apt-get install radosgw ceph-mon ceph-osd"

log_tail() {  # the last lines of a daemon log, for error messages
  local f=$D/log/$1
  if [ -s "$f" ]; then echo "---- last lines of $f ----" >&2; tail -n "${2:-25}" "$f" >&2; fi
}
fail_start() {
  local msg=$1; shift
  echo "$prog: $msg" >&2
  for f in "$@"; do log_tail "$f"; done
  for n in "${DAEMONS[@]}"; do STOP_TIMEOUT=10 stop_daemon "$n"; done  # leave nothing of ours running
  exit 1
}
# run NAME [LOG] -- CMD...: run a start-up step with its output in log/NAME.out; if it fails or times out,
# fail showing the tails of that output and of the daemon log LOG
run() {
  local name=$1 logs=("$1.out"); shift
  while [ "$1" != -- ]; do logs+=("$1"); shift; done
  shift
  if ! timeout "$START_TIMEOUT" "$@" >"$D/log/$name.out" 2>&1; then
    fail_start "'$*' failed (or timed out after ${START_TIMEOUT}s)" "${logs[@]}"
  fi
}
logname() { case $1 in mon) echo mon.a.log ;; osd) echo osd.0.log ;; *) echo client.rgw.log ;; esac; }
http_up() {
  if command -v curl >/dev/null 2>&1; then
    local code
    code=$(curl -s -o /dev/null -m 2 -w '%{http_code}' "http://127.0.0.1:$PORT/" || true)
    [ "$code" != 000 ] && [ -n "$code" ]
  else
    timeout 3 bash -c "exec 3<>/dev/tcp/127.0.0.1/$PORT && printf 'GET / HTTP/1.0\r\n\r\n' >&3 && head -c 4 <&3 | grep -q HTTP" 2>/dev/null
  fi
}

if [ -f "$CONF" ] && [ ! -f "$D/bootstrapped" ]; then
  die "$D holds a cluster whose first start did not finish; remove that directory and start again"
fi
if [ -f "$CONF" ]; then
  fresh=0
  conf_port=$(sed -n 's/^rgw frontends = beast endpoint=127\.0\.0\.1:\([0-9]*\).*/\1/p' "$CONF")
  PORT=${PORT_ARG:-$conf_port}
  if [ "$PORT" != "$conf_port" ]; then
    sed -i "s/^rgw frontends = .*/rgw frontends = beast endpoint=127.0.0.1:$PORT/" "$CONF"
  fi
else
  fresh=1
  PORT=${PORT_ARG:-7480}
fi
[[ "$PORT" =~ ^[0-9]+$ ]] || die "bad port: $PORT"

for n in "${DAEMONS[@]}"; do
  if pid=$(own_pid "$n"); then die "$n is already running (pid $pid); run '$prog stop $D' first"; fi
done
if http_up; then die "something already answers on 127.0.0.1:$PORT"; fi

if [ $fresh = 1 ]; then
  MON2=${CEPH_MON_PORT:-13300}
  MON1=${CEPH_MON_V1_PORT:-16789}
  BLOCK_GIB=${CEPH_BLOCK_SIZE_GIB:-8}
  OSD_MEM_MIB=${CEPH_OSD_MEMORY_MIB:-896}
  [ "$OSD_MEM_MIB" -ge 896 ] || die "CEPH_OSD_MEMORY_MIB must be at least 896 (Ceph's minimum osd_memory_target)"
  MONADDR="[v2:127.0.0.1:$MON2,v1:127.0.0.1:$MON1]"
  mkdir -p "$D"/{mon,osd0,run,log,rgw}
  FSID=$(cat /proc/sys/kernel/random/uuid)
  cat >"$CONF.tmp" <<CONF
[global]
fsid = $FSID
mon host = $MONADDR
auth cluster required = none
auth service required = none
auth client required = none
ms mon client mode = crc secure
keyring = $D/keyring
public network = 127.0.0.0/8
run dir = $D/run
admin socket = $D/run/\$name.asok
log file = $D/log/\$name.log
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon allow pool size one = true
mon warn on pool no redundancy = false
osd crush chooseleaf type = 0
mon data avail warn = 1
mon data avail crit = 0
mon warn on insecure global id reclaim allowed = false
[mon.a]
mon data = $D/mon
pid file = $D/run/mon.pid
[osd.0]
osd data = $D/osd0
osd objectstore = bluestore
bluestore block create = true
bluestore block size = $((BLOCK_GIB * 1024 * 1024 * 1024))
osd memory target = $((OSD_MEM_MIB * 1024 * 1024))
bluestore cache autotune = false
bluestore cache size = 67108864
osd op num shards = 2
osd op num threads per shard = 1
pid file = $D/run/osd.pid
[client.rgw]
rgw frontends = beast endpoint=127.0.0.1:$PORT
rgw thread pool size = 32
rgw data = $D/rgw
pid file = $D/run/radosgw.pid
CONF
  mv "$CONF.tmp" "$CONF"
  run monmaptool -- monmaptool --create --fsid "$FSID" --addv a "$MONADDR" "$D/monmap"
  run authtool -- ceph-authtool --create-keyring "$D/keyring" --gen-key -n mon. --cap mon 'allow *'
  run mon-mkfs mon.a.log -- ceph-mon "${C[@]}" --mkfs -i a --monmap "$D/monmap" --keyring "$D/keyring"
fi

# The daemons fork into the background themselves; each writes DIR/run/NAME.pid.
run mon-start mon.a.log -- ceph-mon "${C[@]}" -i a
if [ $fresh = 1 ]; then
  UUID=$(cat /proc/sys/kernel/random/uuid)
  run osd-new -- ceph "${C[@]}" --connect-timeout "$START_TIMEOUT" osd new "$UUID"
  run osd-mkfs osd.0.log -- ceph-osd "${C[@]}" -i 0 --mkfs --osd-uuid "$UUID"
fi
run osd-start osd.0.log -- ceph-osd "${C[@]}" -i 0
run rgw-start client.rgw.log -- radosgw "${C[@]}" -n client.rgw

# radosgw answers HTTP only once it has reached RADOS (and, on the first start, created its pools).
deadline=$((SECONDS + START_TIMEOUT))
until http_up; do
  for n in mon osd radosgw; do
    if [ -f "$D/run/$n.pid" ] && ! own_pid "$n" >/dev/null; then
      fail_start "$n exited during start-up" "$(logname "$n")" client.rgw.log
    fi
  done
  if [ $SECONDS -ge $deadline ]; then
    fail_start "radosgw did not answer on 127.0.0.1:$PORT within ${START_TIMEOUT}s" client.rgw.log
  fi
  sleep 0.25
done

if [ $fresh = 1 ]; then
  run rgw-user -- radosgw-admin "${C[@]}" -n client.rgw user create --uid=test --display-name=Test \
    --access-key="${S3_ACCESS_KEY:-testkey}" --secret="${S3_SECRET_KEY:-testsecret123}"
  touch "$D/bootstrapped"
fi
echo "rgw up on http://127.0.0.1:$PORT (data in $D)"
