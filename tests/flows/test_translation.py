"""People fill in what machines cannot: a translation, a recording. The package is produced again with it."""

import io
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
import zxingcpp
from PIL import Image

from domain.approvals import Role
from domain.errors import ApprovalRefused, InvalidInput
from domain.users import Membership
from engines import slides
from engines.registry import tree_sha256
from services import approvals
from services import drafts as draft_service
from services import translations as translation_service
from services import variant_edits as edits
from services.runtime import object_store, session
from settings import get_settings
from storage.repositories import audit, packages, translations, users
from tests.flows.test_main_path import app, produce, submit, view  # noqa: F401 - fixture and helpers
from tests.translate import tiny_models
from tests.translate.tiny_models import require_ml

pytestmark = [pytest.mark.flow, pytest.mark.integration]

KHMER_SCRIPT = "សូមជម្រាបជូនបងប្អូនប្រជាពលរដ្ឋ! ការចាក់វ៉ាក់សាំងកញ្ជ្រឹលសម្រាប់កុមារអាយុពី ១ ដល់ ៥ ឆ្នាំ។"
KHMER_BOARD = "ចាក់វ៉ាក់សាំងកញ្ជ្រឹលដោយឥតគិតថ្លៃ ថ្ងៃទី ៥-៧ ខែធ្នូ ឆ្នាំ ២០២៦ នៅស្ថានីយ៍សុខាភិបាលឃុំ។"
KHMER_TITLE = "ការចាក់វ៉ាក់សាំងកញ្ជ្រឹល"  # "Measles vaccination"


def title_ink(png: Path) -> int:
    """Pixels of the slide's yellow title ink between the priority band and the footer (the body is white)."""
    a = np.asarray(Image.open(png).convert("RGB")).astype(np.int16)[slides.BAND_H: slides.HEIGHT - slides.FOOTER_H]
    return int((((a[..., 0] - 16) / 239 > 0.5) & (a[..., 1] > 150) & (a[..., 2] < 100)).sum())


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
        for bad in (KHMER_TITLE + "\n" + KHMER_TITLE, "ក" * 201):
            with pytest.raises(InvalidInput, match="one line of at most 200 characters"):
                translation_service.submit_translation(s, object_store(), translation_service.TranslationRequest(
                    package_id=first, language="km", script=KHMER_SCRIPT, board_text=KHMER_BOARD,
                    translator="sokha", title=bad))
    assert view(first)["status"] == "in_review"  # a refused title stores nothing
    with session() as s:
        translation_service.submit_translation(s, object_store(), translation_service.TranslationRequest(
            package_id=first, language="km", script=KHMER_SCRIPT, board_text=KHMER_BOARD, translator="sokha",
            title=f"  {KHMER_TITLE} "))
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
    first_vi = next(x for x in view(first)["variants"] if x["language"] == "vi")["assets"]
    assert [a["key"] for a in vi["assets"] if a["kind"] != "slide"] == [
        a["key"] for a in first_vi if a["kind"] != "slide"]  # Vietnamese text and audio untouched
    # Only the slides are new: their QR code cites the new package (the feedback page of Đa Lộc).
    for package_id, assets in ((first, first_vi), (second, vi["assets"])):
        png = Image.open(io.BytesIO(store.get_bytes(next(a["key"] for a in assets if a["kind"] == "slide"))))
        assert [r.text for r in zxingcpp.read_barcodes(png)] == [
            f"http://127.0.0.1:8000/phan-anh/29377?ban-tin={package_id}"]
    # The translation's own title heads its slides (before, a person's translation had none).
    board = next(a for a in km["assets"] if a["kind"] == "board_text")
    assert board["meta"]["title"] == KHMER_TITLE
    assert title_ink(tmp_path / "km.png") > 2_000
    untitled = slides.render_slides(title="", body=KHMER_BOARD, language_script="Khmr", priority_label="THƯỜNG",
                                    emergency=False, out_dir=tmp_path / "untitled")
    assert title_ink(untitled[0]) < 50  # the measure sees no title where none is drawn
    assert v["manifest_hash"] != view(first)["manifest_hash"]

    with session() as s:
        users.grant(s, users.get_user(s, "sokha"), Membership(Role.APPROVER, "84"), actor="admin")
        with pytest.raises(ApprovalRefused, match="four-eyes|translat|wrote"):
            approvals.approve_package(s, package_id=second, username="sokha")
    with session() as s:
        approvals.approve_package(s, package_id=second, username="demo-approver")
        assert packages.get_package(s, second).status == "approved"
    with session() as s:  # a correction of the text alone (no title given) keeps the variant's title
        assert translation_service.translated_title(s, second, "km", None) == KHMER_TITLE
        assert translation_service.translated_title(s, second, "km", "") == ""  # given empty: no title
        revision_id = packages.get_package(s, second).revision_id
        assert translations.latest_translation(s, revision_id, "km").title == KHMER_TITLE
    with session() as s:  # an edit of the translated text (after approval, before publishing) keeps the title too
        edited = edits.edit_text(s, object_store(), edits.TextEdit(second, "km", KHMER_SCRIPT, KHMER_BOARD + " ។",
                                                                   "sokha")).package_id
        assert packages.get_asset(s, package_id=edited, language="km",
                                  kind=packages.AssetKind.BOARD_TEXT).meta["title"] == KHMER_TITLE
        assert translations.latest_translation(s, revision_id, "km").title == KHMER_TITLE


