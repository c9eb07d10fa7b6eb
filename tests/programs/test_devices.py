"""Issue 6 "done when", end to end through the real code: tomorrow's programme for a commune, built by the
program flow (real ffmpeg and espeak-ng), is on the programs page and reaches an authorised device of that
commune ahead of time in its signed schedule, with its audio downloadable (and resumable) from
``/device/v1/files/<sha256>``, and the area's quiet hours and volume profile beside it."""

import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from domain.approvals import Role
from domain.areas import AreaLevel
from domain.devices import is_safe_file_name
from domain.packages import PackageStatus
from domain.programs import VN_TZ, local_date
from domain.signatures import unb64, verify_document
from domain.users import Membership
from engines import audio
from engines import ffmpeg as ff
from services import device_schedule, programs, signing
from services import devices as device_service
from services.runtime import session
from settings import get_settings
from storage.models_programs import ProgramEditionRecord
from storage.repositories import packages, users
from tests.devices.factory import DeviceClient, sha
from tests.programs.conftest import MakePackage

pytestmark = pytest.mark.integration

PASSWORD = "mat-khau-thu-nghiem-2026"
BASE = "http://bantin.test"
QUIET = [{"from": "22:00", "to": "05:00"}]
VOLUME = [{"from": "05:00", "to": "12:00", "percent": 80}, {"from": "12:00", "to": "22:00", "percent": 60}]


@pytest.fixture(scope="module")
def bulletin_mp3(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 3 s loudness-normalised MP3 standing in for a produced bulletin."""
    work = tmp_path_factory.mktemp("bulletin-dev")
    ff.tone_sequence(work / "tone.wav", [(440.0, 1.5), (554.37, 1.5)], level_db=-10)
    audio.normalize_to_mp3(work / "tone.wav", work / "bulletin.mp3", target=audio.LoudnessTarget())
    return work / "bulletin.mp3"


@pytest.fixture
def fresh_caches(home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Schedules and device keys are cached per process: start and end with none. Polls are answered from
    memory alone for only 10 ms (not 5 s), so each poll below checks the database the way a poll on another
    node would; the built schedule itself stays cached (60 s) unless a change is detected."""
    monkeypatch.setenv("BANTIN_DEVICE_CACHE_S", "0.01")
    get_settings.cache_clear()
    device_service.forget()
    device_schedule.invalidate()
    yield home
    device_service.forget()
    device_schedule.invalidate()


def _login(client: TestClient, username: str) -> None:
    m = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text)
    assert m
    resp = client.post("/login", data={"username": username, "password": PASSWORD, "csrf": m.group(1)},
                       follow_redirects=False)
    assert resp.status_code == 303


