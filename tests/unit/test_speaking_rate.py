"""The speaking-rate model: syllables at the voice's rate plus its pauses, per voice from measured data, and
the exact fit that fills a script's slot with whole sentences."""

from __future__ import annotations

import pytest

from domain.errors import InvalidInput
from domain.speech import SpeakingRate, count_pauses, estimate_speech_seconds
from engines.script_fit import fit
from engines.speaking_rate import parse_rates, rate_of, shipped_rates, speaking_rate
from settings import Settings


def test_estimate_counts_syllables_sentence_ends_and_clause_breaks() -> None:
    text = "Một hai ba, bốn năm. Sáu bảy!"
    assert count_pauses(text) == (2, 1)
    # 7 syllables at 2 per second, 2 sentence ends at 0.5 s, 1 clause break at 0.25 s.
    assert SpeakingRate(2.0, 0.5, 0.25).seconds(text) == pytest.approx(3.5 + 1.0 + 0.25)
    assert estimate_speech_seconds("Một hai ba", syllables_per_second=3.0, sentence_pause_s=0.6,
                                   clause_pause_s=0.0) == pytest.approx(1.6)  # no stop: still one sentence
    assert SpeakingRate(2.0, 0.5, 0.25).to_meta() == {"syllables_per_second": 2.0, "sentence_pause_s": 0.5,
                                                      "clause_pause_s": 0.25}


def test_shipped_table_has_the_default_voice_first_and_each_espeak_voice() -> None:
    rows = shipped_rates()
    assert (rows[0].backend, rows[0].voice, rows[0].words_per_minute) == ("espeak-ng", "vi", 140)
    assert rows[0].rate == SpeakingRate()  # the domain default is the measured default voice
    assert {r.voice for r in rows} >= {"vi", "vi-vn-x-central", "vi-vn-x-south"}
    assert all(3.0 < r.rate.syllables_per_second < 4.5 and r.measured for r in rows)


TABLE = ("# comment\n# version: 1\n"
         "espeak-ng\tvi\t140\t3.85\t0.68\t0.31\tmeasured\n"
         "espeak-ng\tvi-vn-x-south\t140\t3.68\t0.67\t0.35\tmeasured\n"
         "piper\tvi-announcer\t0\t4.2\t0.5\t0.2\tby hand\n")


def test_rate_of_a_voice_and_the_first_row_for_unknown_voices() -> None:
    rows = parse_rates(TABLE)
    assert rate_of("espeak-ng", "vi-vn-x-south", rows=rows).rate == SpeakingRate(3.68, 0.67, 0.35)
    assert rate_of("piper", "vi-announcer", rows=rows).rate == SpeakingRate(4.2, 0.5, 0.2)
    assert rate_of("espeak-ng", "vi-vn-x-south", words_per_minute=175, rows=rows).voice == "vi"
    assert rate_of("mms-tts", "whatever", rows=rows).rate == SpeakingRate(3.85, 0.68, 0.31)


@pytest.mark.parametrize(("text", "message"), [
    ("espeak-ng\tvi\t140\t3.85\t0.68\n", "5 column"),
    ("espeak-ng\tvi\tfast\t3.85\t0.68\t0.31\tx\n", "must be numbers"),
    ("espeak-ng\tvi\t140\t12\t0.68\t0.31\tx\n", "out of range"),
    ("# only comments\n", "no rates"),
])
def test_malformed_tables_are_refused_with_the_line(text: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        parse_rates(text, "rates.tsv")


def test_configured_rate_follows_the_espeak_voice_and_the_override(tmp_path) -> None:  # type: ignore[no-untyped-def]
    home = {"home": tmp_path}
    assert speaking_rate(Settings(**home, espeak_voice="vi-vn-x-south")) == SpeakingRate(3.68, 0.67, 0.35)
    assert speaking_rate(Settings(**home)) == SpeakingRate(3.85, 0.68, 0.31)
    # An operator's syllable rate replaces the measured one; the measured pauses stay.
    assert speaking_rate(Settings(**home, speech_syllables_per_second=3.0)) == SpeakingRate(3.0, 0.68, 0.31)


def test_fit_fills_the_window_with_the_best_set() -> None:
    values, seconds = [1.0, 1.0, 1.0], [10.0, 8.0, 7.0]
    # Sets: 10, 8, 7, 18, 17, 15, 25. Only {8, 7} = 15 s lies in [15, 16].
    assert fit(values, seconds, budget=16.0, floor=15.0) == ([1, 2], True)
    # Two sets fill [17, 18]: the higher value wins.
    assert fit([1.0, 3.0, 1.0], seconds, budget=18.0, floor=17.0) == ([0, 1], True)


def test_fit_overruns_only_by_less_than_it_would_fall_short() -> None:
    values, seconds = [1.0, 1.0, 1.0], [10.0, 8.0, 7.0]
    # Budget 16.5, window from 16.2: under, 15 s falls 1.5 s short; over, 17 s overruns by 0.5 s.
    assert fit(values, seconds, budget=16.5, floor=16.2, stretch=1.0) == ([0, 2], False)
    assert fit(values, seconds, budget=16.5, floor=16.2, stretch=0.4) == ([1, 2], False)  # 17 s is too far
    # Budget 14, window from 13.3: 10 s falls 4 s short and 15 s overruns by 1 s.
    assert fit(values, seconds, budget=14.0, floor=13.3, stretch=2.0) == ([1, 2], False)
    # Budget 16, window from 15.8: 15 s falls 1 s short, 17 s overruns by 1 s: a tie stays under.
    assert fit(values, seconds, budget=16.0, floor=15.8, stretch=2.0) == ([1, 2], False)