@pytest.mark.slow
def test_cli_translation_takes_a_title(app: Path, tmp_path: Path) -> None:  # noqa: F811
    from typer.testing import CliRunner

    from cli.main import app as cli

    with session() as s:
        users.add_user(s, username="sokha", full_name="Thạch Sô Kha", roles=[Role.TRANSLATOR], area_code="84",
                       password="dich-khmer-2026")
    first = produce(submit("vi,km"))
    (tmp_path / "script.txt").write_text(KHMER_SCRIPT, encoding="utf-8")
    (tmp_path / "board.txt").write_text(KHMER_BOARD, encoding="utf-8")
    args = ["package", "translate", str(first), "--lang", "km", "--script-file", str(tmp_path / "script.txt"),
            "--board-file", str(tmp_path / "board.txt"), "--as", "sokha"]
    refused = CliRunner().invoke(cli, [*args, "--title", "ក" * 201])
    assert isinstance(refused.exception, InvalidInput)  # `bantin` prints it on one line and exits 2
    assert "one line of at most 200 characters" in str(refused.exception)
    assert view(first)["status"] == "in_review"
    out = CliRunner().invoke(cli, [*args, "--title", KHMER_TITLE])
    assert out.exit_code == 0, out.output
    second = int(re.search(r"package (\d+) is in review", out.output).group(1))  # type: ignore[union-attr]
    km = next(x for x in view(second)["variants"] if x["language"] == "km")
    assert next(a for a in km["assets"] if a["kind"] == "board_text")["meta"]["title"] == KHMER_TITLE
    assert "slide" in {a["kind"] for a in km["assets"]}


def _recording(path: Path) -> Path:
    """Eight seconds of a speech-like signal (a modulated tone over noise) at a level a phone records."""
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "sine=frequency=220:duration=8",
                    "-f", "lavfi", "-i", "anoisesrc=color=pink:duration=8:amplitude=0.02",
                    "-filter_complex", "[0][1]amix=inputs=2,volume='0.3*(0.6+0.4*sin(2*PI*3*t))':eval=frame",
                    "-ar", "44100", "-ac", "1", "-c:a", "libmp3lame", str(path)], check=True)
    return path


