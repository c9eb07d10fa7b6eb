"""Extractive Vietnamese summaries for loudspeaker scripts and e-board text.

Sentences come from underthesea's ``sent_tokenize``, words from its CRF ``word_tokenize`` (so
"ủy ban nhân dân" counts as words, not as unrelated syllables), and sentence centrality from sumy's
LexRank, blended with a lead bias: commune announcements put the key fact (who, what, when) first.
sumy gets its own tokenizer object, so NLTK's punkt data is never needed. Everything is
deterministic: the same text and limits give the same summary.

Sentences stating *when* (a date or a time) and *where* (a place) get a bonus on top of that: a
bulletin that drops them is useless, and people glance at a board precisely to learn them (the slide
already shows the title). Sentences come from :mod:`engines.sentences` (wrapped lines joined, blocks closed,
fragments marked); fragments are never read, the lead is chosen on its merits, and the script is the best
set of whole sentences that fits, measured on the normalised speech text. Abstractive backends (a seq2seq
model, an instruction model; see :func:`summarize_with`) produce free text that :func:`fit_generated` trims
to the same limits.
"""

from __future__ import annotations

import math
import re
import textwrap
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy

from domain.faithfulness import extract_facts
from domain.framing import is_order
from domain.speech import SpeakingRate
from engines.errors import SummaryError
from engines.script_fit import FILL_SHARE, choose
from engines.sentences import is_fragment
from engines.sentences import split_sentences as _split_sentences
from engines.textnorm import normalize_for_speech

if TYPE_CHECKING:
    from sumy.summarizers.lex_rank import LexRankSummarizer

    from engines.registry import ModelEntry

LEAD_WEIGHT = 0.5  # share of a sentence's score that comes from its position, which decays as 1/sqrt(1+i)
# Function words that would otherwise make every sentence look similar to every other.
STOP_WORDS = frozenset(
    "và của các những là được cho với trong này đã sẽ có không thì để từ tại theo về một đến khi "
    "cũng như nhưng hoặc nếu vào ra lên trên dưới sau trước do bị rằng thì vẫn đang rất nhiều".split()
)
_CLAUSE_BREAK = re.compile(r"[,;:]\s+|\s+[–—-]\s+")
# Board bonuses: a sentence saying when (a date or a time) or where (a place word before a name).
WHEN_WEIGHT = 0.5
WHERE_WEIGHT = 0.3
# Script bonuses: targets, deadlines and counts are numbers; who acts is a named body or person.
NUMBER_WEIGHT = 0.2
WHO_WEIGHT = 0.1
ORDER_WEIGHT = 0.3  # what residents must do ("yêu cầu", "nghiêm cấm", "phải"): the point of an announcement
CONTACT_WEIGHT = 0.3  # on the board, a number to call: a reader can note it down, a listener may not
# In an emergency (a key instruction is given) what to do and whom to call outweigh forecast details.
URGENT_ORDER_WEIGHT = 0.4
URGENT_CONTACT_WEIGHT = 0.4
_PLACE_WORD = re.compile(r"(?<!\w)(?:tại|ở|địa điểm|nơi)(?!\w)", re.I)


@dataclass(frozen=True)
class Summary:
    """A loudspeaker script, an e-board text, and how they were chosen.

    Attributes:
        script: Selected sentences in their original order.
        board_text: At most ``board_lines`` lines of at most ``board_line_chars`` characters.
        sentence_indexes: Indexes (in the sentence split of the input) of the script's sentences.
        estimated_seconds: Estimated speaking time of the script, on its normalised speech text.
        method: ``whole``, ``lexrank+lead``, with ``+clause-cut`` when the first sentence was cut;
            ``seq2seq`` or ``instruct`` (with ``+trimmed``) for the abstractive backends.
        notes: Human-readable remarks for the operator (e.g. what was cut).
        engine: Backend: ``extractive``, ``seq2seq`` or ``instruct``.
        engine_version: The backend package's version (transformers for the abstractive ones).
        model: Registry name of the model (``extractive`` for the default).
        model_sha256: Checksum recorded for the model (empty when unchecked or built in).
        prompt: ``name/vN`` of the prompt(s) used (instruction backend).
        prompt_sha256: Digest of the prompt text(s).
        parameters: Decoding parameters of the abstractive backends.
    """

    script: str
    board_text: str
    sentence_indexes: tuple[int, ...]
    estimated_seconds: float
    method: str
    notes: tuple[str, ...] = ()
    engine: str = "extractive"
    engine_version: str = ""
    model: str = "extractive"
    model_sha256: str = ""
    prompt: str = ""
    prompt_sha256: str = ""
    parameters: dict[str, Any] = field(default_factory=dict)

    def meta(self) -> dict[str, Any]:
        """What produced the summary, for asset metadata and the audit log."""
        out: dict[str, Any] = {"engine": self.engine, "model": self.model, "method": self.method,
                               "sentences": list(self.sentence_indexes)}
        for key in ("engine_version", "model_sha256"):
            if getattr(self, key):
                out[key] = getattr(self, key)
        if self.prompt:  # "prompt" in asset metadata is the loudspeaker frame; this one made the summary
            out |= {"summary_prompt": self.prompt, "summary_prompt_sha256": self.prompt_sha256}
        if self.parameters:
            out["parameters"] = dict(self.parameters)
        return out


