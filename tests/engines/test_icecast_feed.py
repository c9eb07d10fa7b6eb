"""A feed sends to the mount its command was built for: the target is named once (``FeedCommand``), so a caller
cannot start a feed whose ffmpeg writes for a mount nobody sends to (the silent mount of a forgotten
``target=``). A loopback stand-in for Icecast records what a source sends; a stand-in for ffmpeg writes bytes."""

from __future__ import annotations

import socket
import stat
import sys
import threading
from pathlib import Path

import pytest

from engines import icecast
from engines.icecast import Encoding, Feed, SourceTarget, files_command, live_command, relay_command

AUDIO = b"\xff\xfb\x90\x64" + bytes(range(256)) * 40  # what the stand-in ffmpeg writes for the mount


class SourceServer:
    """Accepts ``sources`` connections one after the other, answers each ``100 Continue``, keeps each request
    head and the bytes sent."""

    def __init__(self, sources: int = 1) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.got: list[tuple[bytes, bytes]] = []
        self.thread = threading.Thread(target=self._serve, args=(sources,), daemon=True)
        self.thread.start()

    def _serve(self, sources: int) -> None:
        self.sock.settimeout(10)
        for _ in range(sources):
            conn, _ = self.sock.accept()
            with conn:
                data = b""
                while b"\r\n\r\n" not in data:
                    data += conn.recv(1024)
                head, rest = data.split(b"\r\n\r\n", 1)
                conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
                chunks = [rest]
                while chunk := conn.recv(65536):
                    chunks.append(chunk)
                self.got.append((head, b"".join(chunks)))

    def received(self) -> list[tuple[bytes, bytes]]:
        self.thread.join(timeout=10)
        self.sock.close()
        return self.got


@pytest.fixture
def fake_ffmpeg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An executable standing in for ffmpeg: it writes :data:`AUDIO` to its standard output when its output is
    ``pipe:1`` and records its arguments."""
    script = tmp_path / "ffmpeg"
    script.write_text(f"#!{sys.executable}\nimport sys\n"
                      "open(sys.argv[0] + '.args', 'w').write('\\n'.join(sys.argv[1:]))\n"
                      f"if 'pipe:1' in sys.argv:\n    sys.stdout.buffer.write({AUDIO!r})\n", encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setattr(icecast, "_ffmpeg", lambda name="ffmpeg": str(script))
    return script


def test_a_relay_built_for_a_mount_sends_to_that_mount(fake_ffmpeg: Path, tmp_path: Path) -> None:
    server = SourceServer()
    target = SourceTarget("127.0.0.1", server.port, "/area-29377.mp3", "s3cr3t-pw")
    feed = Feed(relay_command("http://vov.example/vov1.mp3", target, Encoding(), name="VOV1 ở Đa Lộc"),
                tmp_path / "relay.log")
    assert feed.finish(timeout=10) == 0
    [(head, body)] = server.received()
    assert head.startswith(b"PUT /area-29377.mp3 HTTP/1.1\r\n")
    assert b"\r\nAuthorization: Basic c291cmNlOnMzY3IzdC1wdw==\r\n" in head  # source:s3cr3t-pw
    assert "Ice-Name: VOV1 ở Đa Lộc".encode() in head
    assert body == AUDIO
    argv = (tmp_path / "ffmpeg.args").read_text(encoding="utf-8").split("\n")
    assert argv[-1] == "pipe:1" and not any("s3cr3t" in a for a in argv)  # the password is never in argv


def test_again_sends_to_the_same_mount(fake_ffmpeg: Path, tmp_path: Path) -> None:
    server = SourceServer(sources=2)
    listed = tmp_path / "a.mp3"
    listed.write_bytes(b"x")
    target = SourceTarget("127.0.0.1", server.port, "/area-29380.mp3", "pw")
    feed = Feed(files_command([listed], target, Encoding(), tmp_path / "list.txt"), tmp_path / "f.log")
    assert feed.finish(timeout=10) == 0
    assert feed.again(tmp_path / "g.log").finish(timeout=10) == 0  # the fallback loop ended early: again
    sent = server.received()
    assert [(head.split(b"\r\n")[0], body) for head, body in sent] == [
        (b"PUT /area-29380.mp3 HTTP/1.1", AUDIO), (b"PUT /area-29380.mp3 HTTP/1.1", AUDIO)]


def test_the_commands_carry_their_mount_and_a_bare_argument_list_is_refused(fake_ffmpeg: Path,
                                                                            tmp_path: Path) -> None:
    target = SourceTarget("127.0.0.1", 8010, "/area-live-3.mp3", "pw")
    live = live_command(target, Encoding(), tmp_path / "copy.mp3", name="Họp dân")
    assert (live.target, live.name) == (target, "Họp dân")
    assert "pipe:1" in live.args
    url = "icecast://source:pw@127.0.0.1:8010/test.mp3"
    plain = relay_command("http://vov.example/vov1.mp3", url, Encoding())
    assert plain.target == url and plain.args[-1] == url  # ffmpeg's own icecast:// output: nothing to send
    with pytest.raises(TypeError, match="FeedCommand"):
        Feed(list(live.args), tmp_path / "x.log")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Feed(live, tmp_path / "x.log", target=target)  # type: ignore[call-arg]