@pytest.mark.slow
def test_a_recording_replaces_only_its_variants_voice(app: Path, tmp_path: Path) -> None:  # noqa: F811
    """A person's Khmer reading (Khmer has no voice here): only the Khmer audio is made, the rest keeps its keys,
    and the approved package is replaced by one that needs a new approval."""
    with session() as s:
        users.add_user(s, username="sokha", full_name="Thạch Sô Kha", roles=[Role.TRANSLATOR], area_code="84",
                       password="dich-khmer-2026")
    draft_id = submit("vi,km")
    first = produce(draft_id)
    with session() as s:
        translation_service.submit_translation(s, object_store(), translation_service.TranslationRequest(
            package_id=first, language="km", script=KHMER_SCRIPT, board_text=KHMER_BOARD, translator="sokha",
            title=KHMER_TITLE))
    second = produce(draft_id)
    with session() as s:
        approvals.approve_package(s, package_id=second, username="demo-approver")
        before = {(a.language, a.kind): a.key for a in packages.assets_of(s, second)}
    assert ("km", "audio") not in before and ("vi", "audio") in before
    with session() as s:
        new = edits.record_voice(s, object_store(), edits.VoiceRecording(
            second, "km", _recording(tmp_path / "doc-khmer.mp3"), "sokha")).package_id
    from flows.revise import revise_variant

    revise_variant(new, "km")
    third = view(new)
    assert view(second)["status"] == "superseded" and third["status"] == "in_review"  # not approved: a new one
    assert third["manifest_hash"] != view(second)["manifest_hash"]
    with session() as s:
        after = {(a.language, a.kind): a.key for a in packages.assets_of(s, new)}
        audio = packages.get_asset(s, package_id=new, language="km", kind=packages.AssetKind.AUDIO)
    assert {k: v for k, v in after.items() if k[0] == "vi"} == {k: v for k, v in before.items() if k[0] == "vi"}
    for kind in ("script", "board_text", "slide"):
        assert after[("km", kind)] == before[("km", kind)]
    assert audio is not None and audio.meta["synthetic"] is False and 7.5 < audio.meta["duration_s"] < 8.5
    with session() as s:
        approvals.approve_package(s, package_id=new, username="demo-approver")
        assert packages.get_package(s, new).status == "approved"


@pytest.fixture(scope="session")
def tiny_nllb_ct2(tmp_path_factory: pytest.TempPathFactory) -> Path:
    require_ml()
    return tiny_models.nllb_ct2(tmp_path_factory.getbasetemp() / "tiny-models")


@pytest.fixture(scope="session")
def inventive_summarizer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    require_ml()
    return tiny_models.t5_summarizer(tmp_path_factory.getbasetemp() / "tiny-models", "t5-inventive",
                                     tiny_models.INVENTED)


def configure(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, models: list[dict[str, object]], glossary: str) -> None:
    """Register models in the home's registry file, use a test glossary for Khmer, keep decoding short."""
    get_settings().model_registry.write_text(tiny_models.registry_toml(models), encoding="utf-8")  # type: ignore[union-attr]
    (tmp_path / "glossaries").mkdir(exist_ok=True)
    (tmp_path / "glossaries" / "km.tsv").write_text(glossary, encoding="utf-8")
    monkeypatch.setenv("BANTIN_GLOSSARY_DIR", str(tmp_path / "glossaries"))
    monkeypatch.setenv("BANTIN_MT_MAX_TOKENS", "16")
    monkeypatch.setenv("BANTIN_MT_BEAM_SIZE", "2")
    get_settings.cache_clear()


# A draft without digits: the tiny random model cannot carry numbers over, and a translation that drops
# one is (rightly) refused; see the second half of the test below.
UNDATED = ("Thông báo tiêm chủng\n"
           "Ủy ban nhân dân xã thông báo lịch tiêm chủng cho trẻ em trong xã. Phụ huynh mang theo sổ tiêm chủng "
           "của trẻ đến trạm y tế xã vào buổi sáng. Trân trọng thông báo.")


def submit_undated() -> int:
    req = draft_service.DraftRequest(body=UNDATED, area_codes=["29377"], languages="vi,km", priority="uu_tien",
                                     author="demo-editor", requesting_unit="UBND xã Đa Lộc")
    with session() as s:
        return draft_service.submit_text_draft(s, object_store(), req).draft_id


def nllb_entry(path: Path) -> dict[str, object]:
    return {"name": "tiny-nllb", "task": "translate", "languages": ["vi", "km"], "backend": "nllb-ct2",
            "path": str(path), "sha256": tree_sha256(path), "licence": "CC-BY-NC-4.0"}


