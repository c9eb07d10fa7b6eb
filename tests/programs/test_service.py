"""Programs on a real database: definitions, area profiles, per-commune planning, officer reorder."""

from datetime import UTC, date, datetime, timedelta

import pytest

from domain.approvals import Role
from domain.areas import AreaLevel
from domain.errors import Forbidden, InvalidInput, NotFound
from domain.packages import PackageStatus
from domain.priority import Priority
from domain.programs import VN_TZ
from domain.users import Membership
from services import programs
from services.runtime import session
from storage.repositories import audit, users
from storage.repositories import programs as repo
from tests.programs.conftest import MakePackage

DAY = date(2026, 11, 24)  # a Tuesday
SLOT_06 = datetime(2026, 11, 24, 6, 0, tzinfo=VN_TZ)


def test_programs_are_validated_and_saved_idempotently(home) -> None:  # type: ignore[no-untyped-def]
    with session() as s:
        p = programs.save_program(s, area_code="842", name="Bản tin  sáng", at="6:00", days="t2-t6", actor="op")
        again = programs.save_program(s, area_code="842", name="Bản tin sáng", at="06:00", days="weekdays",
                                      actor="op")
        assert again.id == p.id and p.weekdays == "01234" and p.at == "06:00" and p.max_s == 900
        assert [e.action for e in audit.entries(s, entity="program", entity_id=p.id)] == ["program.created"]
        with pytest.raises(NotFound):
            programs.save_program(s, area_code="99999", name="x", at="06:00", actor="op")
        with pytest.raises(InvalidInput, match="day"):
            programs.save_program(s, area_code="842", name="x", at="06:00", days="someday", actor="op")
        programs.set_area_profile(s, area_code="84", quiet_hours=[{"from": "21:30", "to": "05:00"}], actor="op")
        with pytest.raises(InvalidInput, match="quiet hours"):
            programs.save_program(s, area_code="29236", name="Tối", at="21:00", max_minutes=45, actor="op")


def test_area_profile_comes_from_the_nearest_area_per_part(home) -> None:  # type: ignore[no-untyped-def]
    with session() as s:
        programs.set_area_profile(s, area_code="84", quiet_hours=[{"from": "22:00", "to": "05:00"}], actor="op")
        programs.set_area_profile(s, area_code="29236", volume_profile=[{"from": "05:00", "to": "22:00",
                                                                          "percent": 70}], actor="op")
        assert programs.area_profile(s, "29236") == ([{"from": "22:00", "to": "05:00"}],
                                                     [{"from": "05:00", "to": "22:00", "percent": 70}])
        assert programs.area_profile(s, "29239") == ([{"from": "22:00", "to": "05:00"}], [])
        assert programs.area_profile(s, "20194") == ([], [])
        with pytest.raises(InvalidInput, match="overlaps"):
            programs.set_area_profile(s, area_code="842", quiet_hours=[{"from": "22:00", "to": "05:00"},
                                                                       {"from": "23:00", "to": "23:30"}], actor="op")