class _VietnameseTokenizer:
    """The two methods sumy calls on a tokenizer, backed by underthesea."""

    def to_sentences(self, paragraph: str) -> tuple[str, ...]:
        from engines.vi_tokenize import sent_tokenize  # lazily, without underthesea's translate (torch)

        return tuple(" ".join(s.split()) for s in sent_tokenize(paragraph) if s.strip())

    def to_words(self, sentence: str) -> tuple[str, ...]:
        from engines.vi_tokenize import word_tokenize

        words = (w.lower() for w in word_tokenize(sentence))
        return tuple(w for w in words if any(c.isalnum() for c in w) and w not in STOP_WORDS)


@lru_cache(maxsize=1)
def _tokenizer() -> _VietnameseTokenizer:
    tokenizer = _VietnameseTokenizer()
    tokenizer.to_words("khởi động")  # loads the CRF model once per process (~0.3 s)
    return tokenizer


@lru_cache(maxsize=1)
def _lexrank() -> LexRankSummarizer:
    from sumy.summarizers.lex_rank import LexRankSummarizer  # sumy pulls in nltk and scipy.stats: 1-4 s

    return LexRankSummarizer()


def split_sentences(text: str) -> tuple[str, ...]:
    """Split text into sentences: wrapped lines joined, blocks closed with a full stop, list items joined to
    their introduction (see :mod:`engines.sentences`).

    Args:
        text: Vietnamese text.

    Returns:
        Sentences with inner whitespace collapsed, in order.
    """
    _tokenizer()
    return _split_sentences(text)


def speech_seconds(text: str, *, rate: SpeakingRate | None = None) -> float:
    """Estimated speaking time of ``text`` as the voice reads it: on the normalised speech text, where
    "7h30" is "bảy giờ ba mươi phút" and "UBND" is "Ủy ban nhân dân", at ``rate`` (default: espeak-ng's)."""
    return (rate or SpeakingRate()).seconds(normalize_for_speech(text))


def _scores(sentences: tuple[str, ...]) -> list[float]:
    """Per sentence: LexRank centrality blended with position."""
    n = len(sentences)
    centrality = [0.0] * n
    if n > 2:  # with two sentences LexRank's idf is zero for every word
        from sumy.models.dom import ObjectDocumentModel, Paragraph, Sentence

        document = ObjectDocumentModel([Paragraph([Sentence(s, _tokenizer()) for s in sentences])])
        infos: list = []

        def keep_all(ranked: list) -> list:
            infos.extend(ranked)  # sumy passes (sentence, order, rating) for every sentence
            return ranked

        with numpy.errstate(all="ignore"):  # a graph without edges yields NaN ratings, handled below
            _lexrank()(document, keep_all)
        for info in infos:
            centrality[info.order] = float(info.rating) if math.isfinite(info.rating) else 0.0
    top = max(centrality) or 1.0
    return [(1 - LEAD_WEIGHT) * c / top + LEAD_WEIGHT / math.sqrt(1 + i) for i, c in enumerate(centrality)]


def _order(scores: list[float]) -> list[int]:
    return sorted(range(len(scores)), key=lambda i: (-round(scores[i], 9), i))  # ties: the earlier sentence


