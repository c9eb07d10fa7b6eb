"""Pure rules of the translation tier: NLLB codes, glossaries, which model serves which pair."""

from __future__ import annotations

from pathlib import Path

import pytest

from domain.errors import InvalidInput
from domain.faithfulness import check_faithfulness
from domain.glossary import parse_glossary
from domain.languages import LANGUAGES, NLLB_CODES, from_nllb_code, nllb_code, to_iso639_3
from engines import translate
from engines.glossary import load_glossary
from engines.registry import ModelEntry, Task, load_registry
from tests.translate.tiny_models import require_ml

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


def test_nllb_codes_agree_with_the_tokenizer_list() -> None:
    # Checked against the 202 FLORES codes NLLB's tokenizer knows, not against our own table.
    require_ml()
    from transformers.models.nllb.tokenization_nllb import FAIRSEQ_LANGUAGE_CODES

    assert set(NLLB_CODES.values()) <= set(FAIRSEQ_LANGUAGE_CODES)
    for code in LANGUAGES:
        known = [c for c in FAIRSEQ_LANGUAGE_CODES if c.split("_")[0] == to_iso639_3(code)]
        assert nllb_code(code) == (known[0] if known else None), code
    # So these variants can only come from people (or another model).
    assert sorted(code for code in LANGUAGES if nllb_code(code) is None) == [
        "bdq", "cjm", "ede", "hmn", "ium", "jra", "tyz"]


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


def test_glossary_matches_old_and_new_tone_placement() -> None:
    # Drafts write both "Uỷ"/"Ủy" and "Hoà"/"Hòa": a term missed here would escape the check as well.
    g = parse_glossary(GLOSSARY + "Hòa An\t\tplace\n", language="km")
    assert g.apply("Uỷ ban nhân dân xã Hoà An.") == "គណៈកម្មាធិការប្រជាជន xã Hoà An."
    assert [t.source for t in g.find("UỶ BAN NHÂN DÂN HUYỆN")] == ["Ủy ban nhân dân huyện"]
    assert not g.check("Xã Hoà An thông báo.", "ឃុំ ជូនដំណឹង។").ok
    assert g.check("Xã Hoà An thông báo.", "ឃុំ Hòa An ជូនដំណឹង។").ok
    with pytest.raises(InvalidInput, match="line 2: 'Uỷ ban' is listed twice"):
        parse_glossary("Ủy ban\t\toffice\nUỷ ban\t\toffice\n", language="km")


def test_protected_names_must_appear_as_whole_words() -> None:
    g = parse_glossary("An\t\tplace\nĐa Lộc\t\tplace\n", language="km")
    assert g.find("Ấp An Bình, xã Anh Hùng") == g.find("Ấp An") == (g.terms[0],)
    assert g.find("Xã Anh Hùng và Đa Lộc") == (g.terms[1],)
    assert not g.check("xã An", "ឃុំ Anh").ok  # a longer name is not the protected one
    assert not g.check("xã Đa Lộc", "ឃុំ Đa Lộcc").ok
    assert g.check("xã An, Đa Lộc", "ឃុំ An (ĐA LỘC)").ok


def test_khmer_renderings_are_found_across_spaces_and_zero_width_breaks() -> None:
    g = parse_glossary(GLOSSARY, language="km")
    source = "Ủy ban nhân dân xã thông báo."
    assert g.check(source, "គណៈកម្មាធិការ\u200bប្រជាជនឃុំ ជូនដំណឹង។").ok  # Khmer writes words without spaces
    assert g.check(source, "គណៈកម្មាធិការ ប្រជាជន ឃុំ។").ok
    assert not g.check(source, "គណៈកម្មាធិការឃុំ ជូនដំណឹង។").ok  # only part of the rendering


@pytest.mark.parametrize(("source", "output", "target", "why"), [
    ("Phụ huynh mang theo sổ tiêm chủng của trẻ.", "Phụ huynh mang theo sổ tiêm chủng của trẻ.", "km", "Khmer script"),
    ("Phụ huynh mang theo sổ tiêm chủng của trẻ.", "ឪពុកម្តាយ mang theo sổ tiêm chủng của trẻ.", "km", "Khmer script"),
    ("Phụ huynh mang theo sổ tiêm chủng của trẻ.", "Phụ huynh mang theo sổ tiêm chủng của trẻ em.", "en", "repeats"),
    ("Phụ huynh mang theo sổ tiêm chủng của trẻ.", "Parents bring the child's vaccination book.", "en", None),
    ("Phụ huynh mang theo sổ tiêm chủng của trẻ.", "ឪពុកម្តាយយកសៀវភៅចាក់វ៉ាក់សាំងរបស់កូនមកជាមួយ។", "km", None),
    ("Tại xã Đa Lộc, huyện Châu Thành.", "នៅឃុំ Đa Lộc ស្រុក Châu Thành។", "km", None),  # protected names only
    ("Đa Lộc, Châu Thành, Trà Vinh.", "Đa Lộc, Châu Thành, Trà Vinh.", "km", None),  # nothing else to translate
    ("Gọi 0294 3870 115.", "០២៩៤ ៣៨៧០ ១១៥។", "km", None),
])
def test_untranslated_output_is_recognised(source: str, output: str, target: str, why: str | None) -> None:
    glossary = parse_glossary("Đa Lộc\t\tplace\nChâu Thành\t\tplace\nTrà Vinh\t\tplace\n", language=target)
    reason = translate.untranslated(source, output, source_language="vi", target=target, glossary=glossary)
    assert (reason is None) if why is None else (why in (reason or ""))


def test_an_operator_glossary_that_is_not_utf8_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "km.tsv").write_bytes("Trà Cú\t\tplace\n".encode("cp1258"))
    with pytest.raises(InvalidInput, match=r"km.tsv is not UTF-8 text"):
        load_glossary("km", tmp_path)