def test_plan_builds_per_commune_variants_with_conflicts_and_languages(
        home, make_package: MakePackage) -> None:  # type: ignore[no-untyped-def]
    province = make_package(title="Phòng chống bão", areas_=("84",), audio={"vi": 90.0, "km": 95.0},
                            priority=Priority.UU_TIEN)
    ward1 = make_package(title="Lịch tiêm chủng Phường 1", areas_=("29239",), audio={"vi": 60.0})
    late = make_package(title="Tin sau giờ phát", areas_=("842",), audio={"vi": 30.0},
                        embargo_at=SLOT_06.astimezone(UTC) + timedelta(hours=1), status=PackageStatus.SCHEDULED)
    make_package(title="Đà Nẵng", areas_=("48",), audio={"vi": 30.0})
    withdrawn = make_package(title="Đã rút", areas_=("84",), audio={"vi": 30.0}, status=PackageStatus.WITHDRAWN)
    with session() as s:
        district = programs.save_program(s, area_code="842", name="Bản tin sáng", at="06:00", actor="op")
        own = programs.save_program(s, area_code="29236", name="Bản tin Phường 4", at="06:05", actor="op")
        plans = programs.plan_day(s, DAY)
    by = {(p.area_code, p.program_id, p.language): p for p in plans}
    # Phường 1 hears the district programme with its own item; Phường 4's own programme overrides it.
    p1 = by[("29239", district.id, "vi")]
    assert [i.package_id for i in p1.selection.items] == [province, ward1]
    assert {x.package_id: x.reason.value for x in p1.selection.left_out} == {late: "embargoed"}
    assert withdrawn not in {x.package_id for x in p1.selection.left_out}
    assert by[("29236", district.id, "vi")].selection is None
    assert "nearer" in by[("29236", district.id, "vi")].skipped_reason
    p4 = by[("29236", own.id, "vi")]
    assert [i.package_id for i in p4.selection.items] == [province]
    # Trà Vinh speaks Khmer too: the Khmer edition has only what has Khmer audio.
    km = by[("29239", district.id, "km")]
    assert [i.package_id for i in km.selection.items] == [province]
    assert {x.package_id for x in km.selection.left_out} == {ward1, late}
    assert p1.slot.starts_at == SLOT_06.astimezone(UTC) and "Phường 1" not in p1.intro_text
    assert "Thành phố Trà Vinh" in p1.intro_text and "ngày 24 tháng 11" in p1.intro_text
    # The area filter plans one commune only.
    with session() as s:
        only = programs.plan_day(s, DAY, area_code="29239")
    assert {p.area_code for p in only} == {"29239"}


def test_officer_reorders_and_skips_only_normal_items(home, make_package: MakePackage) -> None:  # type: ignore[no-untyped-def]
    a = make_package(title="A", areas_=("842",), audio={"vi": 30.0})
    b = make_package(title="B", areas_=("842",), audio={"vi": 30.0})
    c = make_package(title="C", areas_=("29239",), audio={"vi": 30.0})
    urgent = make_package(title="U", areas_=("84",), audio={"vi": 30.0}, priority=Priority.UU_TIEN)
    with session() as s:
        prog = programs.save_program(s, area_code="29239", name="Chiều", at="17:00", languages="vi", actor="op")
        users.add_user(s, username="officer", full_name="Cán bộ Phường 1",
                       memberships=[Membership(Role.APPROVER, "29239", level=AreaLevel.COMMUNE)])
        plan = programs.plan_day(s, DAY)[0]
        assert [i.package_id for i in plan.selection.items] == [urgent, a, b, c]
        programs.reorder(s, program_id=prog.id, day=DAY, area_code="29239", order=[c, a], skipped=[b],
                         actor="officer")
        plan = programs.plan_day(s, DAY)[0]
        assert [i.package_id for i in plan.selection.items] == [urgent, c, a]
        assert plan.selection.left_out[0].package_id == b and plan.selection.left_out[0].reason == "skipped_by_officer"
        with pytest.raises(InvalidInput, match="Circular 39"):
            programs.reorder(s, program_id=prog.id, day=DAY, area_code="29239", order=[], skipped=[urgent],
                             actor="officer")
        with pytest.raises(InvalidInput, match="not an approved package"):
            programs.reorder(s, program_id=prog.id, day=DAY, area_code="29239", order=[999], actor="officer")
        with pytest.raises(Forbidden, match="may not do area.configure in area 29236"):
            programs.reorder(s, program_id=prog.id, day=DAY, area_code="29236", order=[a], actor="officer")
        with pytest.raises(InvalidInput, match="does not cover"):
            programs.reorder(s, program_id=prog.id, day=DAY, area_code="29236", order=[a], actor="op")
        assert [e.action for e in audit.entries(s, entity="program", entity_id=prog.id)][-1] == "program.reordered"


def _plan_run_entries() -> list[dict[str, object]]:
    with session() as s:
        return [dict(e.detail) for e in audit.entries(s, entity="program", entity_id="*") if e.action == "flow.program"]


