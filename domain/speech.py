"""Speech-length arithmetic for loudspeaker scripts.

Vietnamese is written one syllable per space-separated token, so syllables are counted as tokens.
Commune announcers read slowly and clearly; 3.0 syllables per second matches a measured 2-3 s per
short sentence on loudspeakers and errs on the long side.
"""

import re

DEFAULT_SYLLABLES_PER_SECOND = 3.0
_TOKEN = re.compile(r"\w+", re.UNICODE)


def count_syllables(text: str) -> int:
    return len(_TOKEN.findall(text))


def estimate_speech_seconds(text: str, *, syllables_per_second: float = DEFAULT_SYLLABLES_PER_SECOND) -> float:
    """Estimated reading time of ``text`` in seconds, with a short pause per sentence."""
    sentences = max(1, len(re.findall(r"[.!?;:]+", text)))
    return count_syllables(text) / syllables_per_second + 0.4 * sentences
