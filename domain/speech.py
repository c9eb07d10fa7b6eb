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


# A script airs within this share of its slot: the summaries aim for it, and an edit past it is over budget.
SLOT_TOLERANCE = 0.10


@dataclass(frozen=True, slots=True)
class SlotWarning:
    """A bulletin whose audio lasts more than ``SLOT_TOLERANCE`` off its slot, said plainly to the editor and the
    approver. ``code``: ``short`` (``whole``: the draft was read whole and still falls short) or ``long``."""

    code: str
    seconds: float
    target_seconds: float
    whole: bool
    vi: str
    en: str

    def text(self, language: str = "vi") -> str:
        return self.en if language == "en" else self.vi

    def to_meta(self) -> dict[str, object]:
        return {"code": self.code, "seconds": self.seconds, "target_seconds": self.target_seconds,
                "whole": self.whole, "vi": self.vi, "en": self.en}


def slot_warning(seconds: float, target_seconds: float, *, whole: bool = False) -> SlotWarning | None:
    """The warning for audio of ``seconds`` in a slot of ``target_seconds`` (None within ±``SLOT_TOLERANCE``).

    A draft shorter than its slot is read whole, never padded: nothing is invented to fill air time, and the
    editor is told, so they can add to the text, or air it short knowingly.
    """
    if target_seconds <= 0:
        return None
    share = round(seconds / target_seconds - 1, 6)  # 66 s in a 60 s slot is 10 %, not 10.000000000000009 %
    if abs(share) <= SLOT_TOLERANCE:
        return None
    s, t, pct = f"{seconds:.0f}", f"{target_seconds:.0f}", f"{abs(share) * 100:.0f}"
    if share > 0:
        return SlotWarning("long", seconds, target_seconds, whole,
                           f"Bản tin đọc hết {s} giây, dài hơn khung {t} giây ({pct}%). Hãy rút gọn lời đọc.",
                           f"The bulletin lasts {s} s, {pct}% over its {t} s slot. Shorten the script.")
    if whole:
        return SlotWarning("short", seconds, target_seconds, whole,
                           f"Bản tin chỉ đọc hết {s} giây, ngắn hơn khung {t} giây ({pct}%): bản thảo đã được đọc "
                           "trọn vẹn, hệ thống không thêm nội dung. Có thể bổ sung bản thảo hoặc phát như vậy.",
                           f"The bulletin lasts only {s} s, {pct}% short of its {t} s slot: the whole draft is "
                           "read and nothing is added to fill it. Add to the draft, or air it as it is.")
    return SlotWarning("short", seconds, target_seconds, whole,
                       f"Bản tin chỉ đọc hết {s} giây, ngắn hơn khung {t} giây ({pct}%).",
                       f"The bulletin lasts only {s} s, {pct}% short of its {t} s slot.")
