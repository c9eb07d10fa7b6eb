"""Accounts, permissions and the approval level policy on SQLite and PostgreSQL.

Areas (bundled seed): Trà Vinh 84 > Châu Thành 847 > Đa Lộc 29377, Mỹ Chánh 29380; Cầu Ngang 848 >
29416; Gia Lai 64 > Pleiku 622 > 23557.
"""

import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from domain.approvals import Role
from domain.areas import AreaLevel
from domain.drafts import DraftContent
from domain.errors import ApprovalRefused, InvalidInput, NotFound
from domain.packages import PackageStatus, VariantStatus
from domain.priority import Priority
from domain.users import Membership, parse_membership
from services import approvals, auth
from storage.db import make_engine, session_scope
from storage.migrate import upgrade
from storage.models import UserRecord, VariantRecord
from storage.objects import LocalObjectStore
from storage.repositories import areas, audit, drafts, packages, users
from tests.legacy_areas import insert_legacy_areas

pytestmark = pytest.mark.integration

PASSWORD = "mật-khẩu-đủ-dài"
ACCOUNTS = {
    "lan": ["approver:29377"],  # commune approver, Đa Lộc
    "my": ["approver:29380"],  # commune approver, Mỹ Chánh
    "binh": ["approver:847"],  # district approver, Châu Thành
    "cuong": ["approver:84"],  # province approver, Trà Vinh
    "dung": ["approver:64"],  # province approver, Gia Lai
    "minh": ["editor:29377"],
    "hoa": ["editor:84", "approver:84"],  # a province editor who also approves
    "sokha": ["translator:84:km"],
    "root": ["admin"],
}


@pytest.fixture
def engine(database_url: str):  # type: ignore[no-untyped-def]
    upgrade(database_url)
    eng = make_engine(database_url)
    with session_scope(eng) as s:
        areas.upsert_areas(s, areas.read_area_csv(seed=areas.LEGACY_SEED))
        for name, specs in ACCOUNTS.items():  # one password only: argon2 is slow on purpose
            users.add_user(s, username=name, full_name=name.title(), password=PASSWORD if name == "lan" else None,
                           memberships=[parse_membership(x) for x in specs])
    yield eng
    eng.dispose()


def _user(s: Session, name: str) -> UserRecord:
    return users.get_user(s, name)


# --- accounts ----------------------------------------------------------------------------------------------

def test_add_user_stores_memberships_and_is_idempotent(engine: Engine) -> None:
    with session_scope(engine) as s:
        u = users.add_user(s, username="an", full_name="An", roles=[Role.APPROVER, Role.EDITOR], area_code="847")
        assert sorted(m.spec for m in users.memberships_of(u)) == ["approver:847:district", "editor:847"]
        assert u.roles == ["approver", "editor"] and u.password_hash is None
        again = users.add_user(s, username="an", full_name="An", roles=[Role.EDITOR, Role.APPROVER], area_code="847")
        assert again.id == u.id
        with pytest.raises(InvalidInput, match="other details"):
            users.add_user(s, username="an", full_name="An", roles=[Role.EDITOR], area_code="847")
        with pytest.raises(InvalidInput, match="other details"):
            users.add_user(s, username="lan", full_name="Lan", password="another-password",
                           memberships=[parse_membership("approver:29377")])
        with pytest.raises(NotFound, match="unknown area"):
            users.add_user(s, username="x", full_name="X", memberships=[parse_membership("editor:99999")])
        with pytest.raises(InvalidInput, match="cannot approve at province"):
            users.add_user(s, username="x", full_name="X", memberships=[parse_membership("approver:29377:province")])
        with pytest.raises(InvalidInput, match="at least one role"):
            users.add_user(s, username="x", full_name="X")
        assert [e.action for e in audit.entries(s, entity="user", entity_id="an")] == ["user.created"]


