"""Text-to-speech: the common result type, the engine interface, and espeak-ng, the embedded default voice.

Other backends live beside this module (tts_piper.py: Piper voices by path; tts_mms.py: MMS-TTS VITS
through transformers by path); engines/voices.py picks one per language from the model registry.

espeak-ng is rule-based formant synthesis: it runs anywhere, needs no model files, and speaks
Vietnamese (voices ``vi``, ``vi-vn-x-central``, ``vi-vn-x-south``), but it sounds robotic. Every
result is therefore marked ``synthetic=True`` so the review UI and the audit log say so. It has no
voice for Khmer or for any Vietnamese minority language; those variants need a person's recording or
an operator-supplied model, and :class:`VoiceUnavailable` tells the caller to block the variant.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from engines.errors import EngineError, VoiceUnavailable, stderr_tail

_INSTALL_HINT = "install espeak-ng: apt-get install espeak-ng"


@dataclass(frozen=True)
class SpeechResult:
    """A synthesised WAV file and what made it.

    ``synthetic`` is True for every engine here (only a person's recording is not synthetic); ``model``
    names the registry entry and ``licence`` its licence, for the audit log (MMS voices are CC-BY-NC).
    """

    path: Path
    duration_s: float
    engine: str
    voice: str
    synthetic: bool
    sample_rate: int
    model: str = ""
    licence: str = ""


class SpeechEngine(Protocol):
    """What every TTS backend offers (espeak-ng, Piper, MMS-TTS)."""

    name: str

    def synthesize(self, text: str, language: str, out_wav: Path) -> SpeechResult:
        """Speak ``text`` in ``language`` into ``out_wav`` (replaced atomically)."""
        ...

    def version(self) -> str:
        """The engine package's version, for audit metadata."""
        ...


def primary_subtag(language: str) -> str:
    """``vi`` for ``vi-VN`` or ``vi_VN``: voices are chosen by the language, not the region."""
    return re.split(r"[-_]", language.strip().lower(), maxsplit=1)[0]


def check_text(text: str) -> None:
    """Refuse empty text with the same message for every engine.

    Raises:
        EngineError: the text is empty or whitespace.
    """
    if not text.strip():
        raise EngineError("nothing to synthesize: the text is empty")


def write_wav(samples: Any, sample_rate: int, out_wav: Path) -> float:
    """Write float samples in [-1, 1] as 16-bit mono WAV, atomically; return the duration in seconds.

    Raises:
        EngineError: there are no samples, or they are not finite.
    """
    import numpy as np

    data = np.asarray(samples, dtype=np.float32).reshape(-1)
    if data.size == 0 or not np.isfinite(data).all():
        raise EngineError("the voice produced no usable audio (empty or not finite)")
    out_wav = Path(out_wav)
    out_wav.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_wav.with_name(f".{out_wav.name}.partial")
    try:
        with wave.open(str(tmp), "wb") as wav:
            wav.setnchannels(1)
            wav.setsampwidth(2)
            wav.setframerate(sample_rate)
            wav.writeframes((np.clip(data, -1.0, 1.0) * 32767.0).astype("<i2").tobytes())
        os.replace(tmp, out_wav)
    finally:
        tmp.unlink(missing_ok=True)
    return data.size / sample_rate


def _binary() -> str:
    found = shutil.which("espeak-ng")
    if found is None:
        raise EngineError(f"espeak-ng not found on PATH: {_INSTALL_HINT}")
    return found


@functools.lru_cache(maxsize=1)
def version() -> str:
    """Return the installed espeak-ng version (e.g. ``"1.51"``) for audit metadata.

    Raises:
        EngineError: espeak-ng is not installed or does not answer.
    """
    try:
        args = [_binary(), "--version"]
        proc = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, timeout=10)
    except subprocess.TimeoutExpired:
        raise EngineError("espeak-ng --version timed out") from None
    text = proc.stdout.decode("utf-8", "replace")
    match = re.search(r"text-to-speech:\s*(\S+)", text)
    if proc.returncode != 0 or match is None:
        raise EngineError(f"espeak-ng --version failed: {stderr_tail(proc.stderr or proc.stdout)}")
    return match.group(1)


