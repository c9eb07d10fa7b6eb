"""How fast the configured voice reads Vietnamese: the measured :class:`domain.speech.SpeakingRate` of each
voice, shipped as data in ``prompts/speech/rates.tsv`` (``benchmarks/speaking_rate.py`` measures a voice and
prints its row).

Scripts are cut to their slot with this estimate, so a voice that reads faster than assumed makes bulletins
that end early, and a slower one makes them run over. ``settings.speech_syllables_per_second`` overrides
the syllable rate of the table (the pauses stay as measured).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING

from domain.errors import InvalidInput
from domain.speech import SpeakingRate

if TYPE_CHECKING:
    from settings import Settings

SHIPPED = "prompts/speech/rates.tsv"
COLUMNS = 7


@dataclass(frozen=True, slots=True)
class VoiceRate:
    """One row of the table: a voice and how fast it reads."""

    backend: str
    voice: str
    words_per_minute: int
    rate: SpeakingRate
    measured: str


def parse_rates(text: str, where: str = SHIPPED) -> tuple[VoiceRate, ...]:
    """Rows of a rates table (see the file's header).

    Raises:
        InvalidInput: a row has the wrong number of columns or a number out of range.
    """
    rows = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        cols = [c.strip() for c in line.split("\t")]
        if len(cols) != COLUMNS:
            raise InvalidInput(f"{where} line {number}: {len(cols)} column(s), expected {COLUMNS}")
        backend, voice, wpm, sps, sentence, clause, measured = cols
        try:
            rate = SpeakingRate(float(sps), float(sentence), float(clause))
            words = int(wpm)
        except ValueError:
            raise InvalidInput(f"{where} line {number}: words per minute, rate and pauses must be numbers") from None
        if not (1.0 <= rate.syllables_per_second <= 8.0 and 0 <= rate.sentence_pause_s <= 3
                and 0 <= rate.clause_pause_s <= 3):
            raise InvalidInput(f"{where} line {number}: rate or pause out of range")
        rows.append(VoiceRate(backend, voice, words, rate, measured))
    if not rows:
        raise InvalidInput(f"{where}: no rates")
    return tuple(rows)


@functools.lru_cache(maxsize=1)
def shipped_rates() -> tuple[VoiceRate, ...]:
    return parse_rates(resources.files("prompts").joinpath("speech", "rates.tsv").read_text(encoding="utf-8"))


def rate_of(backend: str, voice: str, *, words_per_minute: int | None = None,
            rows: tuple[VoiceRate, ...] | None = None) -> VoiceRate:
    """The measured rate of a voice (at ``words_per_minute`` when given); the first row for unknown voices."""
    table = rows if rows is not None else shipped_rates()
    for row in table:
        if row.backend == backend and row.voice == voice and words_per_minute in (None, row.words_per_minute):
            return row
    return table[0]


def speaking_rate(settings: Settings | None = None) -> SpeakingRate:
    """The rate that Vietnamese scripts are estimated with: the measured rate of the voice that reads them
    (the registry's first Vietnamese voice; espeak-ng with ``settings.espeak_voice`` by default), with
    ``settings.speech_syllables_per_second`` in place of the measured syllable rate when set."""
    from engines.registry import ModelUnavailable, Task, load_registry
    from settings import get_settings

    s = settings or get_settings()
    try:
        entry = load_registry().pick(Task.TTS, "vi")
        backend, voice = entry.backend, (s.espeak_voice if entry.backend == "espeak-ng" else entry.name)
    except ModelUnavailable:
        backend, voice = "espeak-ng", s.espeak_voice
    rate = rate_of(backend, voice).rate
    override = s.speech_syllables_per_second
    if override:
        rate = SpeakingRate(override, rate.sentence_pause_s, rate.clause_pause_s)
    return rate