def test_tomorrows_programme_is_on_the_page_and_reaches_the_communes_devices(
        fresh_caches, make_package: MakePackage, bulletin_mp3: Path, prefect_harness) -> None:  # type: ignore[no-untyped-def]
    from flows.program import build_programs
    from web.app import create_app

    ward = make_package(title="Lịch tiêm chủng Phường 1", areas_=("29239",), audio={"vi": bulletin_mp3})
    with session() as s:
        prog = programs.save_program(s, area_code="29239", name="Bản tin sáng", at="06:00", languages="vi",
                                     gap_s=0.5, actor="op")
        programs.set_area_profile(s, area_code="84", quiet_hours=QUIET, actor="op")  # the province's quiet hours
        users.add_user(s, username="admin", full_name="Quản trị", roles=[Role.ADMIN], password=None)
        users.add_user(s, username="officer", full_name="Cán bộ Phường 1", password=PASSWORD,
                       memberships=[Membership(Role.APPROVER, "29239", level=AreaLevel.COMMUNE)])
    client = TestClient(create_app(get_settings()), base_url=BASE)

    # A loudspeaker of that commune registers, is authorised by an admin, and polls before anything is built.
    dev = DeviceClient.new(client)
    assert dev.register("29239", "speaker").status_code == 202
    assert dev.request("GET", "/device/v1/schedule").status_code == 403  # not yet authorised
    with session() as s:
        device_service.authorise(s, dev.device_id or 0, username="admin")
    before = dev.request("GET", "/device/v1/schedule")
    assert before.status_code == 200
    assert [i["kind"] for i in before.json()["items"]] == ["package"]  # the bulletin alone, as a package
    assert before.json()["quiet_hours"] == QUIET and before.json()["volume_profile"] == []

    # The commune sets its own volume profile: the device's next poll has it (no cache flush by hand).
    with session() as s:
        programs.set_area_profile(s, area_code="29239", volume_profile=VOLUME, actor="op")
    time.sleep(0.05)
    profiled = dev.request("GET", "/device/v1/schedule", headers={"If-None-Match": before.headers["ETag"]})
    assert profiled.status_code == 200 and profiled.json()["volume_profile"] == VOLUME

    # The program flow builds tomorrow's edition; the device's next poll has it, hours before airtime.
    tomorrow = local_date(datetime.now(UTC)) + timedelta(days=1)
    assert build_programs(day=tomorrow.isoformat(), area_code="29239") == {"built": 1, "failed": 0}
    with session() as s:
        (edition,) = s.query(ProgramEditionRecord).filter_by(area_code="29239", status="published").all()
        s.expunge(edition)
    slot_utc = datetime(tomorrow.year, tomorrow.month, tomorrow.day, 6, 0, tzinfo=VN_TZ).astimezone(UTC)
    assert edition.starts_at.astimezone(UTC) == slot_utc
    time.sleep(0.05)
    resp = dev.request("GET", "/device/v1/schedule", headers={"If-None-Match": profiled.headers["ETag"]})
    assert resp.status_code == 200
    doc = resp.json()
    trusted = {k["key_id"]: unb64(k["public_key"]) for k in signing.keys_document()["keys"]}
    assert verify_document(doc, trusted) == signing.current_key().key_id
    assert doc["device_id"] == dev.device_id and doc["area_code"] == "29239"
    (item,) = [i for i in doc["items"] if i["kind"] == "program"]
    assert item["item_id"] == f"program-{prog.id}-{tomorrow.isoformat()}-29239-vi"
    assert item["manifest_hash"] == edition.manifest_hash and item["language"] == "vi"
    assert item["priority"] == "thuong" and item["repeat_every_s"] is None
    assert item["starts_at"] == slot_utc.isoformat().replace("+00:00", "Z")
    assert "Bản tin sáng" in item["title"] and item["slides"] == []
    assert datetime.fromisoformat(item["starts_at"].replace("Z", "+00:00")) - datetime.now(UTC) > timedelta(hours=5)
    a = item["audio"]
    assert a["sha256"] == edition.audio_sha256 and a["size"] == edition.audio_size > 0
    assert a["name"] == f"{a['sha256']}.mp3" and is_safe_file_name(a["name"])
    assert a["url"] == f"{BASE}/device/v1/files/{a['sha256']}"
    # The area's quiet hours and volume profile travel with the schedule.
    assert doc["quiet_hours"] == QUIET and doc["volume_profile"] == VOLUME
    # Nothing changed since: 304.
    time.sleep(0.05)
    assert dev.request("GET", "/device/v1/schedule", headers={"If-None-Match": resp.headers["ETag"]}).status_code == 304

    # The device downloads the programme audio, resumes with Range, and the hash checks out.
    path = a["url"].removeprefix(BASE)
    whole = dev.request("GET", path)
    assert whole.status_code == 200 and len(whole.content) == a["size"] and sha(whole.content) == a["sha256"]
    assert whole.content[:3] == b"ID3" or whole.content[0] == 0xFF  # an MP3, not a placeholder
    tail = dev.request("GET", path, headers={"Range": "bytes=1000-"})
    assert tail.status_code == 206 and whole.content[:1000] + tail.content == whole.content
    assert tail.headers["Content-Range"] == f"bytes 1000-{a['size'] - 1}/{a['size']}"
    assert client.get(path).status_code == 401  # unsigned requests get nothing

    # A short look-ahead does not reach tomorrow's slot; a device of another commune never gets it.
    short = dev.request("GET", "/device/v1/schedule?hours=1").json()
    assert [i for i in short["items"] if i["kind"] == "program"] == []
    other = DeviceClient.new(client)
    assert other.register("29236", "speaker").status_code == 202
    with session() as s:
        device_service.authorise(s, other.device_id or 0, username="admin")
    elsewhere = other.request("GET", "/device/v1/schedule").json()
    assert [i for i in elsewhere["items"] if i["kind"] == "program"] == []
    assert elsewhere["quiet_hours"] == QUIET and elsewhere["volume_profile"] == []

    # The commune officer sees tomorrow's programme, sent to devices, on the programs page.
    _login(client, "officer")
    html = client.get("/programs").text  # default: the officer's commune, tomorrow
    assert tomorrow.isoformat() in html and "Bản tin sáng" in html and "06:00" in html
    assert "Đã gửi tới thiết bị" in html and "Lịch tiêm chủng Phường 1" in html

    # Withdrawing the bulletin inside it takes the programme off the device and its audio off the file endpoint.
    with session() as s:
        packages.set_status(s, packages.get_package(s, ward), PackageStatus.WITHDRAWN, actor="approver")
    time.sleep(0.05)
    after = dev.request("GET", "/device/v1/schedule", headers={"If-None-Match": resp.headers["ETag"]})
    assert after.status_code == 200
    assert [i for i in after.json()["items"] if i["kind"] == "program"] == []
    assert dev.request("GET", path).status_code == 404
