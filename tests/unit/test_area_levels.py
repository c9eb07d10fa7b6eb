"""Issue 15: levels come from the area tree (two tiers since July 2025, three in a legacy tree), hamlets
as optional children, and areas found by the names people use."""

import pytest

from domain.approvals import Grant, Requirement, Role, choose_grant, covers, outstanding, required_approvals
from domain.area_history import Conversion, former_units, where_they_went
from domain.areas import (
    Area,
    AreaLevel,
    approval_levels,
    resolve_area,
    tree_levels,
    validate_hierarchy,
)
from domain.errors import ApprovalRefused, InvalidInput
from domain.priority import Priority
from domain.users import Membership, complete_membership, parse_membership

P, D, C, H = AreaLevel.PROVINCE, AreaLevel.DISTRICT, AreaLevel.COMMUNE, AreaLevel.HAMLET
# Today's units: Vĩnh Long (Trà Vinh merged in), Tây Ninh; a hamlet the installation added.
TWO_TIER = {a.code: a for a in (
    Area("86", "Tỉnh Vĩnh Long", P, None, ("vi", "km")),
    Area("29374", "Xã Châu Thành", C, "86"), Area("29386", "Xã Hòa Thuận", C, "86"),
    Area("29374-01", "Ấp Đa Lộc", H, "29374"), Area("29374-02", "Ấp Ô Chát", H, "29374"),
    Area("80", "Tỉnh Tây Ninh", P, None), Area("25585", "Xã Châu Thành", C, "80"),
)}
LEGACY = {a.code: a for a in (
    Area("84", "Tỉnh Trà Vinh", P, None), Area("847", "Huyện Châu Thành", D, "84"),
    Area("848", "Huyện Cầu Ngang", D, "84"), Area("29377", "Xã Đa Lộc", C, "847"),
    Area("29380", "Xã Song Lộc", C, "847"), Area("29400", "Xã Mỹ Long", C, "848"),
)}


def test_levels_are_read_from_the_tree() -> None:
    validate_hierarchy(TWO_TIER)
    validate_hierarchy(LEGACY)
    assert tree_levels(TWO_TIER) == (P, C, H)
    assert tree_levels(LEGACY) == (P, D, C)
    assert approval_levels(tree_levels(TWO_TIER)) == (P, C)
    assert approval_levels(tree_levels(LEGACY)) == (P, D, C)


@pytest.mark.parametrize("priority,targets,expected", [
    (Priority.THUONG, ["29374"], [Requirement(C, "29374")]),
    (Priority.UU_TIEN, ["29374-01"], [Requirement(C, "29374")]),  # a hamlet's item: its commune approves
    (Priority.THUONG, ["29374-01", "29374-02"], [Requirement(C, "29374")]),
    (Priority.THUONG, ["29374", "29386"], [Requirement(P, "86")]),  # no district in between any more
    (Priority.THUONG, ["86"], [Requirement(P, "86")]),
    (Priority.KHAN_CAP, ["29374-01"], [Requirement(P, "86")]),
    (Priority.THUONG, ["29374", "25585"], [Requirement(P, "80"), Requirement(P, "86")]),
])
def test_two_tier_requirements(priority: Priority, targets: list[str], expected: list[Requirement]) -> None:
    assert list(required_approvals(priority, targets, TWO_TIER)) == expected


@pytest.mark.parametrize("priority,targets,expected", [
    (Priority.THUONG, ["29377"], [Requirement(C, "29377")]),
    (Priority.THUONG, ["29377", "29380"], [Requirement(D, "847")]),  # a legacy tree keeps its district
    (Priority.THUONG, ["29377", "29400"], [Requirement(P, "84")]),
    (Priority.KHAN_CAP, ["29377"], [Requirement(P, "84")]),
])
def test_legacy_three_tier_requirements(priority: Priority, targets: list[str],
                                        expected: list[Requirement]) -> None:
    assert list(required_approvals(priority, targets, LEGACY)) == expected


def test_fast_path_needs_any_approver_at_the_lowest_level_of_either_tree() -> None:
    assert required_approvals(Priority.KHAN_CAP, ["29374-01"], TWO_TIER, fast_path=True) == (
        Requirement(C, "29374"),)
    assert required_approvals(Priority.KHAN_CAP, ["29377", "29380"], LEGACY, fast_path=True) == (
        Requirement(C, "847"),)


def test_a_higher_level_stands_in_and_a_lower_one_does_not() -> None:
    commune_item = Requirement(C, "29374")
    assert covers(Grant(P, "86"), commune_item, TWO_TIER)  # province stands in for its commune
    assert not covers(Grant(P, "80"), commune_item, TWO_TIER)  # another province's approver
    assert not covers(Grant(C, "29374"), Requirement(P, "86"), TWO_TIER)
    remaining = outstanding([Requirement(P, "86")], [Grant(C, "29374")], TWO_TIER)
    assert remaining == (Requirement(P, "86"),)
    with pytest.raises(ApprovalRefused, match="province approver for 86"):
        choose_grant("an", [Grant(C, "29374")], remaining, TWO_TIER)
    assert covers(Grant(D, "847"), Requirement(C, "29377"), LEGACY)


