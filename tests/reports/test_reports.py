"""A quarterly report for the simulated province, against counts computed in the test; the PDF's text (via
pdftotext) carries the headline figures and the XLSX reads back with openpyxl."""

import csv
import io
import shutil
import subprocess
from datetime import UTC, datetime, timedelta

import pytest

from domain.errors import InvalidInput, NotFound
from services import report_files, rollups
from services import reports as report_service
from services.rollups import Thresholds
from services.runtime import object_store, session
from storage.repositories import reports as repo
from tests.conftest import unavailable
from tests.devices.factory import published_package

TH = Thresholds(online_s=300, offline_s=3600)


def _communes_of(prefixes: set[str]) -> int:
    """Communes under these parents in the pre-2025 CSV the fixtures load (read directly, not through the code
    under test)."""
    import storage

    path = __import__("pathlib").Path(storage.__file__).parent / "seed" / "areas_legacy_2025-01.csv"
    rows = list(csv.DictReader(path.read_text(encoding="utf-8").splitlines()))
    districts = {r["code"] for r in rows if r["parent_code"] in prefixes or r["code"] in prefixes}
    return sum(1 for r in rows if r["level"] == "commune" and r["parent_code"] in districts)


def _quarter(now: datetime) -> str:
    vn = now + timedelta(hours=7)
    return f"{vn.year}-Q{(vn.month - 1) // 3 + 1}"


@pytest.fixture
def aired(province):
    """Three bulletins: a bilingual district one played by three devices (one too late, one in Khmer), a province
    emergency played by two, and a bilingual one for district 071 played by none. Rollups and device states brought
    up to date."""
    now = datetime.now(UTC)
    p1, h1 = published_package(title="Lịch tiêm chủng", areas=("070",), languages="vi,km",
                               expires_at=now + timedelta(minutes=5))
    p2, h2 = published_package(title="Cảnh báo lũ quét", areas=("08",), languages="vi", priority="khan_cap")
    published_package(title="Thông báo của huyện Lâm Bình", areas=("071",), languages="vi,km", priority="uu_tien")
    with session() as s:
        t1, t2 = (repo.published_times(s, [p])[p] for p in (p1, p2))
    province.play("a1", h1, t1 + timedelta(seconds=10), seconds=60)
    province.play("a1", h1, t1 + timedelta(seconds=200), seconds=30, completed=False)
    province.play("a2", h1, t1 + timedelta(seconds=20), seconds=60, lang="km")
    province.play("b1", h1, t1 + timedelta(minutes=7), seconds=30, completed=False)  # after it expired
    province.play("a1", h2, t2 + timedelta(seconds=45), seconds=60, trigger="emergency")
    province.play("d1", h2, t2 + timedelta(seconds=90), seconds=60, trigger="emergency")
    assert province.devices["a1"].request("POST", "/device/v1/ack", {
        "manifest_hash": h2, "item_id": f"{h2[:16]}.vi", "received_at": t2.isoformat(), "channel": "mqtt"}
    ).status_code == 204
    folded = rollups.fold_all(session, chunk=4)
    assert folded == 6
    with session() as s:
        # a1, a2, b1 and d1 were marked online by their first requests; the others were never heard from.
        assert rollups.record_state_changes(s, datetime.now(UTC), TH) == 0
    return now