class EspeakTTS:
    """Vietnamese speech from espeak-ng.

    Args:
        voice: espeak-ng voice name (``vi`` northern, ``vi-vn-x-central``, ``vi-vn-x-south``).
        words_per_minute: Speaking rate; 140 is slower than espeak's default 175, which suits
            loudspeakers heard outdoors.
        timeout_s: Seconds before espeak-ng is killed.
    """

    name = "espeak-ng"
    languages = frozenset({"vi"})

    def __init__(self, voice: str = "vi", words_per_minute: int = 140, *, timeout_s: float = 120.0,
                 model: str = "espeak-ng", licence: str = "GPL-3.0") -> None:
        if not 80 <= words_per_minute <= 450:  # espeak-ng's accepted range
            raise ValueError(f"words_per_minute must be between 80 and 450, got {words_per_minute}")
        self.voice = voice
        self.words_per_minute = words_per_minute
        self.timeout_s = timeout_s
        self.model, self.licence = model, licence

    def version(self) -> str:
        """The installed espeak-ng version (see :func:`version`)."""
        return version()

    def synthesize(self, text: str, language: str, out_wav: Path) -> SpeechResult:
        """Speak ``text`` into a WAV file (22 050 Hz mono, 16-bit).

        The text goes to espeak-ng on stdin, never on the command line, so no text can be read as an
        option and there is no length limit. Without ``-m`` espeak-ng does not interpret markup.

        Args:
            text: What to say (UTF-8; Vietnamese with diacritics).
            language: Language code of the text, e.g. ``"vi"``.
            out_wav: Where to write the WAV (replaced atomically).

        Returns:
            The file with its duration, always marked synthetic.

        Raises:
            VoiceUnavailable: espeak-ng has no voice for ``language`` or lacks the configured voice.
            EngineError: espeak-ng is missing, failed, timed out, or the text is empty.
        """
        if primary_subtag(language) not in self.languages:
            speaks = ", ".join(sorted(self.languages))
            raise VoiceUnavailable(f"no voice for language {language} in {self.name} (it speaks: {speaks})")
        check_text(text)
        out_wav = Path(out_wav)
        out_wav.parent.mkdir(parents=True, exist_ok=True)
        tmp = out_wav.with_name(f".{out_wav.name}.partial")
        # -b 1: the input is UTF-8; --stdin: the text comes from stdin, never from argv.
        args = [_binary(), "-v", self.voice, "-s", str(self.words_per_minute), "-b", "1", "-w", str(tmp)]
        args.append("--stdin")
        try:
            try:
                proc = subprocess.run(
                    args, input=text.encode("utf-8"), capture_output=True, timeout=self.timeout_s
                )
            except subprocess.TimeoutExpired:
                raise EngineError(f"espeak-ng timed out after {self.timeout_s:.0f} s") from None
            detail = stderr_tail(proc.stderr)
            if "voice does not exist" in detail:
                raise VoiceUnavailable(f"espeak-ng has no voice '{self.voice}': {detail}")
            if proc.returncode != 0:
                raise EngineError(f"espeak-ng failed (exit {proc.returncode}): {detail}")
            duration_s, sample_rate = _wav_facts(tmp)
            os.replace(tmp, out_wav)
        finally:
            tmp.unlink(missing_ok=True)
        return SpeechResult(
            path=out_wav,
            duration_s=duration_s,
            engine=self.name,
            voice=self.voice,
            synthetic=True,  # formant synthesis: the UI must never present it as a person's voice
            sample_rate=sample_rate,
            model=self.model,
            licence=self.licence,
        )


def _wav_facts(path: Path) -> tuple[float, int]:
    try:
        with wave.open(str(path), "rb") as wav:
            frames, rate = wav.getnframes(), wav.getframerate()
    except (OSError, EOFError, wave.Error) as exc:
        raise EngineError(f"espeak-ng wrote no readable WAV: {exc}") from None
    if frames == 0 or rate == 0:
        raise EngineError("espeak-ng produced no audio")
    return frames / rate, rate