def test_grant_revoke_and_duplicate_memberships(engine: Engine) -> None:
    with session_scope(engine) as s:
        minh = _user(s, "minh")
        assert users.grant(s, minh, Membership(Role.TRANSLATOR, "29377", language="km"), actor="root")
        assert not users.grant(s, minh, Membership(Role.TRANSLATOR, "29377", language="km"), actor="root")
        users.revoke(s, minh, Membership(Role.EDITOR, "29377"), actor="root")
        assert [m.spec for m in users.memberships_of(minh)] == ["translator:29377:km"]
        with pytest.raises(NotFound, match="no membership"):
            users.revoke(s, minh, Membership(Role.EDITOR, "29377"), actor="root")
    with engine.connect() as conn, pytest.raises(Exception, match="(?i)unique"):
        uid = conn.execute(text("SELECT id FROM users WHERE username = 'minh'")).scalar_one()
        for _ in range(2):  # the database refuses duplicates too, NULL columns included
            conn.execute(text("INSERT INTO memberships (user_id, role, created_at) VALUES (:u, 'admin', :t)"),
                         {"u": uid, "t": datetime.now(UTC)})


def test_authenticate(engine: Engine) -> None:
    with session_scope(engine) as s:
        assert auth.authenticate(s, "lan", PASSWORD) is not None
        assert auth.authenticate(s, " lan ", PASSWORD) is not None
        assert auth.authenticate(s, "lan", PASSWORD + "x") is None
        assert auth.authenticate(s, "nobody", PASSWORD) is None
        users.add_user(s, username="svc", full_name="Service", roles=[Role.EDITOR])  # no password
        assert auth.authenticate(s, "svc", "") is None
        users.add_user(s, username="svc", full_name="Service", roles=[Role.EDITOR], password=PASSWORD)
        assert auth.authenticate(s, "svc", PASSWORD) is not None  # re-seeding gave it its first password
        users.set_active(s, _user(s, "lan"), False, actor="root")
    with session_scope(engine) as s:
        assert auth.authenticate(s, "lan", PASSWORD) is None
        with pytest.raises(NotFound, match="disabled"):
            users.get_user(s, "lan")
        assert [e.action for e in audit.entries(s, entity="user", entity_id="lan")][-1] == "user.disabled"


CAN_MATRIX = [  # (user, action, target areas, language, allowed)
    ("minh", "draft.create", ["29377"], None, True),
    ("minh", "draft.create", ["29377", "29380"], None, False),  # acting needs every target
    ("minh", "draft.view", ["29377", "29380"], None, True),  # seeing needs any
    ("minh", "draft.view", ["29380"], None, False),
    ("minh", "package.approve", ["29377"], None, False),
    ("minh", "variant.edit", ["29377"], "km", True),  # editors may attach recordings in any language
    ("sokha", "variant.edit", ["29377"], "km", True),
    ("sokha", "variant.edit", ["29377"], "vi", False),
    ("sokha", "variant.edit", ["23557"], "km", False),
    ("sokha", "variant.edit", [], None, False),  # no areas: system-wide authority, which a scoped one is not
    ("sokha", "draft.create", ["29377"], None, False),
    ("lan", "package.approve", ["29377"], None, True),
    ("lan", "package.approve", ["29380"], None, False),
    ("binh", "package.approve", ["29377", "29380"], None, True),
    ("binh", "package.view", ["29416"], None, False),
    ("cuong", "package.approve", ["29416", "29377"], None, True),
    ("cuong", "package.approve", ["23557"], None, False),
    ("cuong", "admin", [], None, False),
    ("root", "admin", [], None, True),
    ("root", "draft.create", ["23557"], None, True),
    ("root", "package.approve", ["23557"], None, False),  # admins manage accounts; they do not approve
    ("lan", "package.approve", ["99999"], None, False),
]


def test_can(engine: Engine) -> None:
    with session_scope(engine) as s:
        wrong = [(name, action, codes, lang, allowed) for name, action, codes, lang, allowed in CAN_MATRIX
                 if auth.can(s, _user(s, name), action, area_codes=codes, language=lang) is not allowed]
    assert wrong == []  # each row: the expected answer it did not get


def test_can_denies_disabled_users_and_unknown_actions(engine: Engine) -> None:
    with session_scope(engine) as s:
        lan = _user(s, "lan")
        with pytest.raises(ValueError, match="unknown action"):
            auth.can(s, lan, "package.publish")
        users.set_active(s, lan, False, actor="root")
        assert not auth.can(s, lan, "package.approve", area_codes=["29377"])
        assert auth.visible_area_codes(s, lan) == set()


