"""Speech-length arithmetic for loudspeaker scripts.

Vietnamese is written one syllable per space-separated token, so syllables are counted as tokens. A script's
reading time is its syllables at the voice's rate plus a pause at every sentence end (``.``, ``!``, ``?``)
and a shorter one at every clause break (``,``, ``;``, ``:``): espeak-ng pauses at both, and on news text
with many commas that is several seconds per minute. The numbers of a voice are measured, not guessed: see
:class:`SpeakingRate` and ``prompts/speech/rates.tsv``.
"""

import re
from dataclasses import dataclass

# espeak-ng's northern Vietnamese voice at 140 words per minute (prompts/speech/rates.tsv, first row).
DEFAULT_SYLLABLES_PER_SECOND = 3.85
DEFAULT_SENTENCE_PAUSE_S = 0.68
DEFAULT_CLAUSE_PAUSE_S = 0.31
_TOKEN = re.compile(r"\w+", re.UNICODE)
_SENTENCE_END = re.compile(r"[.!?…]+")
_CLAUSE_BREAK = re.compile(r"[,;:]+")


@dataclass(frozen=True, slots=True)
class SpeakingRate:
    """How fast a voice reads: syllables per second, and the pauses it makes at sentence ends and clause
    breaks (seconds each)."""

    syllables_per_second: float = DEFAULT_SYLLABLES_PER_SECOND
    sentence_pause_s: float = DEFAULT_SENTENCE_PAUSE_S
    clause_pause_s: float = DEFAULT_CLAUSE_PAUSE_S

    def seconds(self, text: str) -> float:
        """Estimated reading time of ``text`` (already normalised for speech) in seconds."""
        return estimate_speech_seconds(text, syllables_per_second=self.syllables_per_second,
                                       sentence_pause_s=self.sentence_pause_s, clause_pause_s=self.clause_pause_s)

    def to_meta(self) -> dict[str, float]:
        return {"syllables_per_second": self.syllables_per_second, "sentence_pause_s": self.sentence_pause_s,
                "clause_pause_s": self.clause_pause_s}


def count_syllables(text: str) -> int:
    return len(_TOKEN.findall(text))


def count_pauses(text: str) -> tuple[int, int]:
    """Sentence ends and clause breaks in ``text``; a text without a final stop still ends one sentence."""
    return max(1, len(_SENTENCE_END.findall(text))), len(_CLAUSE_BREAK.findall(text))


def estimate_speech_seconds(text: str, *, syllables_per_second: float = DEFAULT_SYLLABLES_PER_SECOND,
                            sentence_pause_s: float = DEFAULT_SENTENCE_PAUSE_S,
                            clause_pause_s: float = DEFAULT_CLAUSE_PAUSE_S) -> float:
    """Estimated reading time of ``text`` in seconds: syllables at the rate, plus the pauses."""
    sentences, clauses = count_pauses(text)
    return count_syllables(text) / syllables_per_second + sentence_pause_s * sentences + clause_pause_s * clauses
