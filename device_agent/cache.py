"""Local file cache: resumable downloads, size and SHA-256 checks, strict flat names, garbage collection.

Files live in ``<state>/files/<sha256>.<ext>``. A download goes to ``<state>/files/.partial/<name>.part``,
resumes from its current length with ``Range: bytes=N-``, and is renamed into place only after its size
and SHA-256 match the schedule. Names that are not exactly ``<64 hex>.<ext>`` (path separators, ``..``,
upper case, a hash that is not the file's) are refused before anything touches the disk.
"""

import hashlib
import logging
import os
import re
import shutil
import stat
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from device_agent.client import DeviceClient, Offline, ProtocolError
from device_agent.identity import fsync_dir

log = logging.getLogger(__name__)

# \Z, not $: "$" also matches before a trailing newline, and "<sha>.mp3\n" is no safe name
NAME = re.compile(r"^(?P<sha>[0-9a-f]{64})\.(?P<ext>[a-z0-9]{1,8})\Z")
CHUNK = 64 * 1024


class UnsafeFile(ProtocolError):
    """A file reference breaks the rules: bad name, name not matching its hash, bad size or URL."""


class Corrupt(ProtocolError):
    """A downloaded file does not have the announced size or SHA-256 (it is deleted)."""


class Paused(Offline):
    """A download stopped for now (time budget or shutdown); its partial file is resumed next time."""


class NoSpace(ProtocolError):
    """Downloading the file would leave less than the cache's reserve free on the disk."""


RESERVE_BYTES = 64 * 1024 * 1024  # kept free for the schedule, play-log queue and the system's own files
RETRY_CORRUPT_S = (60.0, 21600.0)  # first and longest pause before re-downloading a file that came corrupt
FETCH_BUDGET_S = 300.0  # longest one download runs before the poll thread gets back to polling


def check_ref(ref: Any) -> dict[str, Any]:
    """Validate one ``{"name", "url", "size", "sha256"}`` file reference; return it.

    Raises:
        UnsafeFile: the name is not ``<sha256>.<ext>`` for this very hash, the size is not a non-negative
            integer, or the URL is not http(s).
    """
    if not isinstance(ref, dict):
        raise UnsafeFile("a file reference is not an object")
    name, sha, size, url = ref.get("name"), ref.get("sha256"), ref.get("size"), ref.get("url")
    if not isinstance(name, str) or not NAME.match(name):
        raise UnsafeFile(f"refused file name {name!r}: must be <sha256>.<ext> with no path")
    if sha != name.split(".", 1)[0]:
        raise UnsafeFile(f"refused file name {name!r}: it does not match its sha256 {sha!r}")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise UnsafeFile(f"file {name}: bad size {size!r}")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise UnsafeFile(f"file {name}: refused URL {url!r}")
    return ref


