"""Icecast (Debian ``icecast2``) as the distribution point devices pull streams from, and ffmpeg feeding it.

:class:`IcecastServer` writes a configuration (one mount per area, listener authentication by URL against
bantin's web app, generated passwords) into a directory of its own and runs ``icecast2 -c`` as a child
process. Icecast refuses to run as root: when we are root the configuration tells it to change to the
``icecast2`` user the Debian package creates (``nobody`` elsewhere), and it logs to its standard error (kept in
``icecast.log`` beside the configuration).

Feeds are ffmpeg processes that encode MP3 for a mount. The command builders return a :class:`FeedCommand`, which
holds the arguments together with the mount they were built for, and :class:`Feed` runs one: with a
:class:`SourceTarget` ffmpeg writes to its standard output and the feed sends the bytes to Icecast itself (an HTTP
``PUT`` whose ``Authorization`` header carries the source password), so the password is never in a process's argv
(``ps``); ffmpeg 5.1 has no way to read an output URL from a file. A plain ``icecast://`` URL still works (test
stations). :func:`relay_command` pulls an upstream (HTTP/Icecast MP3 or AAC, or HLS), normalises loudness on the
fly (single-pass ``loudnorm``; a live session's voice goes through :func:`live_loudness_chain` instead, which has
no 3 s look-ahead) and stops by itself when the upstream stalls (``-rw_timeout``); :func:`files_command` plays
files in a loop (the area's default content when an upstream fails). :func:`probe_stream` checks an upstream before
it is accepted: reachable, and audio.
"""

from __future__ import annotations

import grp
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote
from xml.etree import ElementTree
from xml.sax.saxutils import escape, quoteattr

import httpx

from engines.errors import EngineError, MediaError, stderr_tail

SOURCE_USER = "source"
ADMIN_USER = "admin"
AUTH_HEADER = "icecast-auth-user: 1"  # what bantin's listener_add endpoint answers to let a listener in
SHARE = Path("/usr/share/icecast2")
STALL_S = 10.0  # an upstream silent this long counts as down
AUDIO_CODECS = frozenset({"mp3", "aac", "mp2", "vorbis", "opus", "flac", "pcm_s16le", "aac_latm"})


class UpstreamUnreachable(MediaError):
    """The upstream URL does not answer (refused, unknown host, HTTP error, timeout)."""


class NotAudio(MediaError):
    """The upstream answers but carries no audio stream ffmpeg can decode."""


@dataclass(frozen=True)
class IcecastConfig:
    """Everything the generated ``icecast.xml`` says."""

    directory: Path  # the configuration and the log live here
    port: int
    source_password: str
    admin_password: str
    bind_address: str = "127.0.0.1"
    hostname: str = "localhost"
    auth_url: str | None = None  # bantin's listener_add endpoint; None: anyone may listen (tests of feeds only)
    mounts: tuple[str, ...] = ()  # explicit mounts (areas); any other mount gets the same defaults
    max_listeners: int = 2000
    max_sources: int = 64
    run_as: tuple[str, str] | None = field(default=None)  # (user, group) to change to when started as root


def default_run_as() -> tuple[str, str] | None:
    """The user Icecast changes to when we are root (Debian's ``icecast2``/``icecast``, else ``nobody``)."""
    if os.geteuid() != 0:
        return None
    for user, group in (("icecast2", "icecast"), ("nobody", "nogroup")):
        try:
            pwd.getpwnam(user)
            grp.getgrnam(group)
        except KeyError:
            continue
        return user, group
    raise EngineError("icecast2 refuses to run as root and there is no icecast2 or nobody user to change to")


