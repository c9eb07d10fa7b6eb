"""Which voice speaks which language: the model registry's ``tts`` entries, turned into engines.

The registry lists voices in order (operator entries first, then the embedded espeak-ng for Vietnamese),
so an operator's Piper voice for ``vi`` replaces espeak-ng, and an MMS voice for ``km`` gives Khmer a
voice at all. A language nobody speaks gets :class:`NoVoice`, whose ``synthesize`` raises
:class:`VoiceUnavailable`: the production step then blocks the variant's loudspeaker audio until a
person records it (a person's recording always wins over any voice anyway).
"""

from __future__ import annotations

from pathlib import Path

from engines.errors import VoiceUnavailable
from engines.registry import ModelEntry, ModelUnavailable, Registry, Task, load_registry
from engines.tts import EspeakTTS, SpeechEngine, SpeechResult, primary_subtag


class NoVoice:
    """The engine for a language without any voice: says so clearly when asked to speak."""

    name = "none"

    def __init__(self, language: str) -> None:
        self.language = language

    def version(self) -> str:
        return ""

    def synthesize(self, text: str, language: str, out_wav: Path) -> SpeechResult:
        """Raises:
        VoiceUnavailable: always, naming the language and how to add a voice.
        """
        raise VoiceUnavailable(f"no voice for language {language}: espeak-ng speaks only Vietnamese; register a "
                               "Piper or MMS-TTS voice with 'bantin models add --task tts'")


def engine_of(entry: ModelEntry, *, espeak_voice: str | None = None) -> SpeechEngine:
    """The engine that runs a ``tts`` registry entry (models load lazily, on the first ``synthesize``).

    Args:
        entry: A registry entry of task ``tts``.
        espeak_voice: espeak-ng voice name for espeak-ng entries; default ``settings.espeak_voice``.

    Raises:
        ModelUnavailable: the entry is not a TTS entry or names an unknown backend.
    """
    if entry.task is not Task.TTS:
        raise ModelUnavailable(f"model '{entry.name}' is a {entry.task.value} model, not a voice")
    if entry.backend == "espeak-ng":
        if espeak_voice is None:
            from settings import get_settings

            espeak_voice = get_settings().espeak_voice
        return EspeakTTS(voice=espeak_voice, model=entry.name, licence=entry.licence)
    if entry.backend == "piper":
        from engines.tts_piper import PiperTTS

        return PiperTTS(entry)
    if entry.backend == "mms-tts":
        from engines.tts_mms import MmsTTS

        return MmsTTS(entry)
    raise ModelUnavailable(f"TTS backend '{entry.backend}' (model '{entry.name}') is not known")


def engine_for(language: str, registry: Registry | None = None, *, espeak_voice: str | None = None) -> SpeechEngine:
    """The voice for ``language`` (``vi``, ``vi-VN``, ``km``…): the registry's first ``tts`` entry covering it.

    Args:
        language: The variant's language code; a region subtag is ignored.
        registry: Default: :func:`engines.registry.load_registry` (settings' registry file).
        espeak_voice: espeak-ng voice for the embedded default; default ``settings.espeak_voice``.

    Returns:
        An engine; :class:`NoVoice` when no voice covers the language.
    """
    reg = registry or load_registry()
    code = primary_subtag(language)
    try:
        entry = reg.pick(Task.TTS, code)
    except ModelUnavailable:
        return NoVoice(code)
    return engine_of(entry, espeak_voice=espeak_voice)


def voices(registry: Registry | None = None) -> list[tuple[str, ModelEntry]]:
    """Every (language, entry) pair that would be chosen, for operators and benchmarks; ``*`` entries once."""
    reg = registry or load_registry()
    chosen: dict[str, ModelEntry] = {}
    for entry in reg.all():
        if entry.task is Task.TTS:
            for code in entry.languages:
                chosen.setdefault(code, entry)
    return sorted(chosen.items())
