"""What keeps an unattended box alive for years: one refused ack must not block the play-log queue, a chatty or
hung player must not freeze playout, a huge or malformed (even validly signed) answer must not crash or exhaust
the agent, and names with a trailing newline are refused like any other unsafe name."""

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from device_agent.agent import Agent
from device_agent.cache import FileCache, NoSpace, Paused, UnsafeFile, check_ref
from device_agent.client import DeviceClient, ProtocolError
from device_agent.config import load_config
from device_agent.player import _run_until, probe_duration
from device_agent.schedule import ScheduleRefused, verify_schedule
from domain.signatures import b64, generate_key, sign_document
from tests.agent.helpers import item, ref, schedule

KEY = generate_key()
TRUSTED = {KEY.key_id: KEY.public}


def make_agent(tmp_path: Path, handler) -> Agent:
    cfg, _ = load_config(["--server", "http://127.0.0.1:9", "--area-code", "29377", "--trust", b64(KEY.public),
                          "--state-dir", str(tmp_path / "state"), "--player", "null"], {})
    agent = Agent(cfg)
    agent.identity.device_id = 7
    agent.client = DeviceClient(cfg.server, agent.identity, transport=httpx.MockTransport(handler))
    return agent


def test_an_ack_the_server_refuses_does_not_block_the_play_log_queue(tmp_path: Path) -> None:
    uploaded: list[dict] = []

    def server(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/ack"):
            return httpx.Response(422, json={"error": "received_at: not a time"})
        entries = json.loads(request.content)["entries"]
        uploaded.extend(entries)
        return httpx.Response(200, json={"accepted": len(entries), "duplicates": 0})

    agent = make_agent(tmp_path, server)
    try:
        agent.outbox.add_ack(item_id="e.vi", manifest_hash="b" * 64, received_at="x", channel="mqtt")
        agent.outbox.add_play(item_id="a.vi", manifest_hash="a" * 64, started_at="2026-11-23T00:00:00Z",
                              ended_at="2026-11-23T00:00:10Z", completed=True, trigger="schedule")
        agent._flush()
        assert [e["item_id"] for e in uploaded] == ["a.vi"] and agent.outbox.pending_plays() == 0
        agent._flush()  # the refused ack is set aside, not retried forever
        assert agent.outbox.flush_acks(lambda a: pytest.fail("re-sent a refused ack")) == 0
    finally:
        agent.outbox.close()


def test_a_player_that_writes_much_to_stderr_does_not_hang(tmp_path: Path) -> None:
    # ffmpeg/ffplay print one line per broken frame: a full stderr pipe nobody reads would block the player
    cmd = [sys.executable, "-c", "import sys; sys.stderr.write('x' * 300000)"]
    done: list[bool] = []
    t = threading.Thread(target=lambda: done.append(_run_until(cmd, threading.Event())), daemon=True)
    t.start()
    t.join(timeout=10)
    assert done == [True]


def test_a_hung_player_is_killed_after_its_time_limit() -> None:
    t0 = time.monotonic()
    assert _run_until([sys.executable, "-c", "import time; time.sleep(60)"], threading.Event(),
                      limit_s=0.5) is False
    assert time.monotonic() - t0 < 5


def test_a_hung_ffprobe_does_not_kill_playout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def hang(*args, **kwargs):
        raise subprocess.TimeoutExpired("ffprobe", 30)

    monkeypatch.setattr("device_agent.player.shutil.which", lambda name: "/usr/bin/" + name)
    monkeypatch.setattr("device_agent.player.subprocess.run", hang)
    assert probe_duration(tmp_path / "x.mp3") == 30.0


def test_a_huge_answer_is_refused_without_reading_it_all() -> None:
    sent: list[int] = []

    def chunks():
        yield b'{"keys": ['
        for _ in range(4096):  # 64 MiB if read to the end
            sent.append(1)
            yield b"[" + b"0," * 8191 + b"0],"
        yield b"[]]}"

    def server(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=chunks(), headers={"Content-Type": "application/json"})

    from device_agent.identity import Identity
    client = DeviceClient("http://127.0.0.1:9", Identity(key=generate_key(), hardware_id="b", device_id=7),
                          transport=httpx.MockTransport(server))
    with pytest.raises(ProtocolError, match="too large"):
        client.keys()
    assert len(sent) < 4096


@pytest.mark.parametrize("bad", [
    {"quiet_hours": [{"from": 5, "to": "06:00"}]},
    {"volume_profile": [{"from": "05:00", "to": "22:00", "percent": "loud"}]},
    {"withdrawn": [{"not": "a hash"}]},
    {"window": "tomorrow"},
    {"window": {"from": "2026-01-01T00:00:00Z", "until": "soon"}},
])
def test_a_signed_but_malformed_schedule_is_refused(bad: dict) -> None:
    doc = schedule(KEY, [item("a", audio=ref(b"x"))])
    body = {k: v for k, v in doc.items() if k != "signature"}
    with pytest.raises(ScheduleRefused):
        verify_schedule(sign_document(KEY, {**body, **bad}), TRUSTED, 7)


def test_the_playout_loop_survives_an_unexpected_error(tmp_path: Path) -> None:
    agent = make_agent(tmp_path, lambda r: httpx.Response(503))
    calls: list[int] = []

    def broken(*args, **kwargs):
        calls.append(1)
        if len(calls) >= 2:
            agent.shutdown()
        raise RuntimeError("planner bug")

    agent.planner.choose = broken  # type: ignore[method-assign]
    agent.error_pause_s = 0.05
    try:
        t = threading.Thread(target=agent._playout_loop, daemon=True)
        t.start()
        t.join(timeout=10)
        assert not t.is_alive() and len(calls) >= 2  # logged and retried, not dead after the first error
    finally:
        agent.outbox.close()


def test_the_poll_thread_survives_a_failing_status_write(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    agent = make_agent(tmp_path, lambda r: httpx.Response(503))

    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("device_agent.agent.write_private", full)
    try:
        agent.poll_once()  # logged, not raised (a dead poll thread would never learn of withdrawals again)
        assert agent.online is False
    finally:
        agent.outbox.close()


def test_a_name_with_a_trailing_newline_is_refused() -> None:
    r = ref(b"data")
    with pytest.raises(UnsafeFile):
        check_ref({**r, "name": r["name"] + "\n"})



def test_an_unreachable_file_host_does_not_hold_back_acks_play_logs_or_other_files(tmp_path: Path) -> None:
    data = b"bulletin audio"
    posted: list[str] = []

    def server(request: httpx.Request) -> httpx.Response:
        if request.url.host == "objects.example":  # an object store (or a wrong public base URL) that is down
            raise httpx.ConnectError("connection refused", request=request)
        posted.append(request.url.path)
        if request.url.path.endswith("/playlogs"):
            return httpx.Response(200, json={"accepted": 1, "duplicates": 0})
        if "/files/" in request.url.path:
            return httpx.Response(200, content=data)
        return httpx.Response(204)

    agent = make_agent(tmp_path, server)
    try:
        away = item("e.vi", audio=ref(b"elsewhere", base="http://objects.example/b"), priority="khan_cap",
                    kind="emergency", expires_at="2099-01-01T00:00:00Z")
        here = item("a.vi", audio=ref(data, base="http://127.0.0.1:9/device/v1/files"))
        agent.plan.emergencies["e.vi"] = away
        agent.schedule = schedule(KEY, [here])
        agent.outbox.add_ack(item_id="e.vi", manifest_hash=away["manifest_hash"], received_at="x", channel="mqtt")
        agent.outbox.add_play(item_id="a.vi", manifest_hash="a" * 64, started_at="2026-11-23T00:00:00Z",
                              ended_at="2026-11-23T00:00:10Z", completed=True, trigger="schedule")
        agent._fetch_and_preempt()  # what runs right after an MQTT emergency
        assert "/device/v1/ack" in posted and "/device/v1/playlogs" in posted
        assert agent.cache.has(here["audio"]["name"]) and agent.outbox.pending_plays() == 0
    finally:
        agent.outbox.close()


def _serving(data: bytes, counter: list[int]) -> DeviceClient:
    def server(request: httpx.Request) -> httpx.Response:
        counter.append(1)
        return httpx.Response(200, content=data)

    from device_agent.identity import Identity
    return DeviceClient("http://127.0.0.1:9", Identity(key=generate_key(), hardware_id="b", device_id=7),
                        transport=httpx.MockTransport(server))


def test_planted_symlinks_are_not_cached_files_and_are_swept(tmp_path: Path) -> None:
    data = b"real bytes"
    r = ref(data)
    cache = FileCache(tmp_path / "files")
    secret = tmp_path / "secret"
    secret.write_bytes(b"not for the loudspeaker")
    (cache.root / r["name"]).symlink_to(secret)
    (cache.partial / (r["name"] + ".part")).symlink_to(tmp_path / "elsewhere")
    assert not cache.has(r["name"]) and cache.names() == []
    hits: list[int] = []
    path = cache.fetch(_serving(data, hits), r)  # fetched for real, never written through the links
    assert path.read_bytes() == data and not path.is_symlink() and hits == [1]
    assert secret.read_bytes() == b"not for the loudspeaker" and not (tmp_path / "elsewhere").exists()
    (cache.root / "x").symlink_to(secret)
    (cache.root / "d").mkdir()
    cache.collect({r["name"]})
    assert sorted(p.name for p in cache.root.iterdir()) == [".partial", r["name"]] and secret.exists()


def test_a_download_that_would_fill_the_disk_is_refused(tmp_path: Path) -> None:
    cache = FileCache(tmp_path / "files")
    cache.reserve = cache.free_bytes() - 10  # only 10 bytes may be used
    hits: list[int] = []
    with pytest.raises(NoSpace):
        cache.fetch(_serving(b"x" * 100, hits), ref(b"x" * 100))
    assert hits == [] and cache.names() == []


def test_a_file_that_keeps_coming_corrupt_is_not_downloaded_every_poll(tmp_path: Path) -> None:
    hits: list[int] = []
    served = b"bytes from a broken proxy"

    def server(request: httpx.Request) -> httpx.Response:
        hits.append(1)
        if request.url.path.endswith("/schedule"):
            return httpx.Response(304)
        return httpx.Response(200, content=served)

    agent = make_agent(tmp_path, server)
    try:
        wanted = item("a.vi", audio=ref(b"the announced bytes"))
        agent.schedule, agent.etag = schedule(KEY, [wanted]), '"e"'
        for _ in range(3):
            agent._fetch_files()
        assert len(hits) == 1 and not agent.cache.has(wanted["audio"]["name"])
        assert agent.cache.backing_off(wanted["audio"]["name"])
    finally:
        agent.outbox.close()


def test_a_long_download_pauses_and_resumes(tmp_path: Path) -> None:
    data = bytes(range(256)) * 1024  # 256 KiB, several chunks
    ranges: list[str | None] = []

    def server(request: httpx.Request) -> httpx.Response:
        ranges.append(request.headers.get("Range"))
        start = int(request.headers["Range"][6:-1]) if "Range" in request.headers else 0
        return httpx.Response(206 if start else 200, content=data[start:])

    from device_agent.identity import Identity
    client = DeviceClient("http://127.0.0.1:9", Identity(key=generate_key(), hardware_id="b", device_id=7),
                          transport=httpx.MockTransport(server))
    cache = FileCache(tmp_path / "files")
    r = ref(data)
    with pytest.raises(Paused, match="paused"):  # over its time budget (or SIGTERM): stop, keep the partial
        cache.fetch(client, r, budget_s=0)
    part = cache.partial / (r["name"] + ".part")
    assert 0 < part.stat().st_size < len(data) and not cache.has(r["name"])
    stopping = threading.Event()
    stopping.set()
    with pytest.raises(Paused, match="paused"):
        cache.fetch(client, r, cancel=stopping)
    assert cache.fetch(client, r).read_bytes() == data and ranges[1:] == [f"bytes={part_size}-" for part_size in
                                                                         (65536, 131072)]