def _mount_block(name: str | None, cfg: IcecastConfig) -> str:
    head = (f"<mount type=\"normal\"><mount-name>{escape(name)}</mount-name>" if name
            else "<mount type=\"default\">")
    auth = ""
    if cfg.auth_url:
        auth = ("<authentication type=\"url\">"
                f"<option name=\"listener_add\" value={quoteattr(cfg.auth_url)}/>"
                f"<option name=\"auth_header\" value={quoteattr(AUTH_HEADER)}/>"
                "</authentication>")
    return f"{head}<public>0</public><hidden>1</hidden>{auth}</mount>"


def render_config(cfg: IcecastConfig) -> str:
    """The ``icecast.xml`` for ``cfg``."""
    d = cfg.directory.resolve()
    security = "<chroot>0</chroot>"
    if cfg.run_as:
        security += (f"<changeowner><user>{escape(cfg.run_as[0])}</user>"
                     f"<group>{escape(cfg.run_as[1])}</group></changeowner>")
    mounts = "".join(_mount_block(m, cfg) for m in cfg.mounts) + _mount_block(None, cfg)
    return f"""<icecast>
  <location>bantin</location>
  <admin>bantin@{escape(cfg.hostname)}</admin>
  <hostname>{escape(cfg.hostname)}</hostname>
  <limits>
    <clients>{cfg.max_listeners + cfg.max_sources}</clients>
    <sources>{cfg.max_sources}</sources>
    <queue-size>524288</queue-size>
    <client-timeout>30</client-timeout>
    <header-timeout>15</header-timeout>
    <source-timeout>{int(STALL_S)}</source-timeout>
    <burst-on-connect>1</burst-on-connect>
    <burst-size>65535</burst-size>
  </limits>
  <authentication>
    <source-password>{escape(cfg.source_password)}</source-password>
    <relay-password>{escape(cfg.source_password)}</relay-password>
    <admin-user>{ADMIN_USER}</admin-user>
    <admin-password>{escape(cfg.admin_password)}</admin-password>
  </authentication>
  <listen-socket>
    <port>{cfg.port}</port>
    <bind-address>{escape(cfg.bind_address)}</bind-address>
  </listen-socket>
  {mounts}
  <fileserve>1</fileserve>
  <paths>
    <basedir>{escape(str(SHARE))}</basedir>
    <logdir>{escape(str(d))}</logdir>
    <webroot>{escape(str(SHARE / 'web'))}</webroot>
    <adminroot>{escape(str(SHARE / 'admin'))}</adminroot>
  </paths>
  <logging>
    <accesslog>-</accesslog>
    <errorlog>-</errorlog>
    <loglevel>3</loglevel>
    <logsize>10000</logsize>
  </logging>
  <security>{security}</security>
</icecast>
"""


def icecast_binary() -> str:
    found = shutil.which("icecast2") or shutil.which("icecast") or (
        "/usr/bin/icecast2" if Path("/usr/bin/icecast2").exists() else None)
    if found is None:
        raise EngineError("icecast2 not found: install it (apt-get install icecast2)")
    return found


