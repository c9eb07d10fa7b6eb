"""Published packages in the archive, found through the API, the page and the CLI, within each officer's areas.

Packages are made directly in the database (production is tested elsewhere): a vi+km bulletin for Đa Lộc
(29377, district 847, Trà Vinh 84) and a vi bulletin for a Tuyên Quang ward (02200).
"""

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from domain.drafts import Channel, DraftContent
from domain.packages import AssetKind, PackageStatus, VariantStatus
from domain.priority import Priority
from services.archive import indexing, ingest
from services.runtime import object_store, session
from settings import get_settings
from storage.models_devices import DeviceRecord, PlayLogRecord
from storage.repositories import archive, drafts, packages
from tests.web.accounts import api_token
from tests.web.conftest import PASSWORD, shared_web_home  # noqa: F401 (fixture)
from web.app import create_app

TEXTS = {
    "vi": ("Điện lực Châu Thành thông báo cắt điện từ 7 giờ đến 11 giờ ngày 5/12 để bảo trì lưới điện.",
           "Cắt điện 7–11 giờ ngày 5/12"),
    "km": ("អគ្គិសនីនឹងត្រូវផ្តាច់ ពីម៉ោង ៧ ដល់ ១១", "ផ្តាច់អគ្គិសនី"),
}


def make_package(area: str, title: str, body: str, languages: tuple[str, ...], status: PackageStatus) -> int:
    with session() as s:
        rev = drafts.create_draft(s, author="editor_daloc", content=DraftContent(
            title=title, body=body, area_codes=(area,), languages=languages, priority=Priority.UU_TIEN,
            channels=(Channel.LOUDSPEAKER, Channel.BOARD)))
        pkg = packages.create_package(s, draft_id=rev.draft_id,
                                      revision_id=drafts.latest_revision_record(s, rev.draft_id).id, actor="system")
        for lang in languages:
            script, board = TEXTS[lang]
            for kind, text in ((AssetKind.SCRIPT, script), (AssetKind.BOARD_TEXT, board)):
                obj = object_store().put_bytes(text.encode(), ext="txt", media_type="text/plain")
                packages.record_asset(s, package_id=pkg.id, language=lang, kind=kind, stored=obj, meta={})
            packages.set_variant(s, package_id=pkg.id, language=lang, status=VariantStatus.READY)
        pkg.manifest_hash = hashlib.sha256(f"manifest {pkg.id}".encode()).hexdigest()
        for step in (PackageStatus.IN_REVIEW, PackageStatus.APPROVED, PackageStatus.PUBLISHED):
            packages.set_status(s, pkg, step, actor="system")
            if step is status:
                break
        return pkg.id


def add_plays(s: Session, manifest: str) -> None:
    """Two plays of the vi variant in Đa Lộc, one of the km variant, one vi play on a device far away."""
    t0 = datetime(2026, 11, 20, 23, 0, tzinfo=UTC)
    devices = [DeviceRecord(hardware_id=f"hw-{n}", public_key="k", name=name, area_code=area, kind="speaker",
                            status="authorised") for n, (name, area) in enumerate([("Cụm loa ấp 1", "29377"),
                                                                                   ("Cụm loa phường", "02200")])]
    s.add_all(devices)
    s.flush()
    for n, (device, lang, hours) in enumerate([(0, "vi", 0), (0, "vi", 24), (0, "km", 1), (1, "vi", 2)]):
        s.add(PlayLogRecord(device_id=devices[device].id, log_id=f"log-{n}", item_id=f"{manifest[:16]}.{lang}",
                            manifest_hash=manifest, started_at=t0 + timedelta(hours=hours), completed=True,
                            trigger="schedule"))
    s.flush()


