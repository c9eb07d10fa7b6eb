"""File cache (resume, verification, refusal of unsafe names), schedule verification and request signing."""

import json
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from device_agent.cache import Corrupt, FileCache, UnsafeFile, check_ref
from device_agent.client import DeviceClient
from device_agent.identity import Identity
from device_agent.schedule import ScheduleRefused, ScheduleStore, verify_emergency, verify_schedule
from domain.devices import verify_request
from domain.signatures import generate_key, sign_document
from tests.agent.helpers import emergency, item, ref, schedule

DATA = bytes(range(256)) * 400  # 100 KiB
SERVER_KEY = generate_key()
TRUSTED = {SERVER_KEY.key_id: SERVER_KEY.public}


class RangeServer:
    """A file endpoint honouring ``Range: bytes=N-``; it can cut the first answer short or corrupt bytes."""

    def __init__(self, data: bytes, cut_at: int | None = None, corrupt: bool = False) -> None:
        self.data, self.cut_at, self.corrupt = data, cut_at, corrupt
        self.ranges: list[str | None] = []
        self.signed: list[bool] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.ranges.append(request.headers.get("Range"))
        self.signed.append("X-Bantin-Signature" in request.headers)
        start = int(request.headers["Range"].split("=")[1].rstrip("-")) if "Range" in request.headers else 0
        body = self.data[start:]
        if self.cut_at is not None:
            body, self.cut_at = body[: self.cut_at], None  # the connection "drops" once
        if self.corrupt:
            body = body[:-1] + b"\x00"
        return httpx.Response(206 if start else 200, content=body)


def client_for(handler, device_id: int | None = 7) -> DeviceClient:
    ident = Identity(key=generate_key(), hardware_id="test-box", device_id=device_id)
    return DeviceClient("http://127.0.0.1:9", ident, transport=httpx.MockTransport(handler))


def test_download_resumes_with_range_and_is_verified_before_rename(tmp_path: Path) -> None:
    server = RangeServer(DATA, cut_at=30_000)
    cache = FileCache(tmp_path / "files")
    r = ref(DATA)
    client = client_for(server)
    with pytest.raises(Corrupt):  # a size that does not belong to the hash is caught
        cache.fetch(client, {**r, "size": 30_000})
    assert not cache.has(r["name"])
    server.cut_at = 30_000
    part = cache.partial / (r["name"] + ".part")
    with pytest.raises(Corrupt):
        cache.fetch(client, r)  # short read: verification fails and the partial file is discarded
    assert not part.exists()
    part.write_bytes(DATA[:40_000])  # an interrupted earlier download
    path = cache.fetch(client, r)
    assert path.read_bytes() == DATA and server.ranges[-1] == "bytes=40000-"
    assert all(server.signed)  # files on our own server are fetched with signed requests
    assert cache.hashes() == [r["sha256"]] and cache.fetch(client, r) == path  # cached: no new request
    assert len(server.ranges) == 3


def test_corrupt_download_is_discarded(tmp_path: Path) -> None:
    cache = FileCache(tmp_path / "files")
    with pytest.raises(Corrupt):
        cache.fetch(client_for(RangeServer(DATA, corrupt=True)), ref(DATA))
    assert cache.names() == [] and list(cache.partial.iterdir()) == []


@pytest.mark.parametrize("name", [
    "../../etc/passwd", "../{sha}.mp3", "{sha}.mp3/../../x", "/tmp/{sha}.mp3", "{SHA}.mp3", "{sha}", "{sha}.MP3",
    "{other}.mp3", "{sha}.mp3\x00.png",
])
def test_unsafe_file_names_are_refused(name: str, tmp_path: Path) -> None:
    r = ref(DATA)
    bad = {**r, "name": name.format(sha=r["sha256"], SHA=r["sha256"].upper(), other="0" * 64)}
    with pytest.raises(UnsafeFile):
        check_ref(bad)
    with pytest.raises(UnsafeFile):
        FileCache(tmp_path / "files").fetch(client_for(RangeServer(DATA)), bad)
    assert not (tmp_path / "etc").exists()