def test_quarterly_report_figures(aired) -> None:
    now = aired + timedelta(days=1)  # the report made tomorrow covers today
    province_communes = _communes_of({"08"})
    with session() as s:
        data = report_service.compute(s, report_service.resolve_period(_quarter(now), today=now.date()), "08",
                                      now=now)
    h = data.headline
    assert (h["bulletins"], h["bulletins_aired"]) == (3, 2)
    assert (h["devices"], h["communes"], h["communes_with_devices"]) == (7, province_communes, 4)
    assert h["plays"] == 6
    assert h["minutes_aired"] == 5.0  # 60+30+60+30+60+60 seconds
    assert h["device_coverage_pct"] == 26.2  # mean of 3/6, 2/7 and 0/1
    # Communes that aired each bulletin, averaged: 2 of 070's communes, 2 of the province's (02200 by a1, 02233 by
    # d1) and none of 071's.
    n070 = _communes_of({"070"})
    assert h["commune_coverage_pct"] == round((100 * 2 / n070 + 100 * 2 / province_communes + 0) / 3, 1)
    assert h["on_time_pct"] == 80.0  # 4 of the 5 first plays in their window
    assert (h["emergency_p50_s"], h["emergency_p90_s"]) == (67.5, 85.5)
    assert h["uptime_pct"] == 100.0
    assert 0 <= h["emergency_ack_p50_s"] == h["emergency_ack_p90_s"] < 300  # one ack, seconds after publication
    assert data.by_priority == {"thuong": (1, 1), "khan_cap": (1, 1), "uu_tien": (1, 0)}
    assert data.by_level == {"district": (2, 1), "province": (1, 1)}
    # Aired in a language: its variant played. Khmer: two bulletins have it, a2 played one.
    assert data.by_language == {"vi": (3, 2), "km": (2, 1)}
    # Plays, devices x bulletins and minutes per language: vi 90+30 s of the district one (a1, b1) and 60+60 s of
    # the emergency (a1, d1); km 60 s (a2).
    assert data.language_plays == {"km": (1, 1, 1.0), "vi": (5, 4, 4.0)}
    lines = {b.title: b for b in data.bulletins}
    district = lines["Lịch tiêm chủng"]
    assert (district.communes, district.communes_played) == (_communes_of({"070"}), 2)
    assert (district.devices, district.devices_played, district.on_time) == (6, 3, 2)
    assert (lines["Cảnh báo lũ quét"].devices, lines["Cảnh báo lũ quét"].devices_played) == (7, 2)
    by_code = {c.code: c for c in data.communes}
    assert (by_code["02200"].devices, by_code["02200"].plays, by_code["02200"].minutes) == (2, 4, 3.5)
    assert by_code["02233"].plays == 1
    # Bulletins reaching each commune and those a device there aired: 070's and the province's reach 02200 (both
    # played there), 02203 (b1 played 070's) and 02206 (nothing); 02233 gets 071's and the province's (d1).
    assert [(by_code[c].bulletins, by_code[c].bulletins_aired, by_code[c].aired_pct)
            for c in ("02200", "02203", "02206", "02233")] == [(2, 2, 100.0), (2, 1, 50.0), (2, 0, 0.0), (2, 1, 50.0)]
    others = [c for c in data.communes if c.devices == 0]
    assert len(others) == province_communes - 4 and {c.aired_pct for c in others} == {None}
    assert data.feedback == {"received": 0, "answered": 0, "answered_on_time": 0, "on_time_pct": None,
                             "overdue": 0, "median_hours": None}  # no citizen feedback in this province yet

    with session() as s:  # the same figures for district 070 alone: d1 and 071's bulletin drop out
        d = report_service.compute(s, report_service.resolve_period(_quarter(now), today=now.date()), "070",
                                   now=now).headline
    assert (d["bulletins"], d["devices"], d["plays"]) == (2, 6, 5)
    with session() as s:  # one commune's report: 070's and the province's bulletins reach 02200, a1 and a2 played
        c = report_service.compute(s, report_service.resolve_period(_quarter(now), today=now.date()), "02200",
                                   now=now)
    assert (c.headline["bulletins"], c.headline["bulletins_aired"], c.headline["devices"], c.headline["plays"],
            c.headline["minutes_aired"], c.headline["communes"]) == (2, 2, 2, 4, 3.5, 1)
    assert [(x.code, x.plays) for x in c.communes] == [("02200", 4)]


