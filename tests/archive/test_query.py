"""Pure search logic: folding, query parsing, facets, snippets (no database)."""

import pytest

from domain.errors import InvalidInput
from domain.search import (
    MAX_QUERY_CHARS,
    Clause,
    FacetFilter,
    area_filter_tokens,
    area_tokens,
    facet_tokens,
    fold,
    matches,
    parse_query,
    snippet,
    tokens,
    word_pairs,
)
from storage.search.sqlite import match_expression


@pytest.mark.parametrize(("text", "folded"), [
    ("UBND xã Đa Lộc", "ubnd xa da loc"),
    ("Đà Lạt, Thừa Thiên Huế", "da lat, thua thien hue"),
    ("nghiêng ngả ưởng ỡm Ệ Ự", "nghieng nga uong om e u"),
    ("đường ĐƯỜNG", "duong duong"),
    ("Cộng hòa xã hội chủ nghĩa Việt Nam", "cong hoa xa hoi chu nghia viet nam"),
])
def test_fold_strips_vietnamese_diacritics_and_d_stroke(text: str, folded: str) -> None:
    assert fold(text) == folded


def test_fold_accepts_decomposed_input_and_keeps_khmer_signs() -> None:
    import unicodedata

    assert fold(unicodedata.normalize("NFD", "Tiêm chủng")) == "tiem chung"
    khmer = "ស្រុកទឹកឃ្លាំង"
    assert fold(khmer) == khmer  # its combining signs are not Latin diacritics


def test_khmer_words_keep_their_vowel_signs_and_subscripts() -> None:
    # Python's \\w leaves out combining marks: "លោក" once fell apart into "ល" and "ក" and found nothing.
    assert tokens("លោក ស្រី, សូមជម្រាប") == ["លោក", "ស្រី", "សូមជម្រាប"]
    assert tokens("Đà Lạt លោក") == ["da", "lat", "លោក"]
    assert matches("សូមជម្រាបជូន លោក ស្រី", parse_query("លោក ស្រី"))
    assert matches("សូមជម្រាបជូន លោក ស្រី", parse_query('"លោក ស្រី"'))
    assert not matches("សូមជម្រាបជូន លោក ស្រី", parse_query("ល"))  # a letter alone is not a word of the text
    assert matches("ការចាក់វ៉ាក់សាំង", parse_query("ការចា*"))
    s = snippet("សូមជម្រាបជូន លោក ស្រី", parse_query("លោក"))
    assert s is not None and s.render() == "សូមជម្រាបជូន [លោក] ស្រី"


def test_tokens_split_on_punctuation_and_operator_characters() -> None:
    assert tokens('UBND-xã "Đa_Lộc" (NEAR) a*b:c^d') == ["ubnd", "xa", "da", "loc", "near", "a", "b", "c", "d"]
    assert tokens("UBND xã", exact=True) == ["ubnd", "xã"]
    assert tokens("x" * 61 + " ok") == ["ok"]


def test_parse_query_terms_phrases_prefixes() -> None:
    q = parse_query('ubnd xa "tiêm chủng" phòng* "ngày 1"*')
    assert q.clauses == (Clause(("ubnd",)), Clause(("xa",)), Clause(("tiem", "chung")), Clause(("phong",), True),
                         Clause(("ngay", "1"), True))
    assert q.describe() == 'ubnd xa "tiem chung" phong* "ngay 1*"'
    assert parse_query("covid-19").clauses == (Clause(("covid", "19")),)  # one word in pieces: a phrase
    assert parse_query("Xã", exact=True).clauses == (Clause(("xã",)),)


@pytest.mark.parametrize("raw", ["", "   ", '"" * ** ""', "()^:-+", "AND OR NOT"[:0]])
def test_empty_queries_match_everything(raw: str) -> None:
    q = parse_query(raw)
    assert q.is_empty and matches("bất kỳ", q)


