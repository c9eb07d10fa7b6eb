"""``bantin areas migrate --to 2025`` on a legacy installation (the old three-tier seed): records follow
their new unit in one audited transaction, history keeps its codes, conflicts stop before writing, and a
second run changes nothing. SQLite and PostgreSQL."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain.approvals import Role
from domain.areas import Area, AreaLevel, tree_levels
from domain.deliveries import DestinationKind
from domain.devices import DeviceKind, Registration
from domain.drafts import DraftContent
from domain.errors import ApprovalRefused, InvalidInput, NotFound
from domain.priority import Priority
from domain.users import Membership
from services import areas as area_service
from storage.db import make_engine, session_scope
from storage.migrate import upgrade
from storage.models import AuditRecord, DraftRevisionRecord, EmergencyTemplateRecord, MembershipRecord
from storage.models_devices import DeviceRecord
from storage.models_programs import AreaProfileRecord, ProgramRecord
from storage.repositories import areas, audit, destinations, devices, drafts, programs, templates, users

pytestmark = pytest.mark.integration
NOW = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)


@pytest.fixture
def engine(database_url: str):  # type: ignore[no-untyped-def]
    upgrade(database_url)
    eng = make_engine(database_url)
    with session_scope(eng) as s:
        areas.upsert_areas(s, areas.read_area_csv(seed=areas.LEGACY_SEED))
        areas.upsert_areas(s, {"29377-01": Area("29377-01", "Ấp Hương Phụ A", AreaLevel.HAMLET, "29377")})
        _legacy_installation(s)
    yield eng
    eng.dispose()


def _legacy_installation(s: Session) -> None:
    users.add_user(s, username="quan", full_name="Quản trị", memberships=[Membership(Role.ADMIN)])
    users.add_user(s, username="lan", full_name="Lan", memberships=[Membership(Role.APPROVER, "847")])
    users.add_user(s, username="an", full_name="An", memberships=[
        Membership(Role.EDITOR, "29377"), Membership(Role.EDITOR, "29380")])  # both now in Xã Châu Thành
    users.add_user(s, username="sokha", full_name="Sô Kha", memberships=[Membership(Role.TRANSLATOR, "84", "km")])
    users.add_user(s, username="binh", full_name="Bình", memberships=[Membership(Role.EDITOR, "02485")])
    devices.add_device(s, Registration("hw-1", b"k" * 32, "Cụm loa ấp Hương Phụ A", "29377-01", DeviceKind.SPEAKER))
    devices.add_device(s, Registration("hw-2", b"q" * 32, "Bảng tin UBND", "29377", DeviceKind.BOARD))
    for code in ("29377", "29380"):
        programs.save_program(s, area_code=code, name="Bản tin sáng", actor="lan", at="06:00", weekdays="01234",
                              max_s=600.0, gap_s=2.0, priority="thuong", languages=[])
    programs.set_profile(s, area_code="29377", quiet_hours=[{"from": "11:00", "to": "13:00"}], volume_profile=None,
                         actor="lan", default_packages=[])
    templates.add_template(s, name="bão", title="Bão", body="Bão số 5 sắp đổ bộ.", languages=["vi"],
                           area_code="84", content_hash="0" * 64, author="lan")
    destinations.add_destination(s, name="htttn-tra-vinh", kind=DestinationKind.HTTTN, url="https://tv.example/in",
                                 area_code="84")
    destinations.add_destination(s, name="htttn-tw", kind=DestinationKind.HTTTN, url="https://tw.example/in")
    drafts.create_draft(s, content=DraftContent(title="Thông báo", body="Nội dung thông báo đủ dài để kiểm tra.",
                                                area_codes=("29377",), languages=("vi", "km"),
                                                priority=Priority.THUONG), author="an")


def _counts(s: Session) -> dict[str, int]:
    return {name: s.scalar(select(func.count()).select_from(model)) or 0 for name, model in (
        ("memberships", MembershipRecord), ("devices", DeviceRecord), ("programs", ProgramRecord),
        ("profiles", AreaProfileRecord), ("templates", EmergencyTemplateRecord), ("revisions", DraftRevisionRecord))}


def test_conflicts_stop_before_writing_and_name_the_way_out(engine) -> None:  # type: ignore[no-untyped-def]
    with session_scope(engine) as s:
        before = _counts(s)
        report = area_service.migrate(s, actor="quan", to="2025", assign=[], dry_run=False, now=NOW)
        assert not report.written
        conflicts = {c.old_code: c for c in report.conflicts}
        assert set(conflicts) == {"847", "02485"}  # a district, and a commune divided in two
        assert conflicts["02485"].candidates == ("02458", "02494") and conflicts["02485"].uses == 1
        assert conflicts["847"].hint == "--assign 847=29254"
        assert _counts(s) == before
        assert tree_levels(areas.all_areas(s)) == (AreaLevel.PROVINCE, AreaLevel.DISTRICT, AreaLevel.COMMUNE,
                                                   AreaLevel.HAMLET)
    with session_scope(engine) as s, pytest.raises(ApprovalRefused, match="not a system-wide admin"):
        area_service.migrate(s, actor="lan", to="2025", assign=["847=86"], dry_run=True, now=NOW)
    with session_scope(engine) as s, pytest.raises(InvalidInput, match="99 is not a current unit"):
        area_service.migrate(s, actor="quan", to="2025", assign=["847=99"], dry_run=True, now=NOW)
    with session_scope(engine) as s, pytest.raises(InvalidInput, match="write OLD=NEW"):
        area_service.migrate(s, actor="quan", to="2025", assign=["847"], dry_run=True, now=NOW)


def test_legacy_installation_migrates_with_nothing_lost(engine) -> None:  # type: ignore[no-untyped-def]
    assign = ["847=86", "02485=02494"]
    with session_scope(engine) as s:
        before = _counts(s)
        dry = area_service.migrate(s, actor="quan", to="2025", assign=assign, dry_run=True, now=NOW)
        assert dry.dry_run and not dry.conflicts and sum(dry.changed.values()) == 0
        assert dry.uses == {"memberships": 5, "devices": 2, "programs": 2,  # one device stands in a hamlet
                            "program_orders": 0, "area_profiles": 1,
                            "emergency_templates": 1, "destinations": 1, "hamlets": 1}
        assert dry.moves["29377"] == "29374" and dry.moves["84"] == "86" and dry.moves["29377-01"] == "29377-01"
        assert _counts(s) == before  # the dry run wrote nothing
    with session_scope(engine) as s:
        report = area_service.migrate(s, actor="quan", to="2025", assign=assign, dry_run=False, now=NOW)
        assert report.written
        assert report.changed == {"memberships": 5, "devices": 1, "programs": 2, "program_orders": 0,
                                  "area_profiles": 1, "emergency_templates": 1, "destinations": 1, "hamlets": 1}
    with session_scope(engine) as s:
        after = _counts(s)
        assert after == {**before, "memberships": before["memberships"] - 1}  # an's two grants became one
        tree = areas.all_areas(s)
        assert tree_levels(tree) == (AreaLevel.PROVINCE, AreaLevel.COMMUNE, AreaLevel.HAMLET)
        assert sum(a.level is AreaLevel.COMMUNE for a in tree.values()) == 3321
        assert tree["29374"].name == "Xã Châu Thành" and tree["29374"].parent_code == "86"
        assert tree["29377-01"].parent_code == "29374"  # the hamlet follows its commune
        specs = {u.username: sorted(m.spec for m in users.memberships_of(u)) for u in users.list_users(s)}
        assert specs["lan"] == ["approver:86:commune"]  # a district grant never widens to the province
        assert specs["an"] == ["editor:29374"] and specs["sokha"] == ["translator:86:km"]
        assert specs["binh"] == ["editor:02494"]
        assert {d.hardware_id: d.area_code for d in s.scalars(select(DeviceRecord))} == {
            "hw-1": "29377-01", "hw-2": "29374"}
        assert sorted((p.area_code, p.name) for p in s.scalars(select(ProgramRecord))) == [
            ("29374", "Bản tin sáng"), ("29374", "Bản tin sáng (Xã Mỹ Chánh)")]
        assert s.get(AreaProfileRecord, "29374").quiet_hours == [{"from": "11:00", "to": "13:00"}]
        assert s.scalar(select(EmergencyTemplateRecord.area_code)) == "86"
        assert {d.name: d.area_code for d in destinations.list_destinations(s)} == {
            "htttn-tra-vinh": "86", "htttn-tw": None}  # Trà Vinh's receiver now takes Vĩnh Long's bulletins
        assert s.scalar(select(DraftRevisionRecord.area_codes)) == ["29377"]  # published history keeps its code
        with pytest.raises(NotFound, match="29377 \\(Xã Đa Lộc\\) no longer exists.*part of 29374"):
            areas.get_area(s, "29377")
        retired = areas.retired_areas(s)
        assert retired["29377"][1] == ("29374",) and "29374" in retired["84"][1] and "847" in retired
        # Bulletins approved under old codes still reach devices now in the new commune; the archive finds
        # items filed under either, and a code that is itself current stays its own unit.
        area_service.forget_cache()
        reach = area_service.with_old_codes(s, {"29374", "86"})
        assert {"29377", "29380", "847", "84"} <= reach and "848" not in reach  # Cầu Ngang went elsewhere
        assert area_service.archive_codes(s, "29374") == {"29377", "29380", "29383"}
        assert area_service.archive_codes(s, "29377") == {"29374"}
        entry = s.scalars(select(AuditRecord).where(AuditRecord.action == "areas.migrate")).one()
        assert entry.actor == "quan" and entry.detail["assigned"] == {"847": "86", "02485": "02494"}
        assert audit.verify(s)[1] == []
    with session_scope(engine) as s:
        again = area_service.migrate(s, actor="quan", to="2025", assign=[], dry_run=False, now=NOW)
        assert again.already_current and not again.written
        assert _counts(s) == after
        assert s.scalar(select(func.count()).select_from(AuditRecord).where(AuditRecord.action == "areas.migrate")) == 1