def when_where(sentence: str) -> tuple[bool, bool]:
    """Whether a sentence states a date or time, and whether it states a place (a place word and a name)."""
    kinds = {f.kind for f in extract_facts(sentence)}
    return bool(kinds & {"date", "time"}), "name" in kinds and bool(_PLACE_WORD.search(sentence))


def board_rank(sentences: tuple[str, ...], scores: list[float] | None = None) -> list[int]:
    """Sentence indexes, best first: centrality and lead, plus the when/where bonuses."""
    return _order(_boosted(sentences, scores))


def _boosted(sentences: tuple[str, ...], scores: list[float] | None = None, *, script: bool = False,
             urgent: bool = False) -> list[float]:
    base = scores if scores is not None else _scores(sentences)
    boosted = []
    for score, sentence in zip(base, sentences, strict=True):
        when, where = when_where(sentence)
        value = score + WHEN_WEIGHT * when + WHERE_WEIGHT * where + ORDER_WEIGHT * is_order(sentence)
        kinds = {f.kind for f in extract_facts(sentence)}
        if urgent:
            value += URGENT_ORDER_WEIGHT * is_order(sentence) + URGENT_CONTACT_WEIGHT * ("phone" in kinds)
        if script:
            value += NUMBER_WEIGHT * bool(kinds & {"number", "phone"}) + WHO_WEIGHT * ("name" in kinds)
        else:
            value += CONTACT_WEIGHT * ("phone" in kinds)
        boosted.append(value)
    return boosted


def _board_order(sentences: tuple[str, ...], base: list[float], complete: set[int], keep: str) -> list[int]:
    """Board candidates, best first. With a key instruction (an emergency's), it leads and a number to call
    comes next: a reader glancing at the board must learn what to do and whom to call before any detail."""
    ranked = [i for i in board_rank(sentences, base) if i in complete]
    key = [i for i in ranked if keep and sentences[i] == keep][:1]
    if not key:
        return ranked
    rest = [i for i in ranked if i != key[0]]
    calls = [i for i in rest if any(f.kind == "phone" for f in extract_facts(sentences[i]))]
    return key + calls + [i for i in rest if i not in calls]


def _cut_to_fit(sentence: str, max_seconds: float, rate: SpeakingRate | None = None) -> tuple[str, str]:
    """Shorten one sentence to ``max_seconds``, at a clause boundary when possible."""
    best = ""
    for match in _CLAUSE_BREAK.finditer(sentence):
        candidate = sentence[: match.start()].rstrip(",;:–—- ") + "."
        if speech_seconds(candidate, rate=rate) <= max_seconds:
            best = candidate
    if best:
        return best, "clause-cut"
    words, kept = sentence.split(), ""
    for end in range(1, len(words) + 1):  # no clause fits: cut between words
        candidate = " ".join(words[:end]).rstrip(",;:–—-.") + "."
        if speech_seconds(candidate, rate=rate) > max_seconds:
            break
        kept = candidate
    return kept or words[0], "word-cut"


def _board(sentences: tuple[str, ...], ranked: list[int], lines: int, width: int) -> str:
    """Fill the board starting from the best sentence, adding the next best that fit, in text order."""
    wrap = textwrap.TextWrapper(width=width, break_long_words=True, break_on_hyphens=False)

    def fits(text: str) -> bool:
        return len(wrap.wrap(text)) <= lines

    best = sentences[ranked[0]]
    if not fits(best):  # the key sentence alone is too long: shorten it rather than drop it
        cuts = [best[: m.start()].rstrip(",;:–—- ") + "." for m in _CLAUSE_BREAK.finditer(best)]
        fitting = [cut for cut in cuts if fits(cut)]
        if fitting:
            return "\n".join(wrap.wrap(fitting[-1]))
        wrapped = wrap.wrap(best)[:lines]
        last = wrapped[-1]
        wrapped[-1] = (last if len(last) < width else last[: width - 1].rstrip()) + "…"
        return "\n".join(wrapped)
    chosen = [ranked[0]]
    for index in ranked[1:]:
        trial = sorted(chosen + [index])
        if fits(" ".join(sentences[i] for i in trial)):
            chosen = trial
    return "\n".join(wrap.wrap(" ".join(sentences[i] for i in chosen)))