def test_operator_and_injection_text_becomes_plain_words() -> None:
    q = parse_query("\"unbalanced ' OR 1=1; DROP TABLE archive_entries; -- NEAR(a b) {folded}: x^2")
    words = [w for c in q.clauses for w in c.words]
    assert all(w.isalnum() for w in words)
    assert "drop" in words and "archive" in words and "entries" in words


def test_bad_queries_are_refused_clearly() -> None:
    with pytest.raises(InvalidInput, match="at most 500"):
        parse_query("a" * (MAX_QUERY_CHARS + 1))
    with pytest.raises(InvalidInput, match="prefix needs at least 2"):
        parse_query("x*")
    with pytest.raises(InvalidInput, match="at most 12"):
        parse_query(" ".join(f"w{i}" for i in range(13)))


def test_matching_semantics() -> None:
    text = "Thông báo của UBND xã Đa Lộc về lịch tiêm chủng mở rộng"
    assert matches(text, parse_query("ubnd xa"))
    assert matches(text, parse_query('"ubnd xa da loc"'))
    assert not matches(text, parse_query('"xa ubnd"'))
    assert matches(text, parse_query("tiem* mo"))
    assert not matches(text, parse_query("tiem chung phong"))
    assert matches(text, parse_query("UBND xã", exact=True))
    assert not matches(text, parse_query("ubnd xa", exact=True))
    assert not matches("lịch xà", parse_query("xã", exact=True))
    assert matches("lịch xà", parse_query("xã"))


def test_word_pairs_and_the_sqlite_match_expression() -> None:
    assert word_pairs(["ubnd", "xa", "da", "loc", "ubnd", "xa"]) == ["ubnd_xa", "xa_da", "da_loc", "loc_ubnd"]
    assert word_pairs(["xa"]) == [] and word_pairs([]) == []
    q = parse_query('"ubnd xa da loc" tiem* "xa d"*')
    assert match_expression(q, FacetFilter().with_group(["_lvi"])) == (
        '{folded_pairs} : ("ubnd_xa" AND "xa_da" AND "da_loc" AND "xa_d" *) '
        'AND {folded} : ("ubnd xa da loc" AND "tiem" *) AND {facets} : ("_lvi")')
    assert match_expression(q, FacetFilter(), pairs=False) == (
        '{folded} : ("ubnd xa da loc" AND "tiem" * AND "xa d" *)')
    assert match_expression(parse_query('"xã hồ"', exact=True), FacetFilter()) == '{exact_pairs} : ("xã_hồ")'
    assert match_expression(parse_query('"a b c d"*'), FacetFilter()) == (
        '{folded_pairs} : ("a_b" AND "b_c" AND "c_d" *) AND {folded} : ("a b c d" *)')


def test_facets_cover_subtrees_and_ancestors() -> None:
    ancestors = {"29377": ["293", "29"], "293": ["29"], "29": []}
    toks = area_tokens(["29377"], ancestors)
    assert toks == ["_t29377", "_u29377", "_u293", "_u29"]
    assert "_u293" in area_filter_tokens("293", ["29"]) and "_t29" in area_filter_tokens("293", ["29"])
    facets = facet_tokens(areas=toks, language="vi", priority="khan_cap", channels=["loudspeaker"],
                          status="published", kind="package")
    assert {"_all", "_lvi", "_pkhancap", "_cloudspeaker", "_spublished", "_kpackage"} <= set(facets)


def test_snippet_marks_matches_in_original_spelling() -> None:
    text = ("Sáng nay " + "tin tức địa phương " * 20 + "UBND xã Đa Lộc thông báo lịch tiêm chủng. " +
            "nội dung khác " * 20)
    snip = snippet(text, parse_query('ubnd xa "tiem chung"'))
    assert snip is not None
    marked = [t for t, hit in snip.fragments() if hit]
    assert marked == ["UBND", "xã", "tiêm chủng"]  # two words, one phrase
    assert snip.text.startswith("… ") and snip.text.endswith(" …") and len(snip.text) <= 230
    assert "[UBND] [xã] Đa Lộc" in snip.render()
    assert snippet(text, parse_query("khong co")) is None