def test_district_approvers_exist_only_in_a_legacy_tree() -> None:
    two = approval_levels(tree_levels(TWO_TIER))
    with pytest.raises(InvalidInput, match="no 'district' approval level"):
        complete_membership(Membership(Role.APPROVER, "86", level=D), TWO_TIER["86"], two)
    assert complete_membership(Membership(Role.APPROVER, "86"), TWO_TIER["86"], two).level is P
    assert complete_membership(Membership(Role.APPROVER, "86", level=C), TWO_TIER["86"], two).level is C
    legacy = approval_levels(tree_levels(LEGACY))
    assert complete_membership(Membership(Role.APPROVER, "847"), LEGACY["847"], legacy).level is D
    with pytest.raises(InvalidInput, match="not hamlet 29374-01"):
        complete_membership(Membership(Role.APPROVER, "29374-01"), TWO_TIER["29374-01"], two)
    with pytest.raises(InvalidInput, match="unknown level 'hamlet'"):
        parse_membership("approver:29374:hamlet")


@pytest.mark.parametrize("query,code", [
    ("29374", "29374"),
    ("Châu Thành, Vĩnh Long", "29374"),
    ("chau thanh, vinh long", "29374"),
    ("Xã Châu Thành, Tỉnh Tây Ninh", "25585"),
    ("hoa thuan", "29386"),
    ("Xã Hòa Thuận", "29386"),
    ("vinh long", "86"),
    ("Ấp Đa Lộc", "29374-01"),
])
def test_names_with_or_without_diacritics(query: str, code: str) -> None:
    assert resolve_area(query, TWO_TIER).code == code


def test_ambiguous_and_unknown_names_list_candidates_with_their_province() -> None:
    with pytest.raises(InvalidInput) as err:
        resolve_area("Xã Châu Thành", TWO_TIER)
    message = str(err.value)
    assert "names 2 areas" in message
    assert "25585 Xã Châu Thành (Tỉnh Tây Ninh)" in message and "29374 Xã Châu Thành (Tỉnh Vĩnh Long)" in message
    with pytest.raises(InvalidInput, match="unknown area 'Xã Không Có'"):
        resolve_area("Xã Không Có", TWO_TIER)
    with pytest.raises(InvalidInput, match="give an area code or name"):
        resolve_area("  ", TWO_TIER)


def test_an_unknown_name_offers_the_names_that_begin_with_it() -> None:
    with pytest.raises(InvalidInput) as err:
        resolve_area("chau th", TWO_TIER)
    assert str(err.value) == ("unknown area 'chau th': no code or name matches; close: "
                              "25585 Xã Châu Thành (Tỉnh Tây Ninh); 29374 Xã Châu Thành (Tỉnh Vĩnh Long)")
    with pytest.raises(InvalidInput) as only_provinces:
        resolve_area("chau th", TWO_TIER, levels=[P])
    assert str(only_provinces.value) == "unknown area 'chau th': no code or name matches"


# Two Đa Lộc communes before July 2025 (Trà Vinh's, and Thanh Hóa's that went outside this tree) and Trà Vinh's
# district that was divided among several of today's communes.
FORMER = {c.old_code: c for c in (
    Conversion("84", "Tỉnh Trà Vinh", P, None, ("86",)),
    Conversion("847", "Huyện Châu Thành", D, "84", ("29374", "29386")),
    Conversion("29377", "Xã Đa Lộc", C, "847", ("29374",)),
    Conversion("38", "Tỉnh Thanh Hóa", P, None, ("38",)),
    Conversion("400", "Huyện Hậu Lộc", D, "38", ("16078",)),
    Conversion("16087", "Xã Đa Lộc", C, "400", ("16078",)),
)}


def test_old_codes_and_names_say_which_current_units_they_became() -> None:
    assert [c.old_code for c in former_units("da loc", FORMER)] == ["16087", "29377"]
    assert [c.old_code for c in former_units("Đa Lộc, Trà Vinh", FORMER)] == ["29377"]
    assert [c.old_code for c in former_units("847", FORMER)] == ["847"]
    assert former_units("Xã Không Có", FORMER) == []
    # Thanh Hóa's Đa Lộc went to a commune this tree does not hold: only Trà Vinh's is shown.
    assert where_they_went(former_units("da loc", FORMER), FORMER, TWO_TIER) == \
        "29377 Xã Đa Lộc (Tỉnh Trà Vinh) -> 29374 Xã Châu Thành (Tỉnh Vĩnh Long)"
    assert where_they_went([FORMER["847"]], FORMER, TWO_TIER) == (
        "847 Huyện Châu Thành (Tỉnh Trà Vinh) -> 29374 Xã Châu Thành (Tỉnh Vĩnh Long), "
        "29386 Xã Hòa Thuận (Tỉnh Vĩnh Long)")
    assert where_they_went([FORMER["16087"]], FORMER, TWO_TIER) == ""