class FileCache:
    """The directory of verified files."""

    def __init__(self, root: Path, reserve_bytes: int = RESERVE_BYTES) -> None:
        self.root = root
        self.partial = root / ".partial"
        self.partial.mkdir(parents=True, exist_ok=True)
        self.reserve = reserve_bytes
        self._failures: dict[str, tuple[int, float]] = {}  # name -> (corrupt downloads, monotonic retry time)

    def path(self, name: str) -> Path:
        """Where the verified file ``name`` lives.

        Raises:
            UnsafeFile: ``name`` is not ``<sha256>.<ext>``.
        """
        if not NAME.match(name):
            raise UnsafeFile(f"refused file name {name!r}")
        return self.root / name

    def has(self, name: str) -> bool:
        """Whether ``name`` is cached: a regular file, never a symlink planted to point elsewhere."""
        return NAME.match(name) is not None and _regular(self.root / name)

    def names(self) -> list[str]:
        """Names of complete, verified files."""
        return sorted(p.name for p in self.root.iterdir() if NAME.match(p.name) and _regular(p))

    def hashes(self) -> list[str]:
        """SHA-256 of every cached file (the inventory)."""
        return [n.split(".", 1)[0] for n in self.names()]

    def free_bytes(self) -> int:
        """Free bytes on the cache's file system."""
        return shutil.disk_usage(self.root).free

    def backing_off(self, name: str) -> bool:
        """Whether a download of ``name`` failed verification recently (so it is not fetched again yet)."""
        failed = self._failures.get(name)
        return failed is not None and time.monotonic() < failed[1]

    def fetch(self, client: DeviceClient, ref: dict[str, Any], cancel: threading.Event | None = None,
              budget_s: float = FETCH_BUDGET_S) -> Path:
        """Make sure the file is present and verified, downloading (resuming) it if needed.

        The download pauses (keeping its partial file, resumed by the next call) when ``cancel`` is set
        (SIGTERM) or after ``budget_s`` seconds, so a large file on a slow link never keeps the poll thread
        from hearing of withdrawals for hours.

        Raises:
            UnsafeFile: the reference is refused.
            Corrupt: the downloaded bytes do not match (the partial file is removed so the next try starts over).
            Offline: the network failed, or the download paused; the partial file is kept to resume later.
        """
        check_ref(ref)
        final = self.root / ref["name"]
        if _regular(final):
            return final
        part = self.partial / (ref["name"] + ".part")
        if part.is_symlink():
            part.unlink()
        offset = part.stat().st_size if part.exists() else 0
        if offset > ref["size"]:
            part.unlink()
            offset = 0
        if ref["size"] - offset > self.free_bytes() - self.reserve:
            # a full disk would break the schedule, plan and queue writes next: refuse the file instead
            raise NoSpace(f"{ref['name']}: {ref['size'] - offset} bytes to fetch but only {self.free_bytes()} free "
                          f"(keeping {self.reserve} in reserve)")
        if offset < ref["size"] or ref["size"] == 0:
            with client.download(ref["url"], offset) as resp:
                if resp.status_code == 416:
                    pass  # the server says the range starts at the end: the partial file is complete
                else:
                    mode = "ab" if resp.status_code == 206 and offset else "wb"
                    if resp.status_code == 200 and offset:
                        log.info("server ignored Range for %s; downloading from the start", ref["name"])
                    written = offset if mode == "ab" else 0
                    flags = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | (os.O_APPEND if mode == "ab" else os.O_TRUNC)
                    deadline = time.monotonic() + budget_s
                    paused = False
                    with os.fdopen(os.open(part, flags, 0o600), mode) as out:
                        for chunk in resp.iter_bytes(CHUNK):
                            written += len(chunk)
                            if written > ref["size"]:
                                break
                            out.write(chunk)
                            if (cancel is not None and cancel.is_set()) or time.monotonic() > deadline:
                                paused = written < ref["size"]
                                break
                        out.flush()
                        os.fsync(out.fileno())
                    if paused:
                        raise Paused(f"{ref['name']}: download paused at {written} of {ref['size']} bytes")
        try:
            self._verify(part, ref)
        except Corrupt:
            # the server (or a proxy) keeps handing out bad bytes: do not re-download it every poll on a
            # metered link; the pause doubles up to six hours
            count = self._failures.get(ref["name"], (0, 0.0))[0] + 1
            pause = min(RETRY_CORRUPT_S[0] * 2 ** (count - 1), RETRY_CORRUPT_S[1])
            self._failures[ref["name"]] = (count, time.monotonic() + pause)
            raise
        self._failures.pop(ref["name"], None)
        os.replace(part, final)
        fsync_dir(self.root)
        log.info("cached %s (%d bytes)", ref["name"], ref["size"])
        return final

    def _verify(self, part: Path, ref: dict[str, Any]) -> None:
        size = part.stat().st_size if part.exists() else -1
        digest = hashlib.sha256()
        if size == ref["size"]:
            with open(part, "rb") as f:
                for block in iter(lambda: f.read(CHUNK), b""):
                    digest.update(block)
        if size != ref["size"] or digest.hexdigest() != ref["sha256"]:
            part.unlink(missing_ok=True)
            raise Corrupt(f"{ref['name']}: got {size} bytes with another SHA-256 than announced; discarded")

    def collect(self, keep: Iterable[str]) -> list[str]:
        """Delete cached files (and partial downloads) whose names are not in ``keep``; return the deleted."""
        wanted = set(keep)
        removed = []
        for p in self.root.iterdir():
            if p == self.partial:
                continue
            if p.name not in wanted or not _regular(p):  # also anything that is not a plain file
                _remove(p)
                removed.append(p.name)
        for p in self.partial.iterdir():
            if p.name.removesuffix(".part") not in wanted or not _regular(p):
                _remove(p)
        if removed:
            log.info("removed %d file(s) no longer referenced", len(removed))
        return removed


def _regular(path: Path) -> bool:
    """A regular file itself, not a symlink (``Path.is_file`` follows links) nor a directory."""
    try:
        return stat.S_ISREG(path.lstat().st_mode)
    except FileNotFoundError:
        return False


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
