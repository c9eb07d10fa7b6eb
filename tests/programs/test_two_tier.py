"""Programmes on today's two-tier tree: a province programme reaches every commune, a commune's own one
overrides it there, and a hamlet hears its commune's edition (no district anywhere)."""

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from domain.areas import Area, AreaLevel
from domain.priority import Priority
from services import programs, runtime
from services.runtime import session
from settings import get_settings
from storage.migrate import upgrade
from storage.repositories import areas
from tests.programs.conftest import MakePackage

DAY = date(2026, 11, 24)  # a Tuesday
TREE = {
    "86": Area("86", "Tỉnh Vĩnh Long", AreaLevel.PROVINCE, None, ("vi", "km")),
    "29374": Area("29374", "Xã Châu Thành", AreaLevel.COMMUNE, "86"),
    "29398": Area("29398", "Phường Hòa Thuận", AreaLevel.COMMUNE, "86"),
    "29374-01": Area("29374-01", "Ấp Hương Phụ A", AreaLevel.HAMLET, "29374"),
}


@pytest.fixture
def home(bantin_env: Path) -> Iterator[Path]:  # overrides the package fixture: today's units
    upgrade(get_settings().database_url)
    with runtime.session() as s:
        areas.upsert_areas(s, TREE)
    yield bantin_env


def test_province_and_commune_programmes_on_two_tiers(home, make_package: MakePackage) -> None:  # type: ignore[no-untyped-def]
    province_item = make_package(title="Phòng chống bão", areas_=("86",), audio={"vi": 90.0, "km": 95.0},
                                 priority=Priority.UU_TIEN)
    hamlet_item = make_package(title="Họp ấp Hương Phụ A", areas_=("29374-01",), audio={"vi": 40.0})
    ward_item = make_package(title="Lịch tiêm Phường Hòa Thuận", areas_=("29398",), audio={"vi": 60.0})
    with session() as s:
        tinh = programs.save_program(s, area_code="86", name="Bản tin tỉnh", at="06:00", actor="op")
        own = programs.save_program(s, area_code="29374", name="Bản tin xã", at="06:05", actor="op")
        plans = programs.plan_day(s, DAY)
    by = {(p.area_code, p.program_id, p.language): p for p in plans}
    assert {"29374", "29398"} <= {p.area_code for p in plans}
    assert "29374-01" not in {p.area_code for p in plans}  # a hamlet hears its commune's edition
    ward = by[("29398", tinh.id, "vi")]
    assert [i.package_id for i in ward.selection.items] == [province_item, ward_item]
    assert by[("29374", tinh.id, "vi")].selection is None  # the commune's own programme is nearer
    chau_thanh = by[("29374", own.id, "vi")]
    assert [i.package_id for i in chau_thanh.selection.items] == [province_item]
    assert hamlet_item not in [i.package_id for i in chau_thanh.selection.items]  # aimed at one hamlet only
    km = by[("29398", tinh.id, "km")]
    assert [i.package_id for i in km.selection.items] == [province_item]


def test_loudspeakers_in_a_hamlet_air_their_communes_programmes(home) -> None:  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime, timedelta

    from services import programs_on_air
    from storage.repositories import programs as repo

    starts = datetime(2026, 11, 23, 23, 0, tzinfo=UTC)  # 06:00 in Vietnam
    with session() as s:
        own = programs.save_program(s, area_code="29374", name="Bản tin xã", at="06:00", actor="op")
        repo.save_edition(s, program_id=own.id, slot_date=DAY.isoformat(), area_code="29374", language="vi",
                          starts_at=starts, status="published", actor="op", manifest_hash="e" * 64,
                          audio_key="programs/x.mp3", audio_sha256="f" * 64, audio_size=1000, duration_s=60.0)
        window = (starts - timedelta(hours=1), starts + timedelta(hours=2))
        hamlet = programs_on_air.program_items(s, "29374-01", ("vi",), *window, file_url=lambda k, h: f"u/{h}")
        other = programs_on_air.program_items(s, "29398", ("vi",), *window, file_url=lambda k, h: f"u/{h}")
    assert [i.manifest_hash for i in hamlet] == ["e" * 64] and other == []
