"""A translator fills the Khmer variant that no machine could: the package is produced again with it."""

from pathlib import Path

import pytest
from PIL import Image

from domain.approvals import Role
from domain.errors import ApprovalRefused, InvalidInput
from domain.users import Membership
from services import approvals
from services import translations as translation_service
from services.runtime import object_store, session
from storage.repositories import packages, users
from tests.flows.test_main_path import app, produce, submit, view  # noqa: F401 - fixture and helpers

pytestmark = [pytest.mark.flow, pytest.mark.integration]

KHMER_SCRIPT = "សូមជម្រាបជូនបងប្អូនប្រជាពលរដ្ឋ! ការចាក់វ៉ាក់សាំងកញ្ជ្រឹលសម្រាប់កុមារអាយុពី ១ ដល់ ៥ ឆ្នាំ។"
KHMER_BOARD = "ចាក់វ៉ាក់សាំងកញ្ជ្រឹលដោយឥតគិតថ្លៃ ថ្ងៃទី ៥-៧ ខែធ្នូ ឆ្នាំ ២០២៦ នៅស្ថានីយ៍សុខាភិបាលឃុំ។"


def test_translation_fills_the_variant_and_needs_a_new_approval(app: Path, tmp_path: Path) -> None:  # noqa: F811
    with session() as s:
        users.add_user(s, username="sokha", full_name="Thạch Sô Kha", roles=[Role.TRANSLATOR], area_code="84",
                       password="dich-khmer-2026")
    draft_id = submit("vi,km")
    first = produce(draft_id)
    assert {v["language"]: v["status"] for v in view(first)["variants"]} == {"vi": "ready", "km": "blocked"}
    with session() as s:
        assert translation_service.pending_translations(s, "sokha")[0]["package_id"] == first
        with pytest.raises(InvalidInput, match="both"):
            translation_service.submit_translation(s, object_store(), translation_service.TranslationRequest(
                package_id=first, language="km", script=KHMER_SCRIPT, board_text=" ", translator="sokha"))
        with pytest.raises(InvalidInput, match="no Vietnamese variant|no .* variant"):
            translation_service.submit_translation(s, object_store(), translation_service.TranslationRequest(
                package_id=first, language="vi", script="x", board_text="y", translator="sokha"))
        with pytest.raises(ApprovalRefused, match="may not translate"):
            translation_service.submit_translation(s, object_store(), translation_service.TranslationRequest(
                package_id=first, language="km", script=KHMER_SCRIPT, board_text=KHMER_BOARD,
                translator="demo-approver"))
        translation_service.submit_translation(s, object_store(), translation_service.TranslationRequest(
            package_id=first, language="km", script=KHMER_SCRIPT, board_text=KHMER_BOARD, translator="sokha"))
    assert view(first)["status"] == "superseded"

    second = produce(draft_id)
    assert second != first
    v = view(second)
    km = next(x for x in v["variants"] if x["language"] == "km")
    vi = next(x for x in v["variants"] if x["language"] == "vi")
    assert km["status"] == "ready" and "recording" in km["blocked_reason"]  # no Khmer voice: boards only
    kinds = sorted(a["kind"] for a in km["assets"])
    assert kinds[:2] == ["board_text", "script"] and "slide" in kinds and "audio" not in kinds
    store = object_store()
    script = next(a for a in km["assets"] if a["kind"] == "script")
    assert store.get_bytes(script["key"]).decode() == KHMER_SCRIPT and script["meta"]["translator"] == "sokha"
    slide = next(a for a in km["assets"] if a["kind"] == "slide")
    (tmp_path / "km.png").write_bytes(store.get_bytes(slide["key"]))
    assert Image.open(tmp_path / "km.png").size == (1920, 1080)
    assert [a["key"] for a in vi["assets"]] == [a["key"] for a in next(
        x for x in view(first)["variants"] if x["language"] == "vi")["assets"]]  # Vietnamese untouched
    assert v["manifest_hash"] != view(first)["manifest_hash"]

    with session() as s:
        users.grant(s, users.get_user(s, "sokha"), Membership(Role.APPROVER, "84"), actor="admin")
        with pytest.raises(ApprovalRefused, match="four-eyes|translat|wrote"):
            approvals.approve_package(s, package_id=second, username="sokha")
    with session() as s:
        approvals.approve_package(s, package_id=second, username="demo-approver")
        assert packages.get_package(s, second).status == "approved"