def _stop_process(proc: subprocess.Popen[bytes], timeout: float = 5.0) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class IcecastServer:
    """One ``icecast2`` child process with a generated configuration; a context manager."""

    def __init__(self, cfg: IcecastConfig, own_session: bool = True) -> None:
        """``own_session``: False keeps Icecast in the caller's process group, so a signal to the group (a
        service manager stopping ``bantin serve``) stops it too."""
        self.cfg = cfg
        self.own_session = own_session
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = f"http://{cfg.bind_address}:{cfg.port}"

    @property
    def log_path(self) -> Path:
        return self.cfg.directory / "icecast.log"

    @property
    def config_path(self) -> Path:
        return self.cfg.directory / "icecast.xml"

    def write_config(self) -> Path:
        self.cfg.directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.config_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # it holds passwords
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(render_config(self.cfg))
        return self.config_path

    def start(self, timeout_s: float = 15.0) -> str:
        """Write the configuration, start Icecast and wait until it answers; returns its base URL.

        Raises:
            EngineError: no icecast2, or it exited or did not answer in time (with its last log lines).
        """
        path = self.write_config()
        out = self.log_path.open("ab")
        try:
            self.proc = subprocess.Popen([icecast_binary(), "-c", str(path)], stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=subprocess.STDOUT, start_new_session=self.own_session)
        finally:
            out.close()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise EngineError(f"icecast2 exited with {self.proc.returncode}: {self.log_tail()}")
            if self.answers():
                return self.url
            time.sleep(0.1)
        self.stop()
        raise EngineError(f"icecast2 did not answer on {self.url} within {timeout_s:.0f} s: {self.log_tail()}")

    def answers(self) -> bool:
        try:
            return httpx.get(f"{self.url}/admin/stats", auth=(ADMIN_USER, self.cfg.admin_password),
                             timeout=1.0).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> None:
        if self.proc is not None:
            _stop_process(self.proc)
            self.proc = None

    def log_tail(self) -> str:
        try:
            return stderr_tail(self.log_path.read_bytes()[-4000:]) or "no log"
        except OSError:
            return "no log"

    def sources(self) -> dict[str, int]:
        """The mounts that have a source now and their listener counts (Icecast's admin ``listmounts``; the
        mounts are hidden from the public status page)."""
        answer = httpx.get(f"{self.url}/admin/listmounts", auth=(ADMIN_USER, self.cfg.admin_password), timeout=3.0)
        answer.raise_for_status()
        root = ElementTree.fromstring(answer.content)
        return {str(src.get("mount")): int(src.findtext("listeners") or src.findtext("Listeners") or 0)
                for src in root.iter("source")}

    def __enter__(self) -> IcecastServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass(frozen=True)
class SourceTarget:
    """An Icecast mount a :class:`Feed` sends to with the source password in a header (never in argv)."""

    host: str
    port: int
    mount: str
    password: str = field(repr=False)

    def __str__(self) -> str:
        return f"http://{self.host}:{self.port}{self.mount}"


Target = str | SourceTarget


def source_url(port: int, password: str, mount: str, host: str = "127.0.0.1") -> str:
    """The ``icecast://`` URL ffmpeg pushes a mount with."""
    return f"icecast://{SOURCE_USER}:{quote(password, safe='')}@{host}:{port}{mount}"


def _ffmpeg(name: str = "ffmpeg") -> str:
    found = shutil.which(name)
    if found is None:
        raise EngineError(f"{name} not found on PATH: install ffmpeg: apt-get install ffmpeg")
    return found


@dataclass(frozen=True)
class Encoding:
    """How a mount is fed: single-pass loudness target and MP3 encoding."""

    loudness_i: float = -16.0
    loudness_tp: float = -1.5
    loudness_lra: float = 11.0
    sample_rate: int = 44100
    bitrate: str = "128k"


def _destination(target: Target, name: str) -> list[str]:
    """ffmpeg's output for ``target``: its standard output for a :class:`SourceTarget` (the feed sends it on),
    else the ``icecast://`` URL itself."""
    if isinstance(target, SourceTarget):
        return ["-f", "mp3", "pipe:1"]
    return ["-content_type", "audio/mpeg", "-ice_name", name, "-f", "mp3", target]


def _output(target: Target, enc: Encoding, name: str) -> list[str]:
    chain = (f"loudnorm=I={enc.loudness_i}:TP={enc.loudness_tp}:LRA={enc.loudness_lra},"
             f"aresample={enc.sample_rate}")
    return ["-vn", "-af", chain, "-ac", "2", "-c:a", "libmp3lame", "-b:a", enc.bitrate, *_destination(target, name)]


@dataclass(frozen=True)
class FeedCommand:
    """An ffmpeg command and the mount it was built for (one place for the target: a :class:`Feed` sends to the
    mount its command names, so a command built for a :class:`SourceTarget` cannot be run without its sender)."""

    args: tuple[str, ...]
    target: Target
    name: str = "bantin"  # the stream's title on the mount


