"""Pure domain rules: validation, state machines, manifests, approvals."""

from datetime import UTC, datetime, timedelta

import pytest

from domain.approvals import ApprovalRequest, Role, check_approval, check_publishable
from domain.areas import Area, AreaLevel, is_within, validate_hierarchy
from domain.deliveries import DELIVERY_TRANSITIONS, DeliveryStatus, is_transient_http_status, transition_delivery
from domain.drafts import DraftContent, clean_text, decode_text, split_title_body, validate_content
from domain.errors import ApprovalRefused, InvalidInput, InvalidTransition, ManifestMismatch
from domain.keys import content_key, manifest_key, sha256_of_key
from domain.languages import draft_languages, parse_languages
from domain.packages import (
    PACKAGE_TRANSITIONS,
    Asset,
    AssetKind,
    PackageStatus,
    Variant,
    VariantStatus,
    build_manifest,
    transition_package,
    verify_manifest,
)
from domain.priority import Priority, parse_priority
from domain.speech import estimate_speech_seconds

BODY = "Ủy ban nhân dân xã thông báo lịch tiêm vắc xin sởi cho trẻ em từ 1 đến 5 tuổi."


def content(**kw: object) -> DraftContent:
    base: dict[str, object] = dict(title="Thông báo", body=BODY, area_codes=("29377",), languages=("vi",),
                                   priority=Priority.THUONG)
    base.update(kw)
    return DraftContent(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize("raw,expected", [("thuong", Priority.THUONG), ("Khẩn cấp", Priority.KHAN_CAP),
                                          ("uu-tien", Priority.UU_TIEN), ("emergency", Priority.KHAN_CAP)])
def test_parse_priority_accepts_codes_and_vietnamese(raw: str, expected: Priority) -> None:
    assert parse_priority(raw) is expected


def test_parse_priority_rejects_unknown() -> None:
    with pytest.raises(InvalidInput, match="unknown priority 'urgent'"):
        parse_priority("urgent")


def test_priority_rank_orders_emergency_first() -> None:
    assert sorted(Priority, key=lambda p: -p.rank) == [Priority.KHAN_CAP, Priority.UU_TIEN, Priority.THUONG]


def test_parse_languages_puts_source_first_and_dedupes() -> None:
    assert parse_languages("km, vi,km") == ("vi", "km")


def test_draft_languages_always_include_the_source_language() -> None:
    assert draft_languages("km") == ("vi", "km")
    assert draft_languages(["jra", "bdq"]) == ("vi", "jra", "bdq")
    assert parse_languages("km") == ("km",)  # plain parsing (e.g. a translator's language) adds nothing


@pytest.mark.parametrize("bad", ["xx", "vi,klingon", " , "])
def test_parse_languages_rejects_unknown_or_empty(bad: str) -> None:
    with pytest.raises(InvalidInput):
        parse_languages(bad)


def test_clean_text_normalises_to_nfc_and_strips_controls() -> None:
    decomposed = "Tie\u0302\u0301m chu\u0309ng\x00  nga\u0300y\r\n\r\n\r\nmai"
    assert clean_text(decomposed) == "Tiếm chủng ngày\n\nmai"


def test_decode_text_rejects_non_utf8_with_offset() -> None:
    with pytest.raises(InvalidInput, match="offset 4"):
        decode_text(b"abcd" + "ế".encode("cp1258", errors="ignore") + b"\xff", source="x.txt")


def test_decode_text_accepts_bom() -> None:
    assert decode_text("\ufeffXin chào".encode()) == "Xin chào"


def test_split_title_body() -> None:
    assert split_title_body("\n  Tiêu đề \n\nNội dung một.\nHai.") == ("Tiêu đề", "Nội dung một.\nHai.")


@pytest.mark.parametrize(
    "kw,message",
    [
        ({"body": "   "}, "empty"),
        ({"body": "Ngắn quá."}, "too short"),
        ({"title": ""}, "no title"),
        ({"area_codes": ("99999",)}, "unknown area"),
        ({"area_codes": ()}, "no target area"),
        ({"embargo_at": datetime(2026, 12, 5, 7, tzinfo=UTC), "expires_at": datetime(2026, 12, 5, 6, tzinfo=UTC)},
         "expires before"),
        ({"expires_at": datetime(2026, 12, 5)}, "time zone"),
    ],
)
def test_validate_content_rejects(kw: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        validate_content(content(**kw), known_areas={"29377"})


def test_validate_content_cleans_and_keeps_hash_stable() -> None:
    a = validate_content(content(title="  Thông   báo "), known_areas={"29377"})
    b = validate_content(content(), known_areas={"29377"})
    assert a.title == "Thông báo"
    assert a.content_hash() == b.content_hash()
    assert content(body=BODY + " Thêm.").content_hash() != b.content_hash()


AREAS = {
    "84": Area("84", "Tỉnh Trà Vinh", AreaLevel.PROVINCE, None),
    "847": Area("847", "Huyện Châu Thành", AreaLevel.DISTRICT, "84"),
    "29377": Area("29377", "Xã Đa Lộc", AreaLevel.COMMUNE, "847"),
}


def test_area_hierarchy_valid_and_within() -> None:
    validate_hierarchy(AREAS)
    assert is_within("29377", "84", AREAS)
    assert not is_within("84", "29377", AREAS)


@pytest.mark.parametrize(
    "bad",
    [
        Area("29378", "Xã X", AreaLevel.COMMUNE, "29377"),  # a commune under a commune
        Area("29377-01", "Ấp A", AreaLevel.HAMLET, "84"),  # a hamlet straight under a province
        Area("29377-1234", "Ấp B", AreaLevel.HAMLET, "29377"),  # hamlet number of 4 digits
        Area("29379", "Xã Y", AreaLevel.COMMUNE, "000"),  # unknown parent
        Area("123", "Huyện Z", AreaLevel.COMMUNE, "847"),  # code length does not match level
        Area("85", "Tỉnh W", AreaLevel.PROVINCE, "84"),  # province with a parent
    ],
)
def test_area_hierarchy_rejects(bad: Area) -> None:
    with pytest.raises(InvalidInput):
        validate_hierarchy({**AREAS, bad.code: bad})


def test_package_transition_table_is_enforced_for_every_pair() -> None:
    for current in PackageStatus:
        for target in PackageStatus:
            if target in PACKAGE_TRANSITIONS[current]:
                assert transition_package(current, target) is target
            else:
                with pytest.raises(InvalidTransition):
                    transition_package(current, target)


def test_delivery_transition_table_is_enforced_for_every_pair() -> None:
    for current in DeliveryStatus:
        for target in DeliveryStatus:
            if target in DELIVERY_TRANSITIONS[current]:
                assert transition_delivery(current, target) is target
            else:
                with pytest.raises(InvalidTransition, match="delivery: cannot go"):
                    transition_delivery(current, target)


def test_delivered_is_final() -> None:
    assert DELIVERY_TRANSITIONS[DeliveryStatus.DELIVERED] == frozenset()


@pytest.mark.parametrize("status,transient", [(500, True), (503, True), (429, True), (408, True), (400, False),
                                              (404, False), (422, False)])
def test_transient_http_statuses(status: int, transient: bool) -> None:
    assert is_transient_http_status(status) is transient


ASSET = Asset(AssetKind.AUDIO, content_key("a" * 64, "mp3"), "a" * 64, 10, "audio/mpeg", {"output_i": -16.0})
VARIANTS = [Variant("vi", VariantStatus.READY, (ASSET,)), Variant("km", VariantStatus.BLOCKED, (), "no MT")]


def _manifest(**kw: object):  # type: ignore[no-untyped-def]
    base: dict[str, object] = dict(
        draft_id=1, revision=1, content_hash="c" * 64, title="T", priority="thuong", areas=["29377"],
        channels=["loudspeaker"], embargo_at=None, expires_at=None, source_ref="", requesting_unit="",
        variants=VARIANTS,
    )
    base.update(kw)
    return build_manifest(**base)  # type: ignore[arg-type]


def test_manifest_hash_is_stable_and_order_independent() -> None:
    m1 = _manifest()
    m2 = _manifest(variants=list(reversed(VARIANTS)))
    assert m1.hash == m2.hash
    assert verify_manifest(m1.data, m1.hash) == m1.body


def test_manifest_hash_changes_with_any_content() -> None:
    assert _manifest().hash != _manifest(title="T2").hash
    assert _manifest().hash != _manifest(revision=2).hash


def test_verify_manifest_detects_tampering() -> None:
    m = _manifest()
    with pytest.raises(ManifestMismatch):
        verify_manifest(m.data.replace(b'"T"', b'"X"'), m.hash)


def test_keys_are_content_addressed() -> None:
    key = content_key("ab" * 32, ".MP3")
    assert key == f"objects/ab/{'ab' * 32}.mp3"
    assert sha256_of_key(key) == "ab" * 32
    assert sha256_of_key(manifest_key("cd" * 32)) == "cd" * 32
    assert sha256_of_key("uploads/x.txt") is None
    with pytest.raises(ValueError):
        content_key("not-a-hash", "mp3")


def req(**kw: object) -> ApprovalRequest:
    base: dict[str, object] = dict(
        package_status=PackageStatus.IN_REVIEW, current_manifest_hash="f" * 64, reviewed_manifest_hash=None,
        approver="lan", approver_roles=frozenset({Role.APPROVER}), authors=frozenset({"minh"}),
    )
    base.update(kw)
    return ApprovalRequest(**base)  # type: ignore[arg-type]


def test_approval_binds_to_current_manifest() -> None:
    assert check_approval(req()) == "f" * 64
    assert check_approval(req(reviewed_manifest_hash="f" * 12)) == "f" * 64


@pytest.mark.parametrize(
    "kw,error,message",
    [
        ({"approver_roles": frozenset({Role.EDITOR})}, ApprovalRefused, "approver role"),
        ({"approver": "minh", "approver_roles": frozenset({Role.APPROVER, Role.EDITOR})}, ApprovalRefused, "four-eyes"),
        ({"package_status": PackageStatus.PRODUCING}, ApprovalRefused, "not awaiting review"),
        ({"reviewed_manifest_hash": "e" * 64}, ManifestMismatch, "changed since review"),
        ({"reviewed_manifest_hash": "fff"}, InvalidInput, "12 characters"),
        ({"ready_variants": 0}, ApprovalRefused, "no language variant"),
    ],
)
def test_approval_refusals(kw: dict[str, object], error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        check_approval(req(**kw))


def test_publishable_needs_approval_of_current_manifest() -> None:
    check_publishable(status=PackageStatus.APPROVED, manifest_hash="a" * 64, approved_hashes={"a" * 64})
    with pytest.raises(ApprovalRefused, match="current manifest"):
        check_publishable(status=PackageStatus.APPROVED, manifest_hash="a" * 64, approved_hashes={"b" * 64})
    with pytest.raises(ApprovalRefused, match="only approved"):
        check_publishable(status=PackageStatus.IN_REVIEW, manifest_hash="a" * 64, approved_hashes={"a" * 64})


def test_speech_estimate_grows_with_text() -> None:
    short = estimate_speech_seconds("Xin chào bà con.")
    long = estimate_speech_seconds("Xin chào bà con. " * 10)
    assert 1.0 < short < 3.0
    assert long > 9 * short * 0.9
    assert timedelta(seconds=long) > timedelta(seconds=short)


def test_the_withdrawable_states_are_those_that_may_still_go_off_the_air() -> None:
    from domain.packages import WITHDRAWABLE, PackageStatus

    assert WITHDRAWABLE == {PackageStatus.APPROVED, PackageStatus.SCHEDULED, PackageStatus.PUBLISHED,
                            PackageStatus.CORRECTED}
    assert "published" in WITHDRAWABLE and "in_review" not in WITHDRAWABLE  # database values compare equal