def test_visible_area_codes(engine: Engine) -> None:
    with session_scope(engine) as s:
        assert auth.visible_area_codes(s, _user(s, "lan")) == {"29377"}
        district = auth.visible_area_codes(s, _user(s, "binh"))
        assert district is not None and {"847", "29377", "29380"} <= district and "29416" not in district
        province = auth.visible_area_codes(s, _user(s, "cuong"))
        assert province is not None and {"84", "848", "29416"} <= province and "23557" not in province
        assert auth.visible_area_codes(s, _user(s, "root")) is None


# --- approval policy through the service -------------------------------------------------------------------

def _package(s: Session, targets: list[str], priority: Priority = Priority.THUONG, author: str = "minh",
             manifest: str = "a" * 64, revision_id: int | None = None) -> int:
    if revision_id is None:
        content = DraftContent(title="Thông báo", body="Nội dung thông báo đủ dài để kiểm tra.",
                               area_codes=tuple(targets), languages=("vi",), priority=priority)
        rev = drafts.create_draft(s, content=content, author=author)
        revision_id = drafts.latest_revision_record(s, rev.draft_id).id
    draft_id = drafts.revision_by_id(s, revision_id).draft_id
    pkg = packages.create_package(s, draft_id=draft_id, revision_id=revision_id, actor="system")
    packages.set_variant(s, package_id=pkg.id, language="vi", status=VariantStatus.READY)
    pkg.manifest_hash = manifest
    packages.set_status(s, pkg, PackageStatus.IN_REVIEW, actor="system")
    return pkg.id


def _status(s: Session, package_id: int) -> str:
    return packages.get_package(s, package_id).status


@pytest.mark.parametrize("targets,priority,refused,approver", [
    (["29377"], Priority.THUONG, ["my"], "lan"),  # commune item: that commune's approver
    (["29377"], Priority.UU_TIEN, ["my"], "binh"),  # ... or a higher level above it
    (["29377", "29380"], Priority.THUONG, ["lan", "my"], "binh"),  # two communes: the district
    (["29377", "29416"], Priority.THUONG, ["lan", "binh"], "cuong"),  # two districts: the province
    (["29377"], Priority.KHAN_CAP, ["lan", "binh", "dung"], "cuong"),  # emergency: the province
])
def test_levels_that_must_approve(engine: Engine, targets: list[str], priority: Priority, refused: list[str],
                                  approver: str) -> None:
    with session_scope(engine) as s:
        pid = _package(s, targets, priority)
        for name in refused:
            with pytest.raises(ApprovalRefused, match="no approver membership for this package"):
                approvals.approve_package(s, package_id=pid, username=name)
        rec = approvals.approve_package(s, package_id=pid, username=approver)
        assert _status(s, pid) == "approved"
        assert rec.level is not None and rec.manifest_hash == "a" * 64


def test_every_province_must_approve_the_same_manifest(engine: Engine) -> None:
    with session_scope(engine) as s:
        pid = _package(s, ["29377", "23557"], Priority.KHAN_CAP)
        approvals.approve_package(s, package_id=pid, username="cuong")
        state = approvals.approval_state(s, pid)
        assert _status(s, pid) == "in_review" and [r.area_code for r in state.remaining] == ["64"]
        with pytest.raises(ApprovalRefused, match="already approved"):
            approvals.approve_package(s, package_id=pid, username="cuong")
        # The package changes (new manifest): Trà Vinh's approval no longer counts.
        packages.get_package(s, pid).manifest_hash = "b" * 64
        approvals.approve_package(s, package_id=pid, username="dung")
        assert _status(s, pid) == "in_review"
        assert [r.area_code for r in approvals.approval_state(s, pid).remaining] == ["84"]
        approvals.approve_package(s, package_id=pid, username="cuong", reviewed_hash="b" * 12)
        assert _status(s, pid) == "approved"
        assert approvals.approval_state(s, pid).approved_by == ("dung", "cuong")


