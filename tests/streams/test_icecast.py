"""The installation's real icecast2 on loopback: generated secrets, an area mount fed by ffmpeg from an
upstream station, and listeners let in only with a valid signed URL (Icecast asks the web app)."""

import time
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from tests.agent.conftest import wait_for


def _mp3_bytes(url: str, want: int = 16384) -> bytes:
    """Read ``want`` bytes of a stream (fails on a refusal)."""
    got = b""
    with httpx.stream("GET", url, timeout=10) as answer:
        assert answer.status_code == 200, answer.status_code
        assert answer.headers["content-type"] == "audio/mpeg"
        for chunk in answer.iter_bytes():
            got += chunk
            if len(got) >= want:
                break
    return got


def test_secrets_are_generated_once_and_kept_private(stream_home: Path) -> None:
    from services import streaming

    first = streaming.stream_secrets()
    again = streaming.stream_secrets()
    assert first == again
    assert len(first.source_password) >= 24 and first.source_password != first.admin_password
    path = stream_home / "icecast" / "secrets.json"
    assert path.stat().st_mode & 0o777 == 0o600


def _argv_holding(secret: str) -> list[str]:
    """The command lines of this machine's processes that hold ``secret`` (what ``ps`` would show)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            argv = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
        except OSError:  # gone meanwhile, or not ours to read
            continue
        if secret in argv or quote(secret, safe="") in argv:
            found.append(argv)
    return found


def boxes() -> tuple[int, int]:
    """Two loudspeakers of Đa Lộc: one authorised, one still pending."""
    from domain.devices import DeviceKind, Registration
    from domain.signatures import generate_key
    from services import devices
    from services.runtime import session
    from tests.streams.test_relay_air import admin_user

    admin_user()
    with session() as s:
        ids = [devices.register(s, Registration(f"hw-{n}", generate_key().public, f"loa {n}", "29377",
                                                DeviceKind.SPEAKER))[0].id for n in (1, 2)]
        devices.authorise(s, ids[0], username="admin")
    return ids[0], ids[1]


def test_a_relayed_mount_reaches_a_device_with_a_signed_url_and_no_one_else(icecast: object, upstream: object,
                                                                          tmp_path: Path) -> None:
    from engines.icecast import Feed, relay_command
    from services import streaming

    box, pending = boxes()

    station = upstream("/vov1.mp3")  # type: ignore[operator]
    target = streaming.mount_target("29377")
    feed = Feed(relay_command(station, target, streaming.encoding()), tmp_path / "relay.log")
    try:
        wait_for(lambda: "/area-29377.mp3" in icecast.sources(), 15, "the relay on the area mount")  # type: ignore[attr-defined]
        assert _argv_holding(target.password) == []  # not in any process's argv (ps) while it runs
        later = int(time.time()) + 600
        url = streaming.device_listen_url(box, "29377", later)
        audio = _mp3_bytes(url)
        assert len(audio) >= 16384
        # MPEG audio frames: the sync word 0xFFE after any ID3 tag
        assert any(audio[i] == 0xFF and audio[i + 1] & 0xE0 == 0xE0 for i in range(len(audio) - 1))
        assert icecast.sources()["/area-29377.mp3"] >= 0  # type: ignore[attr-defined]

        base = streaming.public_url()
        refused = [
            f"{base}/area-29377.mp3",  # no token
            streaming.device_listen_url(box, "29380", later).replace("area-29380", "area-29377"),  # other mount's
            streaming.device_listen_url(box, "29377", int(time.time()) - 1),  # expired
            streaming.device_listen_url(pending, "29377", later),  # a box not (or no longer) authorised
        ]
        for bad in refused:
            answer = httpx.get(bad, timeout=10)
            assert answer.status_code == 401, bad
    finally:
        feed.stop()
    assert feed.returncode is not None


def test_icecast_refuses_a_source_with_a_wrong_password(icecast: object, upstream: object, tmp_path: Path) -> None:
    import dataclasses

    from engines.icecast import Feed, relay_command
    from services import streaming

    station = upstream("/vov1.mp3")  # type: ignore[operator]
    wrong = dataclasses.replace(streaming.mount_target("29380"), password="sai-mat-khau")
    feed = Feed(relay_command(station, wrong, streaming.encoding()), tmp_path / "bad.log")
    try:
        wait_for(lambda: not feed.running(), 15, "ffmpeg to give up")
    finally:
        feed.stop()
    assert feed.returncode != 0
    assert "Icecast refused the source on /area-29380.mp3: HTTP 401" in feed.error()
    assert "/area-29380.mp3" not in icecast.sources()  # type: ignore[attr-defined]


@pytest.mark.parametrize("kind", ["unreachable", "not audio"])
def test_probing_tells_an_unreachable_upstream_from_one_that_is_not_audio(web_url: str, kind: str) -> None:
    from engines.icecast import NotAudio, UpstreamUnreachable, probe_stream

    if kind == "unreachable":
        with pytest.raises(UpstreamUnreachable):
            probe_stream("http://127.0.0.1:9/vov1.mp3", timeout_s=5)
    else:
        with pytest.raises(NotAudio):
            probe_stream(f"{web_url}/login", timeout_s=5)  # an HTML page that answers 200