def test_plan_builds_saves_what_will_not_air_and_skips_unchanged_published_editions(
        home, make_package: MakePackage) -> None:  # type: ignore[no-untyped-def]
    a = make_package(title="A", areas_=("842",), audio={"vi": 30.0})
    start, end = datetime(2026, 11, 23, 17, 0, tzinfo=UTC), datetime(2026, 11, 24, 17, 0, tzinfo=UTC)
    with session() as s:
        ward = programs.save_program(s, area_code="29239", name="Chiều", at="17:00", languages="vi", actor="op")
        danang = programs.save_program(s, area_code="20194", name="Sáng", at="06:00", languages="vi", actor="op")
        jobs = programs.plan_builds(s, start=start, end=end, area_code=None, extra_inputs={"frame_version": 2},
                                    flow_run_id="run-1")
        assert [(j.program_id, j.area_code, j.language, j.slot_date, j.starts_at) for j in jobs] == [
            (ward.id, "29239", "vi", "2026-11-24", "2026-11-24T10:00:00+00:00")]
        assert [i["package_id"] for i in jobs[0].items] == [a]
        empty = repo.get_edition(s, danang.id, "2026-11-24", "20194", "vi")
        assert empty is not None and (empty.status, empty.items) == ("empty", [])
    assert [(d["planned"], d["to_build"], d["unchanged"], d["flow_run_id"]) for d in _plan_run_entries()] == [
        (2, 1, 0, "run-1")]
    with session() as s:  # built and published from these inputs: the next run leaves it alone
        repo.save_edition(s, program_id=ward.id, slot_date="2026-11-24", area_code="29239", language="vi",
                          starts_at=datetime(2026, 11, 24, 10, 0, tzinfo=UTC), status="published", actor="system",
                          inputs_hash=jobs[0].inputs_hash, manifest_hash="m" * 64, error="")
        assert programs.plan_builds(s, start=start, end=end, area_code=None, extra_inputs={"frame_version": 2},
                                    flow_run_id="run-2") == []
        # a new frame version changes the inputs: rebuilt
        again = programs.plan_builds(s, start=start, end=end, area_code=None, extra_inputs={"frame_version": 3},
                                     flow_run_id="run-3")
        assert [j.program_id for j in again] == [ward.id] and again[0].inputs_hash != jobs[0].inputs_hash
    assert [(d["unchanged"], d["to_build"], d["flow_run_id"]) for d in _plan_run_entries()][1:] == [
        (1, 0, "run-2"), (0, 1, "run-3")]


def test_a_failed_build_keeps_the_published_edition_or_marks_the_edition_failed(
        home, make_package: MakePackage) -> None:  # type: ignore[no-untyped-def]
    make_package(title="A", areas_=("29239",), audio={"vi": 30.0})
    start, end = datetime(2026, 11, 23, 17, 0, tzinfo=UTC), datetime(2026, 11, 24, 17, 0, tzinfo=UTC)
    with session() as s:
        prog = programs.save_program(s, area_code="29239", name="Chiều", at="17:00", languages="vi", actor="op")
        [job] = programs.plan_builds(s, start=start, end=end, area_code=None, extra_inputs={}, flow_run_id="r")
        assert programs.record_build_failure(s, job, "ffmpeg exited 1") is None
        failed = repo.get_edition(s, prog.id, "2026-11-24", "29239", "vi")
        assert failed is not None and (failed.status, failed.error) == ("failed", "ffmpeg exited 1")
        repo.save_edition(s, program_id=prog.id, slot_date="2026-11-24", area_code="29239", language="vi",
                          starts_at=datetime(2026, 11, 24, 10, 0, tzinfo=UTC), status="published", actor="system",
                          inputs_hash="old", manifest_hash="k" * 64, error="")
        assert programs.record_build_failure(s, job, "x" * 3000) == "k" * 64
        kept = repo.get_edition(s, prog.id, "2026-11-24", "29239", "vi")
        assert kept is not None and (kept.status, kept.manifest_hash, len(kept.error)) == ("published", "k" * 64, 2000)
        [entry] = [e for e in audit.entries(s, entity="program", entity_id=prog.id)
                   if e.action == "program.edition.build_failed"]
        assert (entry.detail["kept"], len(entry.detail["error"]), entry.detail["area_code"]) == ("k" * 64, 500, "29239")