def relay_command(upstream: str, target: Target, enc: Encoding, *, name: str = "bantin", stall_s: float = STALL_S,
                  duration_s: float | None = None) -> FeedCommand:
    """ffmpeg pulling ``upstream`` into the mount at ``target`` (``icecast://``), ending after ``duration_s``
    or when the upstream is silent for ``stall_s`` (ffmpeg exits non-zero: the caller falls back)."""
    args = [_ffmpeg(), "-hide_banner", "-nostdin", "-nostats", "-loglevel", "warning",
            "-rw_timeout", str(int(stall_s * 1_000_000)), "-i", upstream]
    if duration_s is not None:
        args += ["-t", f"{duration_s:.3f}"]
    return FeedCommand((*args, *_output(target, enc, name)), target, name)


def files_command(paths: Sequence[Path], target: Target, enc: Encoding, list_path: Path, *, name: str = "bantin",
                  duration_s: float | None = None) -> FeedCommand:
    """ffmpeg playing ``paths`` in a loop, in real time, into the mount at ``target`` (for ``duration_s``)."""
    if not paths:
        raise MediaError("no files to play")
    lines = [f"file '{str(Path(p).resolve())}'" for p in paths]
    if any("'" in str(Path(p).resolve()) or "\n" in str(p) for p in paths):
        raise MediaError("a file name with a quote or a line break cannot be listed for ffmpeg")
    list_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    args = [_ffmpeg(), "-hide_banner", "-nostdin", "-nostats", "-loglevel", "warning", "-re", "-stream_loop", "-1",
            "-f", "concat", "-safe", "0", "-i", str(list_path)]
    if duration_s is not None:
        args += ["-t", f"{duration_s:.3f}"]
    return FeedCommand((*args, *_output(target, enc, name)), target, name)


# A live voice cannot wait for loudnorm: its single pass looks 3 s ahead, and devices heard the session that much
# later. speechnorm scales each half-wave towards a peak of 0.95 (at most 25x louder, 2x quieter; the gain
# moves slowly), which puts speech about 19 LU under full scale whatever the phone's microphone level; a fixed
# gain moves that to the target and a 5 ms limiter holds the true-peak ceiling. It looks ahead milliseconds.
SPEECH_LOUDNESS = -19.0  # LUFS of speech after speechnorm (p=0.95) before the gain


def live_loudness_chain(enc: Encoding) -> str:
    """The low-latency loudness chain of live sessions (``speechnorm``, a fixed gain, a 5 ms limiter)."""
    gain = enc.loudness_i - SPEECH_LOUDNESS
    ceiling = 10 ** (enc.loudness_tp / 20)
    return (f"speechnorm=p=0.95:e=25:c=2:r=0.0005:l=1,volume={gain:.1f}dB,"
            f"alimiter=limit={ceiling:.4f}:attack=5:release=50:level=false")


def live_command(target: Target, enc: Encoding, copy_path: Path, *, name: str = "bantin") -> FeedCommand:
    """ffmpeg reading a browser's MediaRecorder stream (WebM/Opus, or fragmented MP4/AAC from Safari) on its
    standard input, bringing it to the loudness target with :func:`live_loudness_chain` (no look-ahead to
    wait for), and writing MP3 both to the mount at ``target`` and to ``copy_path`` (the session's
    recording). A small probe keeps the delay to the first audio short."""
    chain = f"{live_loudness_chain(enc)},aresample={enc.sample_rate},asplit=2[air][copy]"
    args = (_ffmpeg(), "-hide_banner", "-nostdin", "-nostats", "-loglevel", "warning", "-fflags", "+nobuffer",
            "-probesize", "4096", "-analyzeduration", "0", "-i", "pipe:0", "-filter_complex", f"[0:a]{chain}",
            "-map", "[air]", "-ac", "2", "-c:a", "libmp3lame", "-b:a", enc.bitrate, *_destination(target, name),
            "-map", "[copy]", "-ac", "1", "-c:a", "libmp3lame", "-b:a", "64k", "-y", "-f", "mp3", str(copy_path))
    return FeedCommand(args, target, name)


