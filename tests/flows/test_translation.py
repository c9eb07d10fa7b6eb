"""People fill in what machines cannot: a translation, a recording. The package is produced again with it."""

import subprocess
from pathlib import Path

import pytest
from PIL import Image

from domain.approvals import Role
from domain.errors import ApprovalRefused, InvalidInput
from domain.users import Membership
from engines.errors import MediaError
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


def _recording(path: Path) -> Path:
    """Eight seconds of a speech-like signal (a modulated tone over noise) at a level a phone records."""
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "sine=frequency=220:duration=8",
                    "-f", "lavfi", "-i", "anoisesrc=color=pink:duration=8:amplitude=0.02",
                    "-filter_complex", "[0][1]amix=inputs=2,volume='0.3*(0.6+0.4*sin(2*PI*3*t))':eval=frame",
                    "-ar", "44100", "-ac", "1", "-c:a", "libmp3lame", str(path)], check=True)
    return path


def test_recording_replaces_the_synthetic_voice(app: Path, tmp_path: Path) -> None:  # noqa: F811
    with session() as s:
        users.add_user(s, username="phat-thanh-vien", full_name="Phát thanh viên xã", roles=[Role.EDITOR],
                       area_code="29377", password="doc-ban-tin-2026")
    draft_id = submit("vi")
    first = produce(draft_id)
    bad = tmp_path / "broken.mp3"
    bad.write_bytes(b"not audio at all" * 100)
    with session() as s, pytest.raises(MediaError):
        translation_service.submit_recording(s, object_store(), translation_service.RecordingRequest(
            package_id=first, language="vi", path=bad, uploaded_by="phat-thanh-vien"))
    assert view(first)["status"] == "in_review"  # a refused upload changes nothing
    with session() as s:
        translation_service.submit_recording(s, object_store(), translation_service.RecordingRequest(
            package_id=first, language="vi", path=_recording(tmp_path / "doc.mp3"), uploaded_by="phat-thanh-vien"))
    second = produce(draft_id)
    audio = next(a for v in view(second)["variants"] for a in v["assets"] if a["kind"] == "audio")
    assert audio["meta"]["synthetic"] is False
    assert abs(audio["meta"]["output_i"] - (-16.0)) <= 0.5  # normalised like synthetic speech
    assert 7.5 < audio["meta"]["duration_s"] < 8.5
    with session() as s:
        raw = packages.get_asset(s, package_id=second, language="vi", kind=packages.AssetKind.RAW_SPEECH)
        assert raw is not None and raw.meta["recorded_by"] == "phat-thanh-vien"
        with pytest.raises(ApprovalRefused):  # the reader's own voice: four-eyes
            users.grant(s, users.get_user(s, "phat-thanh-vien"), Membership(Role.APPROVER, "84"), actor="admin")
            approvals.approve_package(s, package_id=second, username="phat-thanh-vien")