def test_report_files_pdf_xlsx_csv(aired, tmp_path) -> None:  # noqa: ANN001
    if shutil.which("pdftotext") is None:
        unavailable("pdftotext (poppler-utils) is not installed")
    now = aired + timedelta(days=1)
    store = object_store()
    with session() as s:
        recs = {fmt: report_files.generate(s, store, period=_quarter(now), area_code="08", fmt=fmt, actor="admin",
                                           now=now) for fmt in ("pdf", "xlsx", "csv")}
        ids = {fmt: r.id for fmt, r in recs.items()}
    with session() as s:
        listed = [r.id for r in report_files.visible_reports(s, "admin")]
        files = {fmt: report_files.open_report(s, store, i, "admin") for fmt, i in ids.items()}
    assert sorted(listed) == sorted(ids.values())
    text = subprocess.run(["pdftotext", "-layout", "-", "-"], input=files["pdf"].data, capture_output=True,
                          check=True).stdout.decode("utf-8")
    for needle in ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc",
                   "ỦY BAN NHÂN DÂN TỈNH TUYÊN QUANG", "BÁO CÁO", "Lịch tiêm chủng",
                   "Phản ánh tiếp nhận", "NGƯỜI LẬP BÁO CÁO"):
        assert needle in text, needle
    (tmp_path / "q.pdf").write_bytes(files["pdf"].data)  # pdfimages comes with pdftotext (poppler-utils)
    images = subprocess.run(["pdfimages", "-list", str(tmp_path / "q.pdf")], capture_output=True, check=True
                            ).stdout.decode().splitlines()[2:]
    # plays per day, the commune map, minutes and uptime per commune, emergency latency
    assert sum(1 for row in images if row.split()[2] == "image") == 5
    lines = [" ".join(line.split()) for line in text.splitlines()]
    for figure in ("Tỷ lệ phát đúng hạn (%) 80", "Tỷ lệ thiết bị đã phát (%) 26,2", "Tổng số phút phát 5",
                   "Tin khẩn: thời gian lên sóng, trung vị (giây) 67,5", "Bản tin phát hành 3"):
        assert figure in lines, figure
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(files["xlsx"].data))
    first = wb.worksheets[0]
    values = {r[0]: r[1] for r in first.iter_rows(min_row=11, values_only=True) if r[0]}
    assert values["Bản tin phát hành"] == 3
    assert values["Tỷ lệ thiết bị đã phát (%)"] == 26.2
    assert values["Tổng lượt phát"] == 6
    assert first.cell(1, 1).value == "ỦY BAN NHÂN DÂN TỈNH TUYÊN QUANG"
    rows = list(csv.reader(io.StringIO(files["csv"].data.decode("utf-8-sig"))))
    assert ["Tổng số phút phát", "5.0"] in rows
    assert ["Tiếng Khmer", "1", "1", "1.0"] in rows and ["Ngôn ngữ", "Tiếng Khmer", "2", "1"] in rows


def test_bad_periods_and_areas(province) -> None:
    now = datetime.now(UTC)
    store = object_store()
    with session() as s:
        with pytest.raises(InvalidInput, match="chưa bắt đầu"):
            report_files.generate(s, store, period=f"{now.year + 1}-Q1", area_code="08", fmt="pdf", actor="admin",
                                  now=now)
        with pytest.raises(InvalidInput, match="trước ngày bắt đầu"):
            report_files.generate(s, store, period="2026-07-31..2026-07-01", area_code="08", fmt="csv",
                                  actor="admin", now=now)
        with pytest.raises(InvalidInput, match="không hợp lệ"):
            report_files.generate(s, store, period="2026-13", area_code="08", fmt="csv", actor="admin", now=now)
        with pytest.raises(NotFound):
            report_files.generate(s, store, period="2026-Q3", area_code="99999", fmt="csv", actor="admin", now=now)
        with pytest.raises(InvalidInput, match="định dạng"):
            report_files.generate(s, store, period="2026-Q3", area_code="08", fmt="docx", actor="admin", now=now)


def test_english_report(aired) -> None:
    if shutil.which("pdftotext") is None:
        unavailable("pdftotext (poppler-utils) is not installed")
    now = aired + timedelta(days=1)
    with session() as s:
        data = report_service.compute(s, report_service.resolve_period(_quarter(now), today=now.date()), "08",
                                      now=now)
    text = subprocess.run(["pdftotext", "-layout", "-", "-"], input=report_files.render(data, "pdf", "en"),
                          capture_output=True, check=True).stdout.decode("utf-8")
    lines = [" ".join(line.split()) for line in text.splitlines()]
    assert "SOCIALIST REPUBLIC OF VIET NAM" in text
    assert "Aired on time (%) 80" in lines and "Devices that aired (%) 26.2" in lines