def tone_command(target: str, *, frequency: int = 440, duration_s: float | None = None) -> FeedCommand:
    """ffmpeg sending a sine tone in real time to ``target`` (an ``icecast://`` URL, or a file): a test
    upstream."""
    args = [_ffmpeg(), "-hide_banner", "-nostdin", "-nostats", "-loglevel", "warning", "-re", "-f", "lavfi", "-i",
            f"sine=frequency={frequency}:sample_rate=44100"]
    if duration_s is not None:
        args += ["-t", f"{duration_s:.3f}"]
    return FeedCommand((*args, "-c:a", "libmp3lame", "-b:a", "64k", "-content_type", "audio/mpeg", "-f", "mp3",
                        target), target)


class Feed:
    """A running ffmpeg feed (stderr kept in a file: a pipe nobody reads would block it). With ``stdin`` the
    caller writes the input (:meth:`write`) and ends it (:meth:`finish`). A command built for a
    :class:`SourceTarget` has a thread send ffmpeg's output to that mount; Icecast refusing the source or
    dropping it stops ffmpeg, as ffmpeg's own ``icecast://`` output would. The mount is the command's own
    (:class:`FeedCommand`): there is no second place to name it, or to forget it."""

    def __init__(self, command: FeedCommand, log_path: Path, *, stdin: bool = False) -> None:
        if not isinstance(command, FeedCommand):
            raise TypeError("a Feed runs a FeedCommand (from relay_command, files_command, live_command or "
                            "tone_command), which names its mount")
        self.command = command
        self.log_path = log_path
        target = command.target if isinstance(command.target, SourceTarget) else None
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("ab") as err:
            self.proc = subprocess.Popen(command.args, stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                                         stdout=subprocess.PIPE if target else subprocess.DEVNULL, stderr=err,
                                         start_new_session=True)
        self.started = time.monotonic()
        self._pump: threading.Thread | None = None
        if target is not None:
            self._pump = threading.Thread(target=self._send, args=(target,), name=f"feed{target.mount}", daemon=True)
            self._pump.start()

    def again(self, log_path: Path) -> Feed:
        """The same command started anew (to the same mount)."""
        return Feed(self.command, log_path)

    def _send(self, target: SourceTarget) -> None:
        """Send ffmpeg's standard output to the mount (an HTTP PUT, as ffmpeg's icecast protocol does)."""
        out = self.proc.stdout
        assert out is not None
        try:
            first = os.read(out.fileno(), 65536)  # the mount is taken only once ffmpeg has audio for it
            if not first:
                return
            with socket.create_connection((target.host, target.port), timeout=10) as sock:
                sock.sendall(source_request(target, self.command.name))
                status = _status_line(sock)
                if status not in (100, 200):
                    raise ConnectionRefusedError(f"Icecast refused the source on {target.mount}: HTTP {status}")
                chunk = first
                while chunk:
                    sock.sendall(chunk)
                    chunk = os.read(out.fileno(), 65536)
        except OSError as exc:
            with self.log_path.open("ab") as err:
                err.write(f"icecast source: {exc}\n".encode())
            if self.proc.poll() is None:
                self.proc.terminate()
        finally:
            out.close()

    def write(self, data: bytes) -> None:
        """Raises: MediaError: ffmpeg has ended (a wrong codec, the mount refused it)."""
        if self.proc.stdin is None:
            raise MediaError("this feed reads no input")
        try:
            self.proc.stdin.write(data)
            self.proc.stdin.flush()
        except (BrokenPipeError, ValueError, OSError):
            raise MediaError(f"the encoder has stopped: {self.error()}") from None

    def finish(self, timeout: float = 15.0) -> int | None:
        """End the input and let ffmpeg write out what it holds (then stop it if it hangs)."""
        if self.proc.stdin is not None and not self.proc.stdin.closed:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _stop_process(self.proc)
            return self.proc.poll()
        finally:
            self._join()

    def _join(self) -> None:
        if self._pump is not None:
            self._pump.join(timeout=5)

    def running(self) -> bool:
        return self.proc.poll() is None

    @property
    def returncode(self) -> int | None:
        return self.proc.poll()

    def stop(self) -> None:
        _stop_process(self.proc)
        self._join()

    def error(self) -> str:
        """The last lines ffmpeg printed (why it ended)."""
        try:
            return stderr_tail(self.log_path.read_bytes()[-4000:]) or f"exit {self.proc.poll()}"
        except OSError:
            return f"exit {self.proc.poll()}"


