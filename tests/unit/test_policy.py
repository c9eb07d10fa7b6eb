"""Pure rules of issue 4: memberships, the approval level policy, and the audit hash chain."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from domain.approvals import (
    Grant,
    Requirement,
    Role,
    choose_grant,
    covers,
    outstanding,
    required_approvals,
)
from domain.areas import Area, AreaLevel
from domain.audit import GENESIS_HASH, AuditEntry, entry_hash, verify_chain
from domain.errors import ApprovalRefused, InvalidInput
from domain.priority import Priority
from domain.users import (
    Membership,
    complete_membership,
    hash_password,
    needs_rehash,
    parse_membership,
    verify_password,
)

P, D, C = AreaLevel.PROVINCE, AreaLevel.DISTRICT, AreaLevel.COMMUNE
AREAS = {a.code: a for a in (
    Area("84", "Trà Vinh", P, None), Area("847", "Trà Cú", D, "84"), Area("848", "Cầu Ngang", D, "84"),
    Area("29377", "Đa Lộc", C, "847"), Area("29378", "Xã B", C, "847"), Area("29400", "Xã C", C, "848"),
    Area("64", "Gia Lai", P, None), Area("640", "Huyện G", D, "64"), Area("23000", "Xã G", C, "640"),
)}


# --- memberships -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("spec,kw,expected", [
    ("editor:29377", {}, Membership(Role.EDITOR, "29377")),
    ("editor", {"area": "847"}, Membership(Role.EDITOR, "847")),
    ("admin", {}, Membership(Role.ADMIN, None)),
    ("admin:*", {"area": "847"}, Membership(Role.ADMIN, None)),
    ("translator:84:KM", {}, Membership(Role.TRANSLATOR, "84", language="km")),
    ("translator", {"area": "84", "language": "km"}, Membership(Role.TRANSLATOR, "84", language="km")),
    ("translator:84:*", {}, Membership(Role.TRANSLATOR, "84", language="*")),
    ("approver:847", {}, Membership(Role.APPROVER, "847")),
    ("approver:847:commune", {}, Membership(Role.APPROVER, "847", level=C)),
    ("approver", {"area": "847", "level": "district"}, Membership(Role.APPROVER, "847", level=D)),
])
def test_parse_membership(spec: str, kw: dict[str, str], expected: Membership) -> None:
    assert parse_membership(spec, **kw) == expected


@pytest.mark.parametrize("spec,message", [
    ("boss:84", "unknown role 'boss'"),
    ("translator:84", "needs a language"),
    ("translator:84:xx", "unknown language 'xx'"),
    ("translator:84:vi,km", "one language"),
    ("approver:84:county", "unknown level 'county'"),
    ("editor:84:km", "only translators take a language"),
    ("editor:84:km:extra", "expected role"),
    ("", "expected role"),
])
def test_parse_membership_refuses(spec: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        parse_membership(spec)


def test_spec_round_trips() -> None:
    for spec in ("editor:29377", "admin", "translator:84:km", "approver:847:commune", "approver:*:province"):
        assert parse_membership(spec).spec == spec


def test_approver_level_defaults_to_area_and_may_not_exceed_it() -> None:
    assert complete_membership(Membership(Role.APPROVER, "847"), AREAS["847"]).level is D
    assert complete_membership(Membership(Role.APPROVER, None), None).level is P
    assert complete_membership(Membership(Role.APPROVER, "847", level=C), AREAS["847"]).level is C
    with pytest.raises(InvalidInput, match="cannot approve at province level"):
        complete_membership(Membership(Role.APPROVER, "29377", level=P), AREAS["29377"])


def test_passwords_hash_with_argon2id_and_verify() -> None:
    h = hash_password("mật khẩu dài")
    assert h.startswith("$argon2id$") and "mật" not in h
    assert verify_password(h, "mật khẩu dài")
    assert not verify_password(h, "mật khẩu dài ")
    assert not verify_password("not-a-hash", "mật khẩu dài")
    assert not needs_rehash(h)
    with pytest.raises(InvalidInput, match="at least 8"):
        hash_password("short")


# --- approval policy ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("priority,targets,expected", [
    (Priority.THUONG, ["29377"], [Requirement(C, "29377")]),
    (Priority.UU_TIEN, ["29377"], [Requirement(C, "29377")]),
    (Priority.THUONG, ["29377", "29378"], [Requirement(D, "847")]),
    (Priority.THUONG, ["847"], [Requirement(D, "847")]),
    (Priority.THUONG, ["29377", "29400"], [Requirement(P, "84")]),
    (Priority.THUONG, ["84"], [Requirement(P, "84")]),
    (Priority.THUONG, ["29377", "23000"], [Requirement(P, "64"), Requirement(P, "84")]),
    (Priority.KHAN_CAP, ["29377"], [Requirement(P, "84")]),
    (Priority.KHAN_CAP, ["29377", "23000"], [Requirement(P, "64"), Requirement(P, "84")]),
])
def test_required_levels_follow_scope_and_priority(priority: Priority, targets: list[str],
                                                   expected: list[Requirement]) -> None:
    assert sorted(required_approvals(priority, targets, AREAS)) == sorted(expected)


def test_emergency_fast_path_needs_one_approver_at_any_level() -> None:
    assert required_approvals(Priority.KHAN_CAP, ["29377"], AREAS, fast_path=True) == (Requirement(C, "29377"),)
    assert required_approvals(Priority.KHAN_CAP, ["29377", "29378"], AREAS, fast_path=True) == (
        Requirement(C, "847"),)
    assert covers(Grant(C, "29377"), Requirement(C, "29377"), AREAS)


def test_required_approvals_refuses_unknown_or_missing_areas() -> None:
    with pytest.raises(InvalidInput, match="unknown area"):
        required_approvals(Priority.THUONG, ["99999"], AREAS)
    with pytest.raises(InvalidInput, match="without target"):
        required_approvals(Priority.THUONG, [], AREAS)


@pytest.mark.parametrize("grant,requirement,ok", [
    (Grant(C, "29377"), Requirement(C, "29377"), True),
    (Grant(C, "29378"), Requirement(C, "29377"), False),  # another commune
    (Grant(D, "847"), Requirement(C, "29377"), True),  # a higher level stands in within its subtree
    (Grant(D, "848"), Requirement(C, "29377"), False),  # ... not outside it
    (Grant(C, "847"), Requirement(D, "847"), False),  # commune-level authority over a district item: no
    (Grant(C, "847"), Requirement(C, "29378"), True),
    (Grant(D, "847"), Requirement(P, "84"), False),
    (Grant(P, "84"), Requirement(P, "84"), True),
    (Grant(P, "84"), Requirement(P, "64"), False),
    (Grant(P, None), Requirement(P, "64"), True),  # system-wide
])
def test_covers(grant: Grant, requirement: Requirement, ok: bool) -> None:
    assert covers(grant, requirement, AREAS) is ok


def test_every_requirement_must_be_covered() -> None:
    reqs = required_approvals(Priority.KHAN_CAP, ["29377", "23000"], AREAS)
    assert outstanding(reqs, [Grant(P, "84")], AREAS) == (Requirement(P, "64"),)
    assert outstanding(reqs, [Grant(P, "84"), Grant(P, "64")], AREAS) == ()


def test_choose_grant_prefers_the_widest_useful_grant() -> None:
    reqs = (Requirement(P, "64"), Requirement(P, "84"))
    assert choose_grant("lan", [Grant(C, "29377"), Grant(P, "84")], reqs, AREAS) == Grant(P, "84")
    assert choose_grant("lan", [Grant(P, "84"), Grant(P, None)], reqs, AREAS) == Grant(P, None)
    with pytest.raises(ApprovalRefused, match="needs: province approver for 64"):
        choose_grant("lan", [Grant(D, "847")], reqs, AREAS)
    with pytest.raises(ApprovalRefused, match="has been given"):
        choose_grant("lan", [Grant(P, None)], (), AREAS)


# --- audit chain -------------------------------------------------------------------------------------------

def _chain(n: int) -> list[AuditEntry]:
    out, prev = [], GENESIS_HASH
    t0 = datetime(2026, 11, 24, 1, 2, 3, 456789, tzinfo=UTC)
    for i in range(1, n + 1):
        e = AuditEntry(seq=i, at=t0 + timedelta(seconds=i), actor="lan", action="package.approved",
                       entity="package", entity_id=str(i), detail={"n": i, "tên": "Đa Lộc"}, prev_hash=prev,
                       row_id=100 + i)
        e = replace(e, hash=entry_hash(e))
        out.append(e)
        prev = e.hash
    return out


def test_intact_chain_verifies() -> None:
    chain = _chain(5)
    assert verify_chain(chain, head_seq=5, head_hash=chain[-1].hash) == (5, [])
    assert verify_chain([], head_seq=0, head_hash=GENESIS_HASH) == (0, [])


def test_hash_covers_every_field() -> None:
    e = _chain(1)[0]
    for change in ({"actor": "x"}, {"action": "x"}, {"entity": "x"}, {"entity_id": "x"}, {"detail": {"n": 2}},
                   {"prev_hash": "1" * 64}, {"seq": 2}, {"at": e.at + timedelta(microseconds=1)}):
        assert entry_hash(replace(e, **change)) != e.hash, change  # type: ignore[arg-type]


def test_modified_entry_is_named() -> None:
    chain = _chain(5)
    chain[2] = replace(chain[2], detail={"n": 999})
    _, findings = verify_chain(chain, head_seq=5, head_hash=chain[-1].hash)
    assert [(f.seq, f.row_id) for f in findings] == [(3, 103)]
    assert "modified" in str(findings[0]) and "row id 103" in str(findings[0])


def test_modified_and_rehashed_entry_breaks_the_next_link() -> None:
    chain = _chain(5)
    forged = replace(chain[2], actor="mallory")
    chain[2] = replace(forged, hash=entry_hash(forged))
    _, findings = verify_chain(chain, head_seq=5, head_hash=chain[-1].hash)
    assert [f.seq for f in findings] == [4] and "does not follow" in findings[0].problem


def test_deleted_entries_are_found_in_the_middle_and_at_the_end() -> None:
    chain = _chain(6)
    head = chain[-1].hash
    _, middle = verify_chain(chain[:2] + chain[3:], head_seq=6, head_hash=head)
    assert [f.seq for f in middle] == [4] and "#3 before it are missing" in middle[0].problem
    _, tail = verify_chain(chain[:4], head_seq=6, head_hash=head)
    assert len(tail) == 1 and "#5-#6 at the end are missing" in tail[0].problem
    _, last = verify_chain(chain[:5], head_seq=6, head_hash=head)
    assert "last entry is missing" in last[0].problem
