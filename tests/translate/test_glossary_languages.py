"""Pure rules of the translation tier: NLLB codes, glossaries, which model serves which pair."""

from __future__ import annotations

from pathlib import Path

import pytest

from domain.errors import InvalidInput
from domain.faithfulness import check_faithfulness
from domain.glossary import parse_glossary
from domain.languages import LANGUAGES, from_nllb_code, nllb_code, to_iso639_3
from engines import translate
from engines.glossary import load_glossary
from engines.registry import ModelEntry, Task, load_registry

GLOSSARY = ("# Khmer test glossary\n"
            "Ủy ban nhân dân\tគណៈកម្មាធិការប្រជាជន\toffice\tPeople's Committee\n"
            "Ủy ban nhân dân huyện\tគណៈកម្មាធិការប្រជាជនស្រុក\toffice\n"
            "Đa Lộc\t\tplace\tprotected\n"
            "km\tគីឡូម៉ែត្រ\tunit\n")


def test_iso_and_nllb_codes_map_both_ways() -> None:
    assert (nllb_code("km"), nllb_code("vi")) == ("khm_Khmr", "vie_Latn")
    assert (from_nllb_code("khm_Khmr"), from_nllb_code("vie_Latn")) == ("km", "vi")
    assert from_nllb_code("fra_Latn") is None
    assert to_iso639_3("km") == "khm" and to_iso639_3("jra") == "jra"
    with pytest.raises(InvalidInput, match="unknown language 'xx'"):
        to_iso639_3("xx")


def test_nllb_lacks_every_minority_language_of_the_seeds() -> None:
    # Checked against NLLB-200's 202 FLORES codes: these variants can only come from people (or another model).
    missing = sorted(code for code in LANGUAGES if nllb_code(code) is None)
    assert missing == ["bdq", "cjm", "ede", "hmn", "ium", "jra", "tyz"]


def test_glossary_finds_longest_terms_case_insensitively() -> None:
    g = parse_glossary(GLOSSARY, language="km")
    text = "ỦY BAN NHÂN DÂN HUYỆN Châu Thành và Ủy ban nhân dân xã Đa Lộc; đường dài 5 km, không phải kmh."
    assert [t.source for t in g.find(text)] == ["Ủy ban nhân dân huyện", "Ủy ban nhân dân", "Đa Lộc", "km"]
    assert [t.protected for t in g.find(text)] == [False, False, True, False]


def test_apply_substitutes_renderings_and_keeps_protected_terms() -> None:
    g = parse_glossary(GLOSSARY, language="km")
    applied = g.apply("Ủy ban nhân dân xã  Đa Lộc thông báo:\n đường dài 5 km.")
    assert applied == "គណៈកម្មាធិការប្រជាជន xã Đa Lộc thông báo: đường dài 5 គីឡូម៉ែត្រ."


def test_check_names_every_lost_term() -> None:
    g = parse_glossary(GLOSSARY, language="km")
    source = "Ủy ban nhân dân xã Đa Lộc thông báo."
    assert g.check(source, "គណៈកម្មាធិការប្រជាជនឃុំ Đa Lộc ជូនដំណឹង។").ok
    report = g.check(source, "គណៈកម្មាធិការប្រជាជនឃុំ ដាឡុក ជូនដំណឹង។")
    assert not report.ok and [t.source for t in report.missing] == ["Đa Lộc"]
    assert "«Đa Lộc» → «Đa Lộc»" in report.reason() and "Bản dịch thiếu" in report.reason()
    assert g.check("Không có thuật ngữ nào.", "").ok  # nothing to keep, nothing lost


@pytest.mark.parametrize(("text", "message"), [
    ("\tគ\toffice\n", "line 1: the first column"),
    ("Đa Lộc\t\tvillage\n", "kind 'village'"),
    ("# c\nĐa Lộc\n\nđa lộc\t\tplace\n", "line 4: 'đa lộc' is listed twice"),
])
def test_malformed_glossary_lines_are_named(text: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        parse_glossary(text, language="km", where="km.tsv")


def test_shipped_khmer_glossary_protects_place_names(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shipped = load_glossary("km", tmp_path)  # an operator directory without km.tsv: the shipped file
    by_source = {t.source: t for t in shipped.terms}
    assert by_source["Đa Lộc"].protected and by_source["Châu Thành"].protected
    assert by_source["Ủy ban nhân dân"].rendering == "គណៈកម្មាធិការប្រជាជន"
    assert len(shipped.version) == 64
    assert load_glossary("jra", tmp_path).terms == ()  # no file: nothing protected, nothing to check
    (tmp_path / "km.tsv").write_text("Trà Cú\t\tplace\n", encoding="utf-8")
    own = load_glossary("km", tmp_path)
    assert [t.source for t in own.terms] == ["Trà Cú"] and own.version != shipped.version


def _entry(name: str, backend: str, languages: tuple[str, ...], path: Path) -> ModelEntry:
    return ModelEntry(name=name, task=Task.TRANSLATE, languages=languages, backend=backend, path=path)


def test_which_model_serves_which_pair(tmp_path: Path) -> None:
    reg = load_registry(tmp_path / "models.toml", tmp_path / "cache")
    assert translate.translator_for("km", registry=reg) is None  # nothing ships: a person translates
    nllb = _entry("nllb", "nllb-ct2", ("vi", "km", "jra"), tmp_path)
    marian = _entry("opus-vi-en", "marian", ("vi", "en"), tmp_path)
    llm = _entry("llm", "instruct", ("*",), tmp_path)
    reg = reg.with_entry(marian).with_entry(nllb)
    assert translate.translator_for("km", registry=reg) == nllb
    assert translate.translator_for("jra", registry=reg) is None  # listed, but NLLB has no Jrai code
    assert translate.translator_for("en", registry=reg) == marian
    assert not translate.covers(marian, "en", "vi")  # opus-mt models translate one way
    assert translate.translator_for("jra", registry=reg.with_entry(llm)) == llm
    assert not translate.covers(llm, "vi", "vi")


def test_sentences_split_on_final_punctuation_only() -> None:
    assert translate.split_sentences("Họp lúc 7 giờ 30. Mang sổ!  Ai hỏi? Gọi 0294 3870 115…") == [
        "Họp lúc 7 giờ 30.", "Mang sổ!", "Ai hỏi?", "Gọi 0294 3870 115…"]
    assert translate.split_sentences("Số 1.250 người, 3,5 km.") == ["Số 1.250 người, 3,5 km."]
    assert translate.malformed("ok\n") is False and translate.malformed("a\ufffdb") and translate.malformed("a\x7f")


def test_khmer_digits_in_a_translation_are_checked_by_value() -> None:
    source = "Tiêm ngày 5 tháng 12 lúc 7:30, liên hệ 0294 3870 115."
    assert check_faithfulness("ចាក់ថ្ងៃទី ៥ ខែធ្នូ ម៉ោង ៧:៣០ ទូរស័ព្ទ ០២៩៤ ៣៨៧០ ១១៥។", source).ok
    wrong = check_faithfulness("ចាក់ថ្ងៃទី ៦ ខែធ្នូ ម៉ោង ៧:៣០។", source)
    assert not wrong.ok and [f.text for f in wrong.missing] == ["៦"]