@pytest.fixture(scope="module")
def archive_home(shared_web_home: Path) -> Iterator[dict[str, int]]:  # noqa: F811
    daloc = make_package("29377", "Thông báo cắt điện", "UBND xã Đa Lộc thông báo lịch cắt điện.", ("vi", "km"),
                         PackageStatus.PUBLISHED)
    ward = make_package("02200", "Thông báo cắt điện", "UBND phường thông báo lịch cắt điện.", ("vi",),
                        PackageStatus.PUBLISHED)
    review = make_package("29377", "Cắt điện (chờ duyệt)", "Chưa phát: cắt điện.", ("vi",), PackageStatus.IN_REVIEW)
    with session() as s:
        for pid in (daloc, ward, review):
            indexing.index_package(s, object_store(), pid)
        wav = Path(__file__).with_name("__init__.py")  # any bytes will do for serving a recording
        stored = object_store().put_bytes(wav.read_bytes() + b"RIFF", ext="wav", media_type="audio/wav")
        rec, _ = archive.upsert_entry(s, archive.EntryData(
            kind="recording", language="vi", title="2019 05 03 thong bao", area_codes=["29380"], status="archived",
            sections=[{"kind": "transcript", "text": "Lịch cắt điện xã Mỹ Chánh"}],
            segments=[[0.0, 2.5, "Lịch cắt điện"], [2.5, 4.0, "xã Mỹ Chánh"]],
            broadcast_at=ingest.recorded_at("2019-05-03.wav", None),  # type: ignore[arg-type]
            source_sha256="ab" * 32, recording_key=stored.key, source_name="old/2019-05-03.wav"), salt=1)
        recording = rec.id
        add_plays(s, packages.get_package(s, daloc).manifest_hash or "")
    yield {"daloc": daloc, "ward": ward, "review": review, "recording": recording}


@pytest.fixture(scope="module")
def client(archive_home: dict[str, int]) -> Iterator[TestClient]:
    with TestClient(create_app(get_settings()), follow_redirects=False) as c:
        yield c


