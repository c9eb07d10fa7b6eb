"""Machine translation: one interface, backends chosen by the model registry.

No translation model ships in any registry package, so nothing here runs until an operator registers a
model directory (``bantin models add --task translate``). Backends:

* ``nllb-ct2``: NLLB-200 converted to CTranslate2 (int8), run without torch (:mod:`engines.translate_nllb`).
* ``nllb-transformers``: an NLLB-200 (M2M100) directory through ``AutoModelForSeq2SeqLM.generate``.
* ``marian``: an opus-mt (Marian) directory, one direction per model (:mod:`engines.translate_marian`).
* ``instruct``: a local instruction-tuned causal LM driven by ``prompts/translate`` (:mod:`engines.instruct`).

A registry entry lists the languages it serves; for ``marian`` the first is the source and the others
the targets (opus-mt models translate one way). Seq2seq backends translate sentence by sentence (what
they were trained on) and keep the text's line structure; the glossary's renderings are substituted into
their input. The instruction backend gets the whole text and the glossary in its prompt. The caller checks
the result (glossary, faithfulness) and blocks the variant when a check fails.

An operator's registry entry for NLLB-200-distilled-600M converted with
``ct2-transformers-converter --model <dir> --quantization int8 --copy_files sentencepiece.bpe.model``::

    [[model]]
    name = "nllb-600m-int8"
    task = "translate"
    languages = ["vi", "km"]
    backend = "nllb-ct2"
    path = "/srv/models/nllb-200-distilled-600M-ct2-int8"
    sha256 = "…"                  # bantin models add records it (a digest of the whole directory)
    licence = "CC-BY-NC-4.0"      # flagged non-commercial to operators
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from domain.glossary import Glossary
from domain.languages import LANGUAGES, nllb_code, script_of, script_share
from engines.errors import EngineError
from engines.registry import ModelEntry, ModelUnavailable, Registry, Task, load_registry

SEQ2SEQ_BACKENDS = frozenset({"nllb-ct2", "nllb-transformers", "marian"})
# A sentence ends at . ! ? … (and Khmer ។) followed by space; the mark stays with its sentence.
_SENTENCE_END = re.compile(r"(?<=[.!?…។])\s+")
# An output in another script than the target's is the source language copied through (NLLB does this on
# out-of-domain lines); below half of the letters in the target script, it is not a translation.
MIN_SCRIPT_SHARE = 0.5
# Same script (Vietnamese into English, Jrai, Tày): an output whose words mostly repeat the source's in order.
MAX_COPY_RATIO = 0.8
_WORD = re.compile(r"\w+")
_SCRIPT_LABELS = {"Khmr": "Khmer", "Latn": "Latin", "Laoo": "Lao", "Thai": "Thai"}


class TranslationError(EngineError):
    """The model ran but produced nothing usable: empty, malformed, or not in the target language."""


@dataclass(frozen=True)
class Translation:
    """A translated text and everything needed to audit it.

    Attributes:
        text: The translation, with the source's line structure for seq2seq backends.
        source_language: Project code of the input (``vi``).
        target_language: Project code of the output (``km``).
        engine: Backend name (``nllb-ct2``).
        engine_version: The backend package's version.
        model: Registry name of the model.
        model_sha256: Checksum recorded in the registry (verified before loading; empty if unchecked).
        licence: The model's licence, shown to operators (NLLB is CC-BY-NC-4.0).
        prompt: ``name/vN`` of the prompt (instruction backend only).
        prompt_sha256: Digest of that prompt's text.
        parameters: Decoding parameters (beam size, token limits, language codes).
    """

    text: str
    source_language: str
    target_language: str
    engine: str
    engine_version: str
    model: str
    model_sha256: str = ""
    licence: str = ""
    prompt: str = ""
    prompt_sha256: str = ""
    parameters: dict[str, Any] = field(default_factory=dict)

    def meta(self) -> dict[str, Any]:
        """Plain data for asset metadata and the audit log."""
        out: dict[str, Any] = {"engine": self.engine, "engine_version": self.engine_version, "model": self.model,
                               "model_sha256": self.model_sha256, "licence": self.licence,
                               "source_language": self.source_language, "parameters": dict(self.parameters)}
        if self.prompt:
            out |= {"prompt": self.prompt, "prompt_sha256": self.prompt_sha256}
        return out


class SentenceTranslator(Protocol):
    """What a seq2seq backend offers: a batch of sentences in, their translations out, in order."""

    engine: str
    engine_version: str

    def translate_sentences(self, sentences: Sequence[str], source: str, target: str) -> list[str]: ...

    def parameters(self, source: str, target: str) -> dict[str, Any]: ...


def _marian_covers(entry: ModelEntry, source: str, target: str) -> bool:
    return entry.languages[:1] == (source,) and target in entry.languages[1:]


def covers(entry: ModelEntry, source: str, target: str) -> bool:
    """Whether ``entry`` can translate ``source`` -> ``target`` (its languages, and the backend's codes)."""
    if entry.task is not Task.TRANSLATE or source == target:
        return False
    if entry.backend == "marian":
        return _marian_covers(entry, source, target)
    if not (entry.covers(source) and entry.covers(target)):
        return False
    if entry.backend in ("nllb-ct2", "nllb-transformers"):
        return nllb_code(source) is not None and nllb_code(target) is not None
    return True


def translator_for(target: str, *, source: str = "vi", registry: Registry | None = None) -> ModelEntry | None:
    """The first registered model that translates ``source`` into ``target``, or None (a person must).

    Args:
        target: Project code of the wanted language.
        source: Project code of the text's language.
        registry: Default: the configured registry.
    """
    registry = registry or load_registry()
    return next((e for e in registry.all() if covers(e, source, target)), None)


def malformed(text: str) -> bool:
    """Whether generated text holds U+FFFD (a token split inside a UTF-8 sequence) or control characters."""
    return any(ch == "\ufffd" or (unicodedata.category(ch) == "Cc" and ch not in "\n\t") for ch in text)


def split_sentences(line: str) -> list[str]:
    """Sentences of one line of text (a regex split: cheap, deterministic, no model)."""
    return [s for s in _SENTENCE_END.split(line.strip()) if s]


def untranslated(source: str, output: str, *, source_language: str, target: str,
                 glossary: Glossary | None = None) -> str | None:
    """Why ``output`` is not a translation of ``source`` into ``target``, or None when it may be one.

    Two failures put source text into the target slot while passing every other check (a copied text
    keeps all the facts, and the glossary's renderings were substituted into the model's input): an
    output mostly in another script than the target's, and an output that repeats the source's words.
    Glossary terms are left out of both measures, because protected names are copied on purpose.

    Args:
        source: What the model was given (with the glossary applied).
        output: What it produced.
        source_language: Project code of the source.
        target: Project code of the output.
        glossary: The target language's glossary.
    """
    glossary = glossary or Glossary(language=target)
    src, out = glossary.strip_terms(source), glossary.strip_terms(output)
    script = script_of(target)
    if script != script_of(source_language):
        share = script_share(out, script)
        if share is not None and share < MIN_SCRIPT_SHARE:
            label = _SCRIPT_LABELS.get(script, script)
            return f"it is not written in {label} script (only {share:.0%} of its letters are)"
    src_words, out_words = _WORD.findall(src.casefold()), _WORD.findall(out.casefold())
    if len(src_words) >= 3 and difflib.SequenceMatcher(None, src_words, out_words, autojunk=False).ratio() \
            >= MAX_COPY_RATIO:
        return "it repeats the source text"
    return None


def _reject(entry: ModelEntry, target: str, why: str, output: str, where: str = "") -> TranslationError:
    name = LANGUAGES[target].name_en if target in LANGUAGES else target
    shown = " ".join(output.split())
    shown = shown if len(shown) <= 80 else shown[:79] + "…"
    return TranslationError(f"model '{entry.name}' did not translate{where} into {name}: {why} («{shown}»)")


def _backend(entry: ModelEntry, settings: Any) -> SentenceTranslator:
    if entry.backend == "nllb-ct2":
        from engines.translate_nllb import load_ct2

        return load_ct2(entry, beam_size=settings.mt_beam_size, max_tokens=settings.mt_max_tokens)
    if entry.backend == "nllb-transformers":
        from engines.translate_nllb import load_transformers

        return load_transformers(entry, beam_size=settings.mt_beam_size, max_tokens=settings.mt_max_tokens)
    if entry.backend == "marian":
        from engines.translate_marian import load_marian

        return load_marian(entry, beam_size=settings.mt_beam_size, max_tokens=settings.mt_max_tokens)
    raise ModelUnavailable(f"model '{entry.name}': backend '{entry.backend}' does not translate sentences")


def translate(text: str, *, target: str, entry: ModelEntry, glossary: Glossary | None = None,
              source: str = "vi") -> Translation:
    """Translate a text with a registered model.

    Args:
        text: Source text; lines are kept (each translated on its own).
        target: Project code of the output language.
        entry: The model (see :func:`translator_for`).
        glossary: Terms to apply (substituted into seq2seq input, listed in the instruction prompt).
        source: Project code of the input language.

    Returns:
        The translation with its provenance.

    Raises:
        InvalidInput: The model does not cover the pair.
        ModelUnavailable: The model's files or its backend package are missing.
        ModelChecksumMismatch: The files differ from the registry's SHA-256.
        TranslationError: The model failed while generating, or produced an empty or malformed translation,
            or one still in the source language (see :func:`untranslated`).
    """
    from domain.errors import InvalidInput
    from settings import get_settings

    if not covers(entry, source, target):
        name = LANGUAGES[target].name_en if target in LANGUAGES else target
        raise InvalidInput(f"model '{entry.name}' does not translate {source} into {name} ({target})")
    settings = get_settings()
    glossary = glossary or Glossary(language=target)
    if entry.backend == "instruct":
        from engines.instruct import translate_text

        result = translate_text(entry, text, source=source, target=target, glossary=glossary,
                                max_new_tokens=settings.mt_max_tokens * 4)
    else:
        backend = _backend(entry, settings)
        lines = text.splitlines()
        per_line = [split_sentences(glossary.apply(line)) for line in lines]
        flat = [s for sentences in per_line for s in sentences]
        translated = [" ".join(t.split()) for t in (backend.translate_sentences(flat, source, target) if flat else [])]
        if len(translated) != len(flat):
            raise TranslationError(f"model '{entry.name}' returned {len(translated)} sentences for {len(flat)}")
        # Checked sentence by sentence: one sentence dropped or left in Vietnamese is a lost instruction.
        for number, (given, got) in enumerate(zip(flat, translated, strict=True), 1):
            why = "it is empty" if not got else untranslated(given, got, source_language=source, target=target,
                                                              glossary=glossary)
            if why:
                raise _reject(entry, target, why, got, f" sentence {number} of {len(flat)}")
        outputs = iter(translated)
        out_lines = [" ".join(next(outputs) for _ in sentences) for sentences in per_line]
        params = backend.parameters(source, target) | {"glossary_mode": "inline", "unit": "sentence",
                                                       "sentences": len(flat)}
        result = Translation("\n".join(out_lines).strip(), source, target, backend.engine,
                             backend.engine_version, entry.name, parameters=params)
    if not result.text.strip():
        raise TranslationError(f"model '{entry.name}' produced an empty {target} translation")
    if malformed(result.text):
        raise TranslationError(f"model '{entry.name}' produced malformed text (broken characters or control codes)")
    why = untranslated(glossary.apply(text), result.text, source_language=source, target=target, glossary=glossary)
    if why:
        raise _reject(entry, target, why, result.text)
    return Translation(result.text, source, target, result.engine, result.engine_version, entry.name,
                       entry.sha256, entry.licence, result.prompt, result.prompt_sha256,
                       result.parameters | {"glossary_version": glossary.version[:12]})