def test_unreferenced_files_are_collected(tmp_path: Path) -> None:
    cache = FileCache(tmp_path / "files")
    client = client_for(RangeServer(DATA))
    keep = cache.fetch(client, ref(DATA))
    other = b"other"
    client2 = client_for(RangeServer(other))
    gone = cache.fetch(client2, ref(other, ext="png"))
    assert cache.collect({keep.name}) == [gone.name]
    assert cache.names() == [keep.name]


def test_schedule_is_used_only_when_signed_by_a_trusted_key_for_this_device(tmp_path: Path) -> None:
    audio = ref(DATA)
    doc = schedule(SERVER_KEY, [item("a", audio=audio)])
    assert verify_schedule(doc, TRUSTED, 7) is doc
    tampered = json.loads(json.dumps(doc))
    tampered["items"][0]["audio"]["url"] = "http://evil.example/x"
    with pytest.raises(ScheduleRefused, match="signature"):
        verify_schedule(tampered, TRUSTED, 7)
    with pytest.raises(ScheduleRefused, match="untrusted"):
        verify_schedule(schedule(generate_key(), [item("a", audio=audio)]), TRUSTED, 7)
    with pytest.raises(ScheduleRefused, match="not 8"):
        verify_schedule(doc, TRUSTED, 8)
    traversal = schedule(SERVER_KEY, [item("a", audio={**audio, "name": "../../../etc/cron.d/x"})])
    with pytest.raises(ScheduleRefused, match="refused file name"):  # even when properly signed
        verify_schedule(traversal, TRUSTED, 7)

    store = ScheduleStore(tmp_path)
    store.save(doc, '"e"')
    assert store.load(TRUSTED, 7) == (doc, '"e"')
    raw = json.loads(store.path.read_text(encoding="utf-8"))
    raw["schedule"]["items"][0]["priority"] = "khan_cap"  # edited on disk
    store.path.write_text(json.dumps(raw), encoding="utf-8")
    assert store.load(TRUSTED, 7) == (None, None)
    kept = list(tmp_path.glob("schedule.json.corrupt-*"))  # set aside for an inquiry, not overwritten later
    assert not store.path.exists() and [json.loads(p.read_text(encoding="utf-8")) for p in kept] == [raw]


def test_emergency_messages_are_verified() -> None:
    it = item("e", audio=ref(DATA), priority="khan_cap", kind="emergency", expires_at="2099-01-01T00:00:00Z")
    msg = emergency(SERVER_KEY, it)
    assert verify_emergency(msg, TRUSTED)["action"] == "play"
    with pytest.raises(ScheduleRefused, match="signature"):
        verify_emergency({**msg, "action": "stop"}, TRUSTED)
    bad = emergency(SERVER_KEY, {**it, "audio": {**it["audio"], "name": "..%2f..%2fx.mp3"}})
    with pytest.raises(ScheduleRefused, match="refused file name"):
        verify_emergency(bad, TRUSTED)
    with pytest.raises(ScheduleRefused, match="action"):
        verify_emergency(sign_document(SERVER_KEY, {**msg, "action": "explode"}), TRUSTED)


def test_requests_are_signed_as_the_server_checks_them() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"accepted": 1, "duplicates": 0})

    client = client_for(handler)
    entry = {"log_id": "0b9a0c5e-6f0e-4a55-8f0e-0d3c2b1a0f00", "item_id": "x.vi", "manifest_hash": "a" * 64,
             "started_at": "2026-11-23T00:00:00Z", "ended_at": "2026-11-23T00:00:05Z", "completed": True,
             "trigger": "schedule"}
    assert client.playlogs([entry]) == {"accepted": 1, "duplicates": 0}
    req = seen[0]
    path = req.url.raw_path.decode()
    verify_request(client.identity.key.public, method="POST", path_with_query=path,
                   timestamp=req.headers["X-Bantin-Timestamp"], body=req.content,
                   signature_b64=req.headers["X-Bantin-Signature"], now=datetime.now(UTC), skew_s=300)
    assert req.headers["X-Bantin-Device"] == "7" and path == "/device/v1/playlogs"
    client.schedule(None, 24)
    assert seen[1].url.raw_path.decode() == "/device/v1/schedule?hours=24"
    with pytest.raises(ValueError, match="500"):
        client.playlogs([entry] * 501)
