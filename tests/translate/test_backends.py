"""Translation and abstractive-summary backends, loaded by path through the real code from tiny models."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest

from domain.errors import InvalidInput
from domain.faithfulness import check_faithfulness
from domain.glossary import parse_glossary
from domain.speech import estimate_speech_seconds
from engines import hf_seq2seq, instruct, registry, translate, translate_nllb
from engines.errors import EngineError
from engines.registry import ModelChecksumMismatch, ModelEntry, ModelUnavailable, Task
from engines.summarize import summarize_with

TEXT = ("Kính thưa bà con nhân dân!\n"
        "Ủy ban nhân dân xã thông báo lịch tiêm chủng. Phụ huynh mang theo sổ tiêm chủng của trẻ.\n"
        "Trân trọng thông báo!")
BODY = (Path(__file__).parents[2] / "cli" / "samples" / "thong-bao-tiem-chung.txt").read_text(encoding="utf-8")


def entry(name: str, backend: str, path: Path, languages: tuple[str, ...] = ("vi", "km"),
          task: Task = Task.TRANSLATE, **kw: object) -> ModelEntry:
    return ModelEntry(name=name, task=task, languages=languages, backend=backend, path=path, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("backend", ["nllb-ct2", "nllb-transformers"])
def test_nllb_translates_each_line_into_khmer(backend: str, nllb_dir: Path, nllb_ct2_dir: Path) -> None:
    path = nllb_ct2_dir if backend == "nllb-ct2" else nllb_dir
    model = entry("tiny-nllb", backend, path, licence="CC-BY-NC-4.0",
                  sha256=registry.tree_sha256(path))
    result = translate.translate(TEXT, target="km", entry=model)
    lines = result.text.split("\n")
    assert len(lines) == 3 and all(line.strip() for line in lines)  # the frame's lines survive
    assert result.text != TEXT and not translate.malformed(result.text)
    meta = result.meta()
    assert meta["engine"] == backend and meta["model"] == "tiny-nllb" and meta["licence"] == "CC-BY-NC-4.0"
    assert meta["model_sha256"] == model.sha256
    assert meta["parameters"]["tgt_lang"] == "khm_Khmr" and meta["parameters"]["sentences"] == 4
    assert translate.translate(TEXT, target="km", entry=model).text == result.text  # deterministic


def test_ct2_reads_the_tokenizer_json_when_the_sentencepiece_model_is_absent(nllb_ct2_dir: Path,
                                                                              tmp_path: Path) -> None:
    only_json = shutil.copytree(nllb_ct2_dir, tmp_path / "ct2")
    (only_json / "sentencepiece.bpe.model").unlink()
    with_spm = translate.translate(TEXT, target="km", entry=entry("a", "nllb-ct2", nllb_ct2_dir))
    with_json = translate.translate(TEXT, target="km", entry=entry("b", "nllb-ct2", only_json))
    assert with_json.text == with_spm.text
    neither = shutil.copytree(only_json, tmp_path / "ct2-bare")
    (neither / "tokenizer.json").unlink()
    with pytest.raises(ModelUnavailable, match="neither sentencepiece.bpe.model nor tokenizer.json"):
        translate.translate(TEXT, target="km", entry=entry("c", "nllb-ct2", neither))


def test_models_are_verified_before_loading(nllb_ct2_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ModelChecksumMismatch, match="refusing to load"):
        translate.translate(TEXT, target="km", entry=entry("bad", "nllb-ct2", nllb_ct2_dir, sha256="0" * 64))
    with pytest.raises(ModelUnavailable, match="does not exist"):
        translate.translate(TEXT, target="km", entry=entry("gone", "nllb-ct2", tmp_path / "nope"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelUnavailable, match="cannot load a CTranslate2 model"):
        translate.translate(TEXT, target="km", entry=entry("empty", "nllb-ct2", tmp_path / "empty"))
    with pytest.raises(InvalidInput, match="does not translate vi into Jrai"):
        translate.translate(TEXT, target="jra", entry=entry("n", "nllb-ct2", nllb_ct2_dir, languages=("*",)))


def test_marian_translates_one_direction(marian_dir: Path) -> None:
    model = entry("opus-mt-vi-en", "marian", marian_dir, languages=("vi", "en"), licence="CC-BY-4.0")
    result = translate.translate(TEXT, target="en", entry=model)
    assert len(result.text.split("\n")) == 3 and result.engine == "marian"
    assert result.parameters["num_beams"] == 2 and result.parameters["max_new_tokens"] == 16
    with pytest.raises(InvalidInput):
        translate.translate(TEXT, target="km", entry=model)


def test_output_left_in_vietnamese_never_fills_the_khmer_slot(nllb_echo_dir: Path) -> None:
    # This model writes Vietnamese pieces whatever the target: every fact and glossary term would "survive".
    model = entry("echo", "nllb-transformers", nllb_echo_dir)
    with pytest.raises(translate.TranslationError, match=r"sentence 1 of 4 into Khmer: it is not written in Khmer"):
        translate.translate(TEXT, target="km", entry=model)


@pytest.mark.parametrize("backend", ["nllb-ct2", "nllb-transformers"])
def test_a_sentence_longer_than_the_model_reads_is_refused_not_cut(
        backend: str, nllb_dir: Path, nllb_ct2_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(translate_nllb, "MAX_INPUT_TOKENS", 40)  # NLLB reads 1024; a short limit keeps it fast
    model = entry("n", backend, nllb_ct2_dir if backend == "nllb-ct2" else nllb_dir)
    long = "Ủy ban nhân dân xã thông báo. " + "phụ huynh mang theo sổ tiêm chủng của trẻ, " * 6 + "và trẻ."
    with pytest.raises(EngineError, match=r"sentence 2 is \d+ tokens long, more than the model's 40"):
        translate.translate(long, target="km", entry=model)


def test_generation_failures_become_engine_errors(nllb_dir: Path) -> None:
    # A bare RuntimeError/ValueError from torch would fail the whole package instead of blocking one variant.
    tokenizer, model, _ = hf_seq2seq.load(entry("n", "nllb-transformers", nllb_dir))
    encoded = tokenizer(["xã thông báo."], return_tensors="pt")
    with pytest.raises(EngineError, match="failed while generating"):
        hf_seq2seq.generate(model, encoded, num_beams=2, num_return_sequences=3, max_new_tokens=4)
    assert os.environ["HF_HUB_OFFLINE"] == "1" and os.environ["TRANSFORMERS_OFFLINE"] == "1"


def test_instruction_model_translates_with_the_versioned_prompt(instruct_km_dir: Path) -> None:
    glossary = parse_glossary("Ủy ban nhân dân\tគណៈកម្មាធិការប្រជាជន\toffice\nĐa Lộc\t\tplace\n", language="km",
                              version="f" * 64)
    assert instruct.glossary_lines(glossary, TEXT) == "- Ủy ban nhân dân => គណៈកម្មាធិការប្រជាជន"
    assert instruct.glossary_lines(glossary, "Không có.") == "- (none)"
    result = translate.translate(TEXT, target="km", entry=entry("llm", "instruct", instruct_km_dir,
                                                                languages=("*",)), glossary=glossary)
    prompt = (Path(__file__).parents[2] / "prompts" / "translate" / "v1.txt").read_bytes()
    assert result.prompt == "translate/v1" and result.prompt_sha256 == hashlib.sha256(prompt).hexdigest()
    assert result.parameters["chat_template"] is True and result.parameters["glossary_mode"] == "prompt"
    assert result.parameters["glossary_version"] == "f" * 12
    assert result.text.strip() and not translate.malformed(result.text)


def test_seq2seq_summary_fits_the_limits_and_records_its_model(clean_summarizer: Path) -> None:
    model = entry("tiny-vit5", "seq2seq", clean_summarizer, languages=("vi",), task=Task.SUMMARIZE)
    summary = summarize_with(model, BODY, max_seconds=12, board_lines=2, board_line_chars=30)
    assert summary.engine == "seq2seq" and summary.model == "tiny-vit5" and summary.method.startswith("seq2seq")
    assert estimate_speech_seconds(summary.script) <= 12
    assert 1 <= len(summary.board_text.split("\n")) <= 2
    assert all(len(row) <= 30 for row in summary.board_text.split("\n"))
    assert summary.parameters["prefix"] == "vietnews: " and summary.parameters["num_beams"] == 4
    assert summary.meta()["engine_version"]
    assert check_faithfulness(summary.script, BODY).ok  # its vocabulary has no digits or names


def test_faithfulness_catches_a_summariser_that_invents_facts(inventive_summarizer: Path) -> None:
    model = entry("tiny-inventive", "seq2seq", inventive_summarizer, languages=("vi",), task=Task.SUMMARIZE)
    summary = summarize_with(model, BODY, max_seconds=30, board_lines=4)
    report = check_faithfulness(summary.script, BODY)
    assert not report.ok and report.missing  # numbers or names the draft never states


def test_instruction_model_summarises_with_two_prompts(instruct_dir: Path) -> None:
    model = entry("llm", "instruct", instruct_dir, languages=("vi",), task=Task.SUMMARIZE)
    summary = summarize_with(model, BODY, max_seconds=8, board_lines=2, board_line_chars=40, max_new_tokens=24)
    assert summary.engine == "instruct"
    assert summary.meta()["summary_prompt"] == "summarize/v1,summarize_board/v1"
    assert estimate_speech_seconds(summary.script) <= 8
    assert len(summary.board_text.split("\n")) <= 2
    assert summary.parameters["max_new_tokens"] == 24 and summary.parameters["decoding"] == "greedy"