def test_four_eyes_author_and_translator(engine: Engine) -> None:
    with session_scope(engine) as s:
        pid = _package(s, ["29377"], author="hoa")
        with pytest.raises(ApprovalRefused, match="four-eyes"):
            approvals.approve_package(s, package_id=pid, username="hoa")
        pid2 = _package(s, ["29377"], author="minh")
        s.query(VariantRecord).filter_by(package_id=pid2).one().translated_by = "cuong"
        with pytest.raises(ApprovalRefused, match="four-eyes"):
            approvals.approve_package(s, package_id=pid2, username="cuong")
        assert approvals.approval_refusal(s, package_id=pid2, username="cuong") is not None
        assert approvals.approval_refusal(s, package_id=pid2, username="lan") is None
        # An earlier revision's author counts too: their words may have survived.
        rev = drafts.latest_revision(s, packages.get_package(s, pid2).draft_id)
        drafts.add_revision(s, draft_id=rev.draft_id, content=replace(rev.content, title="Sửa"), author="binh")
        new_rev = drafts.latest_revision_record(s, rev.draft_id).id
        pid3 = _package(s, ["29377"], revision_id=new_rev)
        with pytest.raises(ApprovalRefused, match="four-eyes"):
            approvals.approve_package(s, package_id=pid3, username="binh")


def test_reject_needs_authority_and_a_reason(engine: Engine) -> None:
    with session_scope(engine) as s:
        pid = _package(s, ["29377"])
        with pytest.raises(InvalidInput, match="reason"):
            approvals.reject_package(s, package_id=pid, username="lan", reason=" ")
        with pytest.raises(ApprovalRefused, match="no approver membership"):
            approvals.reject_package(s, package_id=pid, username="my", reason="Sai giờ")
        rec = approvals.reject_package(s, package_id=pid, username="binh", reason="Sai giờ")
        assert (rec.reason, rec.level, _status(s, pid)) == ("Sai giờ", "district", "rejected")


def test_emergency_template_fast_path(engine: Engine, tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path / "objects")
    with session_scope(engine) as s:
        tpl = approvals.create_template(s, name="lu-lut", title="Cảnh báo lũ",
                                        body="Nước sông dâng cao, bà con di dời đến nơi an toàn ngay.",
                                        languages="vi,km", area_code="84", author="hoa")
        with pytest.raises(ApprovalRefused, match="not approved"):
            approvals.draft_from_template(s, store, template_id=tpl.id, area_codes=["29377"], author="minh")
        with pytest.raises(ApprovalRefused, match="four-eyes"):
            approvals.approve_template(s, template_id=tpl.id, username="hoa")
        with pytest.raises(ApprovalRefused, match="province approver"):
            approvals.approve_template(s, template_id=tpl.id, username="binh")
        approvals.approve_template(s, template_id=tpl.id, username="cuong")
        with pytest.raises(InvalidInput, match="only inside area 84"):
            approvals.draft_from_template(s, store, template_id=tpl.id, area_codes=["23557"], author="root")

        rev = approvals.draft_from_template(s, store, template_id=tpl.id, area_codes=["29377"], author="minh")
        assert rev.content.priority is Priority.KHAN_CAP and rev.content.title == "Cảnh báo lũ"
        rev_id = drafts.latest_revision_record(s, rev.draft_id).id
        fast = _package(s, [], revision_id=rev_id)
        state = approvals.approval_state(s, fast)
        assert state.fast_path and [(r.level, r.area_code) for r in state.requirements] == [
            (AreaLevel.COMMUNE, "29377")]
        approvals.approve_package(s, package_id=fast, username="lan")  # one commune approval is enough
        assert _status(s, fast) == "approved"

        # Edited after leaving the template: the full emergency approval (province) applies again.
        drafts.add_revision(s, draft_id=rev.draft_id, content=replace(rev.content, body=rev.content.body + " Gấp."),
                            author="minh")
        edited = _package(s, [], revision_id=drafts.latest_revision_record(s, rev.draft_id).id, manifest="c" * 64)
        assert not approvals.approval_state(s, edited).fast_path
        with pytest.raises(ApprovalRefused, match="province approver for 84"):
            approvals.approve_package(s, package_id=edited, username="lan")