def source_request(target: SourceTarget, name: str) -> bytes:
    """The head of a source's HTTP PUT to Icecast (2.4 and later): the password is in this header only."""
    import base64

    auth = base64.b64encode(f"{SOURCE_USER}:{target.password}".encode()).decode()
    title = " ".join(name.split())[:200]
    return (f"PUT {target.mount} HTTP/1.1\r\nHost: {target.host}:{target.port}\r\nAuthorization: Basic {auth}\r\n"
            f"User-Agent: bantin\r\nContent-Type: audio/mpeg\r\nIce-Public: 0\r\nIce-Name: {title}\r\n"
            "Expect: 100-continue\r\n\r\n").encode()


def _status_line(sock: socket.socket) -> int:
    """The status code of Icecast's answer to a source (0 when unreadable); reads its head only."""
    head = b""
    while b"\r\n\r\n" not in head and len(head) < 8192:
        got = sock.recv(1024)
        if not got:
            break
        head += got
    parts = head.split(b" ", 2)
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0


@dataclass(frozen=True)
class StreamInfo:
    codec: str
    sample_rate: int
    channels: int


def probe_stream(url: str, timeout_s: float = 15.0) -> StreamInfo:
    """What an upstream carries, checked by ffprobe.

    Raises:
        UpstreamUnreachable: refused, unknown host, an HTTP error, or nothing within ``timeout_s``.
        NotAudio: it answers, but with no decodable audio stream.
        EngineError: ffprobe is not installed.
    """
    if not url.lower().startswith(("http://", "https://")):
        raise UpstreamUnreachable("only http:// and https:// upstreams are accepted")
    args = [_ffmpeg("ffprobe"), "-v", "error", "-rw_timeout", str(int(min(timeout_s, STALL_S) * 1_000_000)),
            "-show_entries", "stream=codec_type,codec_name,sample_rate,channels", "-of", "json", url]
    try:
        proc = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        raise UpstreamUnreachable(f"no answer within {timeout_s:.0f} s") from None
    err = proc.stderr.decode("utf-8", "replace")
    if proc.returncode != 0:
        lowered = err.lower()
        if any(s in lowered for s in ("connection refused", "timed out", "name or service", "server returned",
                                      "no route", "network is unreachable", "failed to resolve", "i/o error",
                                      "end of file")):
            raise UpstreamUnreachable(stderr_tail(err) or "unreachable")
        raise NotAudio(stderr_tail(err) or "not a media stream")
    try:
        streams = json.loads(proc.stdout or b"{}").get("streams", [])
    except ValueError:
        streams = []
    for s in streams:
        if s.get("codec_type") == "audio" and s.get("codec_name") in AUDIO_CODECS:
            return StreamInfo(str(s["codec_name"]), int(s.get("sample_rate") or 0), int(s.get("channels") or 0))
    kinds = ", ".join(sorted({f"{s.get('codec_type')}/{s.get('codec_name')}" for s in streams})) or "nothing"
    raise NotAudio(f"no audio stream (found {kinds})")