def test_configured_nllb_makes_the_khmer_variant_and_a_lost_term_blocks_it(
        app: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny_nllb_ct2: Path) -> None:  # noqa: F811
    configure(monkeypatch, tmp_path, [nllb_entry(tiny_nllb_ct2)], "Trà Cú\t\tplace\n")  # not in the draft
    first = produce(submit_undated())
    v = view(first)
    assert v["status"] == "in_review"
    km = next(x for x in v["variants"] if x["language"] == "km")
    vi = next(x for x in v["variants"] if x["language"] == "vi")
    assert km["status"] == "ready" and "recording" in km["blocked_reason"]  # text ready; no Khmer voice
    kinds = sorted(a["kind"] for a in km["assets"])
    assert kinds[:2] == ["board_text", "script"] and "slide" in kinds
    store = object_store()
    script = next(a for a in km["assets"] if a["kind"] == "script")
    vi_script = next(a for a in vi["assets"] if a["kind"] == "script")
    assert store.get_bytes(script["key"]) != store.get_bytes(vi_script["key"])  # never a copy of the source
    meta = script["meta"]
    assert (meta["engine"], meta["model"], meta["licence"]) == ("nllb-ct2", "tiny-nllb", "CC-BY-NC-4.0")
    assert meta["parameters"]["tgt_lang"] == "khm_Khmr" and meta["source_sha256"] == vi_script["sha256"]
    with session() as s:
        assert packages.variant_record(s, first, "km").translated_by == "machine:tiny-nllb"
        produced = [e.detail for e in audit.entries(s, entity="package", entity_id=first)
                    if e.action == "asset.produced" and e.detail.get("language") == "km"]
    assert produced[0]["model"] == "tiny-nllb" and produced[0]["parameters"]["beam_size"] == 2
    with session() as s:  # a crash just before the end: the rerun reuses the translation, same package
        packages.get_package(s, first).status = "failed"
    before = view(first)
    assert produce(before["draft_id"]) == first
    assert view(first)["manifest_hash"] == before["manifest_hash"]

    configure(monkeypatch, tmp_path, [nllb_entry(tiny_nllb_ct2)], "Đa Lộc\t\tplace\tprotected\n")
    second = produce(submit("vi,km"))
    km = next(x for x in view(second)["variants"] if x["language"] == "km")
    assert km["status"] == "blocked" and km["assets"] == []
    assert "«Đa Lộc»" in km["blocked_reason"] and "translator" in km["blocked_reason"]
    with session() as s:
        blocked = next(e.detail for e in audit.entries(s, entity="package", entity_id=second)
                       if e.action == "translation.blocked")
    # The dated draft's numbers are gone too (the model writes no digits): both failures are on record.
    assert blocked["missing_terms"] == ["Đa Lộc"] and blocked["lost_numbers"]
    with session() as s:
        users.add_user(s, username="sokha", full_name="Thạch Sô Kha", roles=[Role.TRANSLATOR], area_code="84",
                       password="dich-khmer-2026")
        assert [p["package_id"] for p in translation_service.pending_translations(s, "sokha")] == [second]


def test_summary_inventing_facts_blocks_the_variant_and_its_translations(
        app: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny_nllb_ct2: Path,  # noqa: F811
        inventive_summarizer: Path) -> None:
    summarizer = {"name": "tiny-vit5", "task": "summarize", "languages": ["vi"], "backend": "seq2seq",
                  "path": str(inventive_summarizer), "licence": "MIT"}
    configure(monkeypatch, tmp_path, [summarizer, nllb_entry(tiny_nllb_ct2)], "")
    package_id = produce(submit("vi,km"))
    variants = {x["language"]: x for x in view(package_id)["variants"]}
    assert variants["vi"]["status"] == "blocked" and variants["vi"]["assets"] == []
    assert "không có trong bản gốc" in variants["vi"]["blocked_reason"]
    assert variants["km"]["status"] == "blocked" and "nothing to translate" in variants["km"]["blocked_reason"]
    with session() as s:
        violation = next(e.detail for e in audit.entries(s, entity="package", entity_id=package_id)
                         if e.action == "faithfulness.violation")
    assert violation["engine"] == "seq2seq" and violation["model"] == "tiny-vit5" and violation["missing"]