def summarize(text: str, *, max_seconds: float, board_lines: int, board_line_chars: int = 48,
              rate: SpeakingRate | None = None, keep: str = "", min_seconds: float | None = None,
              stretch_seconds: float = 0.0) -> Summary:
    """Choose a loudspeaker script and a board text from a Vietnamese announcement.

    Only complete sentences are candidates: fragments (a name, a heading, a list item alone) are never
    read (see :func:`engines.sentences.is_fragment`). Sentences are ranked by centrality, position and
    what they state (when, where, numbers, who), and the best set that fits between ``min_seconds`` and
    ``max_seconds`` is chosen exactly (see :mod:`engines.script_fit` for when none does); the lead is chosen
    on its merits, not forced, but the best sentence saying when (a date or a time) is read whenever a script
    with it fills the slot as well as one without. Length is measured on the normalised speech text (what the
    voice reads).

    Args:
        text: The announcement body.
        max_seconds: Longest allowed script, in estimated speaking seconds.
        board_lines: Lines available on the e-board.
        board_line_chars: Characters per board line.
        rate: Speaking rate of the voice that will read the script (default: espeak-ng's).
        keep: A sentence of the text the script must contain when it fits (an emergency's key instruction).
        min_seconds: Shortest wanted script, when whole sentences allow; default ``FILL_SHARE`` of the maximum
            (see :mod:`engines.script_fit`).
        stretch_seconds: How far past ``max_seconds`` the script may run when no set of whole sentences
            reaches ``min_seconds`` without going over, and it overruns by less than the fullest set falls short.

    Returns:
        The summary, sentences in their original order; every complete sentence when they all fit; the
        best sentence cut at a clause boundary when no sentence fits alone.

    Raises:
        SummaryError: The text has no complete sentence, or a limit is not positive.
    """
    if max_seconds <= 0 or board_lines < 1 or board_line_chars < 8:
        raise SummaryError("max_seconds, board_lines and board_line_chars must be positive (line chars >= 8)")
    sentences = split_sentences(text or "")
    if not sentences:
        raise SummaryError("nothing to summarise: the text is empty")
    whole_set = [i for i, x in enumerate(sentences) if not is_fragment(x)]
    if not whole_set:
        raise SummaryError("no complete sentence to read: the text has only headings, names or list items "
                           f"({'; '.join(sentences[:3])})")
    rate = rate or SpeakingRate()
    base = _scores(sentences)
    scores = _boosted(sentences, base, script=True, urgent=bool(keep))
    complete = set(whole_set)
    ranked = [i for i in _order(scores) if i in complete]
    board = _board(sentences, _board_order(sentences, base, complete, keep), board_lines, board_line_chars)
    notes: list[str] = []
    if len(whole_set) < len(sentences):
        notes.append(f"left out {len(sentences) - len(whole_set)} fragment(s) (names, headings, list items)")
    seconds = {i: speech_seconds(sentences[i], rate=rate) for i in whole_set}
    if sum(seconds.values()) <= max_seconds:
        script = " ".join(sentences[i] for i in whole_set)
        return Summary(script, board, tuple(whole_set), speech_seconds(script, rate=rate),
                       "whole", tuple(notes))
    forced = [i for i in whole_set if keep and sentences[i] == keep and seconds[i] <= max_seconds][:1]
    floor = FILL_SHARE * max_seconds if min_seconds is None else min_seconds
    dated = [i for i in ranked if when_where(sentences[i])[0]][:1]  # the best sentence saying when
    picked = choose(scores, seconds, ranked, forced, dated[0] if dated else None, max_seconds, floor, stretch_seconds)
    method = "lexrank+lead"
    if picked:
        script = " ".join(sentences[i] for i in picked)
    else:  # no complete sentence fits alone: shorten the best one rather than read nothing
        best = ranked[0]
        script, how = _cut_to_fit(sentences[best], max_seconds, rate)
        picked, method = [best], f"{method}+{how}"
        notes.append(f"the best sentence alone is longer than {max_seconds:.0f} s, so it was cut ({how})")
    kept, total = len(picked), len(sentences)
    notes.append(f"kept {kept} of {total} sentences, left out {total - kept} to fit {max_seconds:.0f} s")
    return Summary(script, board, tuple(picked), speech_seconds(script, rate=rate), method,
                   tuple(notes))


