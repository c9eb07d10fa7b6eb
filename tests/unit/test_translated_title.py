"""The slide title of a machine-translated variant: translated and checked like its texts, or left out."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import pytest

from domain.glossary import Glossary
from services import machine_translation as translating

LOG = logging.getLogger("test")
TITLE = "Thông báo lịch tiêm vắc xin sởi ngày 5/12"


def fake_translate(output: str | Exception):  # type: ignore[no-untyped-def]
    def translate(text: str, *, target: str, entry: object, glossary: Glossary) -> SimpleNamespace:
        if isinstance(output, Exception):
            raise output
        return SimpleNamespace(text=output)

    return translate


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        ("ការជូនដំណឹងអំពីការចាក់វ៉ាក់សាំងកញ្ជ្រឹល ថ្ងៃទី 5/12", {"title": "ការជូនដំណឹងអំពីការចាក់វ៉ាក់សាំងកញ្ជ្រឹល ថ្ងៃទី 5/12"}),
        ("ការជូនដំណឹងអំពីការចាក់វ៉ាក់សាំង ថ្ងៃទី 7/12", {}),  # a date the Vietnamese title does not state
        ("ការជូនដំណឹងអំពីការចាក់វ៉ាក់សាំង", {}),  # the date was dropped
        (RuntimeError("model crashed"), {}),
    ],
)
def test_translated_title_is_kept_only_when_it_passes_the_checks(
    monkeypatch: pytest.MonkeyPatch, output: str | Exception, expected: dict[str, str]
) -> None:
    monkeypatch.setattr(translating.translate, "translate", fake_translate(output))
    entry = SimpleNamespace(name="fake")
    assert translating._translated_title(TITLE, "km", entry, Glossary(language="km"), LOG) == expected  # type: ignore[arg-type]


def test_no_title_means_no_translation_call(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(translating.translate, "translate", fake_translate(AssertionError("not called")))
    assert translating._translated_title("  ", "km", SimpleNamespace(name="fake"), Glossary(language="km"), LOG) == {}  # type: ignore[arg-type]