def api(client: TestClient, user: str, **params: str) -> dict:  # type: ignore[type-arg]
    token = api_token(user)
    resp = client.get("/api/v1/search", params=params, headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_indexing_is_idempotent_and_skips_unpublished(archive_home: dict[str, int]) -> None:
    with session() as s:
        first = archive.entries_of_package(s, archive_home["daloc"])
        assert [e.language for e in first] == ["km", "vi"]
        again = indexing.index_package(s, object_store(), archive_home["daloc"])
        assert sorted(again) == sorted(e.id for e in first)
        assert indexing.index_package(s, object_store(), archive_home["review"]) == []
        assert archive.count_indexed(s) == archive.count_entries(s) == 4


def test_api_search_within_the_callers_areas(client: TestClient, archive_home: dict[str, int]) -> None:
    district = api(client, "approver_chauthanh", q="cat dien")
    found = {(i["package_id"], i["language"]) for i in district["items"]}
    assert found == {(archive_home["daloc"], "vi"), (archive_home["daloc"], "km")} | {(None, "vi")}
    vi = next(i for i in district["items"] if i["package_id"] and i["language"] == "vi")
    assert [f["text"] for f in vi["snippet"] if f["match"]] == ["cắt", "điện"]
    assert vi["status"] == "published" and vi["priority"] == "uu_tien" and vi["areas"] == ["29377"]
    rec = next(i for i in district["items"] if i["kind"] == "recording")
    assert vi["plays"]["count"] == 2 and vi["plays"]["areas"] == [{"code": "29377", "count": 2}]  # not Tuyên Quang
    assert vi["plays"]["last"].startswith("2026-11-21T23:00")
    assert api(client, "admin", q="cat dien", area="29377", lang="vi")["items"][0]["plays"]["count"] == 3
    assert rec["moments"][0]["start"] == 0.0 and rec["moments"][0]["url"].endswith("/recording#t=0.0")
    # Mỹ Chánh's editor sees only what was aimed at Mỹ Chánh; the admin sees everything.
    assert api(client, "editor_mychanh", q="cat dien")["total"] == 1  # only Mỹ Chánh's own recording
    assert api(client, "admin", q="cat dien")["total"] == 4
    assert api(client, "admin", q="cat dien", area="02200")["items"][0]["package_id"] == archive_home["ward"]
    assert api(client, "admin", q="Cắt điện", exact="true", lang="km")["total"] == 1  # the vi title, km entry
    assert api(client, "admin", q="cat dien", **{"from": "2019-05-03", "to": "03/05/2019"})["total"] == 1
    assert client.get("/api/v1/search", params={"q": "x"}).status_code == 401


def test_api_bad_input_is_a_clear_422(client: TestClient, archive_home: dict[str, int]) -> None:
    token = api_token("admin")
    headers = {"Authorization": f"Bearer {token}"}
    for params, message in [({"q": "a" * 600}, "at most 500"), ({"q": "x", "area": "99999"}, "unknown area"),
                            ({"q": "x*"}, "prefix"), ({"from": "hôm qua"}, "not a date")]:
        resp = client.get("/api/v1/search", params=params, headers=headers)
        assert resp.status_code == 422 and message in resp.json()["error"], resp.text
    for q in ['"', "NEAR(a b)", "'); DROP TABLE archive_entries; --", "ab:* | b", "{folded}: *"]:
        resp = client.get("/api/v1/search", params={"q": q}, headers=headers)
        assert resp.status_code == 200 and "Traceback" not in resp.text


def test_withdrawn_bulletins_stay_findable_and_flagged(client: TestClient, archive_home: dict[str, int]) -> None:
    with session() as s:
        pkg = packages.get_package(s, archive_home["ward"])
        packages.set_status(s, pkg, PackageStatus.WITHDRAWN, actor="approver")
    item = api(client, "admin", q="phuong")["items"][0]
    assert item["status"] == "withdrawn" and item["flagged"]  # the live status, before any re-indexing
    counts = indexing.reindex(session, object_store())
    assert counts == {"packages": 2, "entries": 3, "recordings": 1}  # withdrawn history is kept, review is not
    with session() as s:
        assert archive.count_indexed(s) == archive.count_entries(s) == 4
        assert archive.entries_of_package(s, archive_home["ward"])[0].status == "withdrawn"
    assert api(client, "admin", q="phuong")["items"][0]["id"] == item["id"]


def test_search_page_and_recording(client: TestClient, archive_home: dict[str, int]) -> None:
    csrf = client.get("/login").text.split('name="csrf" value="')[1].split('"')[0]
    assert client.post("/login", data={"username": "approver_chauthanh", "password": PASSWORD,
                                       "csrf": csrf}).status_code == 303
    page = client.get("/search", params={"q": "ubnd xa", "area": "847"})
    assert page.status_code == 200
    assert "<mark>UBND</mark> <mark>xã</mark> Đa Lộc" in page.text and "Tuyên" not in page.text
    assert "Đã phát: 2 · 1 thiết bị · Xã Đa Lộc (2)" in page.text  # the commune by name, not 29377
    bad = client.get("/search", params={"q": "<script>x*"})
    assert bad.status_code == 200 and "<script>x" not in bad.text  # escaped
    bad = client.get("/search", params={"q": "x*"})
    assert bad.status_code == 422 and "prefix" in bad.text
    page = client.get("/search", params={"q": "my chanh"})
    assert f'/archive/entries/{archive_home["recording"]}/recording#t=2.5' in page.text
    audio = client.get(f"/archive/entries/{archive_home['recording']}/recording")
    assert audio.status_code == 200 and audio.headers["content-type"] == "audio/wav"
    assert client.get("/archive/entries/999999/recording").status_code == 404


def test_cli_search(archive_home: dict[str, int]) -> None:
    from cli.main import app

    out = CliRunner().invoke(app, ["search", "cat dien", "--area", "847", "--lang", "vi"])
    assert out.exit_code == 0, out.output
    assert "2 result(s) for cat dien" in out.output and "[cắt] [điện]" in out.output
    assert "> 0:00" in out.output  # the recording's moment
    assert "played 3x on 2 device(s) in 29377 x2, 02200 x1" in out.output
    bad = CliRunner().invoke(app, ["search", "x", "--area", "99999"])
    assert bad.exit_code != 0 and "unknown area" in str(bad.exception)