def fit_generated(generated: str, *, max_seconds: float, board_lines: int, board_line_chars: int = 48,
                  board_source: str | None = None, method: str) -> Summary:
    """Trim a generated summary to the loudspeaker limit and choose a board text from it.

    Args:
        generated: The model's summary.
        max_seconds: Longest allowed script, in estimated speaking seconds.
        board_lines: Lines available on the e-board.
        board_line_chars: Characters per board line.
        board_source: A separately generated board text; default: chosen from ``generated``'s sentences.
        method: ``seq2seq`` or ``instruct``; ``+trimmed`` is added when sentences were dropped.

    Returns:
        The summary: the generated sentences in order while they fit (the first cut at a clause if it alone
        is too long), and the board filled from the best when/where sentences.

    Raises:
        SummaryError: The model produced no text.
    """
    sentences = split_sentences(generated or "")
    if not sentences:
        raise SummaryError(f"the {method} model produced an empty summary")
    if any(ch == "\ufffd" or (unicodedata.category(ch) == "Cc" and ch not in "\n\t") for ch in generated):
        raise SummaryError(f"the {method} model produced malformed text (broken characters or control codes)")
    kept: list[str] = []
    notes: list[str] = []
    for sentence in sentences:
        if speech_seconds(" ".join([*kept, sentence])) > max_seconds:
            break
        kept.append(sentence)
    if not kept:
        first, how = _cut_to_fit(sentences[0], max_seconds)
        kept, method = [first], f"{method}+{how}"
        notes.append(f"the generated first sentence is longer than {max_seconds:.0f} s, so it was cut ({how})")
    elif len(kept) < len(sentences):
        method += "+trimmed"
        notes.append(f"kept {len(kept)} of {len(sentences)} generated sentences to fit {max_seconds:.0f} s")
    board_sentences = split_sentences(board_source) if board_source and board_source.strip() else sentences
    board = _board(board_sentences, board_rank(board_sentences), board_lines, board_line_chars)
    script = " ".join(kept)
    return Summary(script, board, tuple(range(len(kept))), speech_seconds(script), method, tuple(notes))


def summarize_with(model: ModelEntry | None, text: str, *, max_seconds: float, board_lines: int,
                   board_line_chars: int = 48, max_new_tokens: int = 256,
                   rate: SpeakingRate | None = None, min_seconds: float | None = None) -> Summary:
    """Summarise with the registry's model: extractive (default), ``seq2seq`` or ``instruct``.

    Args:
        model: The summarisation entry (``Registry.pick(Task.SUMMARIZE, "vi")``); None for extractive.
        text: The announcement body.
        max_seconds: Longest allowed script, in estimated speaking seconds.
        board_lines: Lines available on the e-board.
        board_line_chars: Characters per board line.
        max_new_tokens: Decoding cap for the abstractive backends.
        rate: Speaking rate of the voice (extractive backend; default: espeak-ng's).
        min_seconds: Shortest wanted script (extractive backend, see :func:`summarize`).

    Raises:
        SummaryError: Empty text or limits, or the model failed or produced an empty summary.
        ModelUnavailable: The model's files or the ml extra are missing.
        ModelChecksumMismatch: The files differ from the registry's SHA-256.
    """
    if model is None or model.backend == "extractive":
        return summarize(text, max_seconds=max_seconds, board_lines=board_lines, board_line_chars=board_line_chars,
                         rate=rate, min_seconds=min_seconds)
    if max_seconds <= 0 or board_lines < 1 or board_line_chars < 8:
        raise SummaryError("max_seconds, board_lines and board_line_chars must be positive (line chars >= 8)")
    if not (text or "").strip():
        raise SummaryError("nothing to summarise: the text is empty")
    from engines.errors import EngineError
    from engines.registry import ModelChecksumMismatch, ModelUnavailable

    run: Callable[..., Summary]
    if model.backend == "seq2seq":
        from engines.summarize_seq2seq import summarize_seq2seq as run
    elif model.backend == "instruct":
        from engines.instruct import summarize_text as run
    else:
        raise ModelUnavailable(f"model '{model.name}': backend '{model.backend}' does not summarise")
    try:
        return run(model, text, max_seconds=max_seconds, board_lines=board_lines,
                   board_line_chars=board_line_chars, max_new_tokens=max_new_tokens)
    except (SummaryError, ModelUnavailable, ModelChecksumMismatch):
        raise
    except EngineError as exc:  # the model ran and failed: like an empty answer, it blocks the variant
        raise SummaryError(f"the {model.backend} model '{model.name}' failed: {exc}") from exc
