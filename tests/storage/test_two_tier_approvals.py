"""The approval policy through the service on today's two-tier tree (SQLite and PostgreSQL): who approves
what, emergencies, the template fast path and a province standing in, with no district anywhere.

Areas (bundled seed): Vĩnh Long 86 > Xã Châu Thành 29374, Phường Hòa Thuận 29398, and a hamlet the
installation added (29374-01); Tây Ninh 80 > Xã Châu Thành 25585.
"""

from pathlib import Path

import pytest
from sqlalchemy import Engine

from domain.areas import Area, AreaLevel
from domain.errors import ApprovalRefused, InvalidInput
from domain.priority import Priority
from domain.users import parse_membership
from services import approvals
from storage.db import make_engine, session_scope
from storage.migrate import upgrade
from storage.objects import LocalObjectStore
from storage.repositories import areas, drafts, users
from tests.storage.test_accounts import _package, _status

pytestmark = pytest.mark.integration
ACCOUNTS = {
    "lan": ["approver:29374"],  # commune approver, Xã Châu Thành (Vĩnh Long)
    "thu": ["approver:29398"],  # commune approver, Phường Hòa Thuận
    "tinh": ["approver:86"],  # province approver, Vĩnh Long
    "ninh": ["approver:80"],  # province approver, Tây Ninh
    "vu": ["approver:86:commune"],  # commune-level approvals anywhere in Vĩnh Long
    "minh": ["editor:29374"],
    "hoa": ["editor:86"],
}


@pytest.fixture
def engine(database_url: str):  # type: ignore[no-untyped-def]
    upgrade(database_url)
    eng = make_engine(database_url)
    with session_scope(eng) as s:
        areas.upsert_areas(s, areas.read_area_csv())
        areas.upsert_areas(s, {"29374-01": Area("29374-01", "Ấp Hương Phụ A", AreaLevel.HAMLET, "29374")})
        for name, specs in ACCOUNTS.items():
            users.add_user(s, username=name, full_name=name.title(), memberships=[parse_membership(x) for x in specs])
    yield eng
    eng.dispose()


@pytest.mark.parametrize("targets,priority,refused,approver", [
    (["29374"], "thuong", ["thu", "ninh"], "lan"),  # one commune: its approver
    (["29374-01"], "thuong", ["thu"], "vu"),  # a hamlet's item: a commune-level approver of its commune
    (["29374"], "uu_tien", ["ninh"], "tinh"),  # the province stands in for its commune
    (["29374", "29398"], "thuong", ["lan", "thu", "vu", "ninh"], "tinh"),  # two communes: the province
    (["29374-01"], "khan_cap", ["lan", "vu"], "tinh"),  # emergency: the province
])
def test_two_tier_levels_that_must_approve(engine: Engine, targets: list[str], priority: str, refused: list[str],
                                           approver: str) -> None:
    with session_scope(engine) as s:
        pid = _package(s, targets, Priority(priority))
        for name in refused:
            with pytest.raises(ApprovalRefused, match="no approver membership for this package"):
                approvals.approve_package(s, package_id=pid, username=name)
        approvals.approve_package(s, package_id=pid, username=approver)
        assert _status(s, pid) == "approved"


def test_no_district_approver_can_be_made_in_a_two_tier_tree(engine: Engine) -> None:
    with session_scope(engine) as s, pytest.raises(InvalidInput, match="no 'district' approval level"):
        users.add_user(s, username="huyen", full_name="Huyện", memberships=[parse_membership("approver:86:district")])


def test_template_fast_path_on_two_tiers(engine: Engine, tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path / "objects")
    with session_scope(engine) as s:
        tpl = approvals.create_template(s, name="lu", title="Cảnh báo lũ",
                                        body="Nước sông dâng cao, bà con di dời đến nơi an toàn ngay.",
                                        languages="vi,km", area_code="86", author="hoa")
        with pytest.raises(ApprovalRefused, match="province approver"):
            approvals.approve_template(s, template_id=tpl.id, username="lan")
        approvals.approve_template(s, template_id=tpl.id, username="tinh")
        with pytest.raises(InvalidInput, match="only inside area 86"):
            approvals.draft_from_template(s, store, template_id=tpl.id, area_codes=["25585"], author="minh")
        rev = approvals.draft_from_template(s, store, template_id=tpl.id, area_codes=["29374-01"], author="minh")
        fast = _package(s, [], revision_id=drafts.latest_revision_record(s, rev.draft_id).id)
        state = approvals.approval_state(s, fast)
        assert state.fast_path and [(r.level, r.area_code) for r in state.requirements] == [
            (AreaLevel.COMMUNE, "29374")]
        approvals.approve_package(s, package_id=fast, username="lan")  # one commune approval is enough
        assert _status(s, fast) == "approved"
