"""The intake corpus: every pasted portal page comes out as its expected clean text, and the scripts and
board texts made from it are whole sentences with no number that is not in the source."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from domain.faithfulness import check_faithfulness
from domain.intake import IntakeResult
from engines.sentences import is_fragment, split_sentences
from engines.summarize import summarize
from services import intake

CORPUS = Path(__file__).parents[1] / "data" / "intake"
EXPECTED = {row.split("\t")[0]: row.split("\t")[1]
            for row in (CORPUS / "expected.tsv").read_text(encoding="utf-8").splitlines()
            if row and not row.startswith("#")}
NAMES = sorted(EXPECTED)


def expected(name: str) -> tuple[str, list[str]]:
    lines = (CORPUS / f"{name}.clean.txt").read_text(encoding="utf-8").rstrip("\n").split("\n")
    return lines[0], lines[1:]


def cleaned(name: str) -> IntakeResult:
    return intake.clean((CORPUS / f"{name}.raw.txt").read_text(encoding="utf-8"))


def test_corpus_is_big_enough_and_every_page_has_debris() -> None:
    assert len(NAMES) >= 20
    for name in NAMES:
        raw = (CORPUS / f"{name}.raw.txt").read_text(encoding="utf-8").rstrip("\n").split("\n")
        assert len(raw) - len(expected(name)[1]) >= 8, name  # at least 8 debris lines per page


@pytest.mark.parametrize("name", NAMES)
def test_page_cleans_to_its_expected_text(name: str) -> None:
    title, body = expected(name)
    result = cleaned(name)
    kept = [line for line in result.body.split("\n") if line.strip()]
    assert [line for line in kept if line not in body] == []  # zero junk lines survive
    assert kept == body  # and nothing of the article is lost or reordered
    assert result.title == title
    assert result.article_date == date.fromisoformat(EXPECTED[name])


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("seconds", [25.0, 50.0])
def test_scripts_are_whole_sentences_without_invented_numbers(name: str, seconds: float) -> None:
    body = "\n".join(expected(name)[1])
    summary = summarize(cleaned(name).body, max_seconds=seconds, board_lines=6)
    assert summary.estimated_seconds <= seconds
    assert summary.script.endswith((".", "!", "?"))
    for text in (summary.script, summary.board_text):
        report = check_faithfulness(text, body)
        assert report.ok, (name, report.reason())
    chosen = split_sentences(summary.script)
    assert not [s for s in chosen if is_fragment(s)], name