def test_a_retired_template_can_no_longer_be_used_and_its_drafts_lose_the_fast_path(engine: Engine,
                                                                                    tmp_path: Path) -> None:
    from domain.errors import Forbidden

    store = LocalObjectStore(tmp_path / "objects")
    with session_scope(engine) as s:
        tpl = approvals.create_template(s, name="chay-rung", title="Cảnh báo cháy rừng",
                                        body="Cấp dự báo cháy rừng cấp V, bà con không đốt nương rẫy.",
                                        languages="vi", area_code="84", author="hoa")
        approvals.approve_template(s, template_id=tpl.id, username="cuong")
        rev = approvals.draft_from_template(s, store, template_id=tpl.id, area_codes=["29377"], author="minh")
        pending = _package(s, [], revision_id=drafts.latest_revision_record(s, rev.draft_id).id)
        assert approvals.approval_state(s, pending).fast_path
        with pytest.raises(Forbidden, match="province approver or an admin of area 84"):
            approvals.retire_template(s, template_id=tpl.id, username="lan", reason="Hết mùa khô")  # commune level
        with pytest.raises(Forbidden):
            approvals.retire_template(s, template_id=tpl.id, username="minh", reason="Hết mùa khô")  # an editor
        with pytest.raises(InvalidInput, match="needs a reason"):
            approvals.retire_template(s, template_id=tpl.id, username="cuong", reason="  ")
        retired_at = datetime(2026, 12, 7, 9, 30, tzinfo=UTC)
        approvals.retire_template(s, template_id=tpl.id, username="cuong", reason="Hết mùa khô", now=retired_at)
        assert tpl.retired_at == retired_at
        with pytest.raises(ApprovalRefused, match="not approved for use"):
            approvals.draft_from_template(s, store, template_id=tpl.id, area_codes=["29377"], author="minh")
        with pytest.raises(ApprovalRefused, match="is retired"):
            approvals.approve_template(s, template_id=tpl.id, username="dung")
        with pytest.raises(InvalidInput, match="retired already"):
            approvals.retire_template(s, template_id=tpl.id, username="root", reason="Lần nữa")
        # A package made from it before, not approved yet, now needs the full emergency approval (province).
        assert not approvals.approval_state(s, pending).fast_path
        with pytest.raises(ApprovalRefused, match="province approver for 84"):
            approvals.approve_package(s, package_id=pending, username="lan")
        (entry,) = [e for e in audit.entries(s, entity="template", entity_id=tpl.id) if e.action == "template.retired"]
        assert (entry.actor, entry.detail["reason"]) == ("cuong", "Hết mùa khô")


# --- migration from 0001 -----------------------------------------------------------------------------------

def test_migration_moves_roles_into_memberships_and_chains_old_audit_rows(database_url: str) -> None:
    upgrade(database_url, "0001")
    eng = make_engine(database_url)
    now = datetime.now(UTC)
    with eng.begin() as conn:
        insert_legacy_areas(conn)
        conn.execute(text("INSERT INTO users (username, full_name, roles, area_code, is_demo, active, created_at) "
                          "VALUES ('old-approver', 'A', :r1, '847', false, true, :t), "
                          "('old-editor', 'E', :r2, NULL, true, true, :t)"),
                     {"r1": json.dumps(["approver", "translator"]), "r2": json.dumps(["editor"]), "t": now})
        for i in range(3):
            conn.execute(text("INSERT INTO audit_log (at, actor, action, entity, entity_id, detail) "
                              "VALUES (:t, 'system', 'package.created', 'package', :i, :d)"),
                         {"t": now, "i": str(i), "d": json.dumps({"draft_id": i, "tên": "Đa Lộc"})})
    upgrade(database_url)
    try:
        with session_scope(eng) as s:
            approver = users.get_user(s, "old-approver")
            assert sorted(m.spec for m in users.memberships_of(approver)) == [
                "approver:847:district", "translator:847:*"]
            assert [m.spec for m in users.memberships_of(users.get_user(s, "old-editor"))] == ["editor"]
            assert users.get_user(s, "old-editor").is_demo
            assert audit.verify(s) == (3, [])
            audit.record(s, actor="system", action="after", entity="x", entity_id=1)
        with session_scope(eng) as s:
            assert audit.verify(s) == (4, [])
    finally:
        eng.dispose()
