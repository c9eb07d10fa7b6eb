"""Speech recognition: a recording in, one typed :class:`Transcript` out.

The backend comes from the model registry per language; the embedded default is the bundled
whisper-base run by faster-whisper (CTranslate2 int8, 2 CPU threads, Silero VAD, segment timestamps,
language detection). Only local files are loaded.

Memory stays bounded for long recordings: faster-whisper would decode a whole file into one float32
array (690 MB for 3 hours), so audio is decoded by ffmpeg through a pipe and fed to the model in
windows of ``window_s`` seconds, each cut at the quietest 100 ms near its end so words are not split.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from domain.errors import InvalidInput
from domain.languages import LANGUAGES
from engines import ffmpeg
from engines.errors import EngineError, MediaError
from engines.registry import WHISPER_LANGUAGES, ModelEntry, ModelUnavailable, Task, content_sha256, load_registry
from engines.registry import require as require_model

SAMPLE_RATE = 16000
DEFAULT_WINDOW_S = 600.0  # 38 MB of float32 per window
# benchmarks/asr.py, 138 s of speech: batched CER 0.11 vs 0.19 sequential (which drifts by conditioning on
# its own earlier errors); speed within +-25 % of sequential on a shared 2-core machine.
DEFAULT_BATCH_SIZE = 8
CUT_SEARCH_S = 10.0  # where to look for a pause before a window's end
_FRAME = SAMPLE_RATE // 10


@dataclass(frozen=True, slots=True)
class Segment:
    """A stretch of speech, times in seconds from the start of the recording."""

    start: float
    end: float
    text: str


@dataclass(frozen=True, slots=True)
class Transcript:
    """What an ASR engine heard.

    Attributes:
        language: Spoken language (given, or detected on the first window).
        language_probability: Detection confidence (1.0 when the language was given).
        text: Segment texts joined by spaces.
        segments: Timed segments in order.
        engine: Backend name, e.g. ``faster-whisper``.
        engine_version: The backend package's version.
        model: Registry name of the model, e.g. ``whisper-base``.
        model_sha256: The verified checksum of the model's weights (empty if unchecked).
        duration_s: Length of the recording.
        speech_s: Seconds of audio the VAD kept.
    """

    language: str
    language_probability: float
    text: str
    segments: tuple[Segment, ...]
    engine: str
    engine_version: str
    model: str
    model_sha256: str
    duration_s: float
    speech_s: float

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON (stored next to the recording, for the archive and the audit log)."""
        return asdict(self)


def check_language(language: str | None) -> str | None:
    """Lower-case a language code and reject codes no part of the system knows.

    Raises:
        InvalidInput: neither a project language (vi, km, jra…) nor a Whisper language.
    """
    if language is None:
        return None
    code = language.strip().lower()
    if code not in LANGUAGES and code not in WHISPER_LANGUAGES:
        raise InvalidInput(f"unknown language '{language}' for speech recognition")
    return code


def transcribe(
    path: Path,
    *,
    language: str | None = None,
    model: ModelEntry | None = None,
    window_s: float = DEFAULT_WINDOW_S,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> Transcript:
    """Transcribe a recording.

    Args:
        path: Any audio ffmpeg can read.
        language: Spoken language, or None to detect it.
        model: Registry entry to use; default: the registry's pick for (asr, language).
        window_s: Seconds of audio held in memory at a time.
        batch_size: N > 0 decodes N VAD segments at once with ``BatchedInferencePipeline`` (the default:
            it does not condition on earlier text, so long audio does not drift; see benchmarks/asr.py);
            0 for faster-whisper's sequential decoding.

    Returns:
        The transcript with timed segments, the language and what produced it.

    Raises:
        InvalidInput: unknown language code.
        ModelUnavailable: no model covers the language, its path is missing, or its backend is absent.
        ModelChecksumMismatch: the model's files differ from the registry's SHA-256.
        MediaError: the file is missing, empty, corrupt, has no audio, or holds no speech.
    """
    language = check_language(language)
    entry = model or load_registry().pick(Task.ASR, language)
    if not entry.covers(language):
        raise ModelUnavailable(f"model '{entry.name}' does not cover language '{language}'")
    info = ffmpeg.probe(Path(path))  # clear errors for missing, empty, corrupt or audio-less files first
    if entry.backend != "faster-whisper":
        raise ModelUnavailable(f"ASR backend '{entry.backend}' (model '{entry.name}') is not available "
                               "in this version; use a faster-whisper model")
    model_dir = require_model(entry)
    return _faster_whisper(Path(path), entry, model_dir, language, info.duration_s, window_s, batch_size)


@functools.lru_cache(maxsize=4)
def load_whisper(model_dir: str, compute_type: str = "int8", cpu_threads: int = 2) -> Any:
    """Load (once per process) a CTranslate2 Whisper model from a local directory."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # belt and braces: a local path never reaches the hub
    from faster_whisper import WhisperModel  # imported here: 0.4 s, and only ASR needs it

    try:
        return WhisperModel(model_dir, device="cpu", compute_type=compute_type, cpu_threads=cpu_threads,
                            local_files_only=True)
    except RuntimeError as exc:  # CTranslate2 reports unreadable weights as RuntimeError
        raise ModelUnavailable(f"cannot load Whisper model from {model_dir}: {str(exc).splitlines()[0]}") from None


def windows(path: Path, *, window_s: float = DEFAULT_WINDOW_S) -> Iterator[tuple[float, np.ndarray]]:
    """Yield ``(offset_s, float32 mono 16 kHz samples)`` windows of at most ``window_s`` seconds.

    Each window but the last ends at the quietest 100 ms frame in its last ``CUT_SEARCH_S`` seconds,
    so a cut rarely falls inside a word. At most about two windows are held in memory.
    """
    size = int(window_s * SAMPLE_RATE)
    search = min(int(CUT_SEARCH_S * SAMPLE_RATE), size // 2) // _FRAME * _FRAME
    buf = np.empty(0, dtype=np.float32)
    offset = 0
    for block in ffmpeg.pcm_stream(path, sample_rate=SAMPLE_RATE, block_samples=min(size, 30 * SAMPLE_RATE)):
        buf = np.concatenate([buf, np.frombuffer(block, dtype="<i2").astype(np.float32) / 32768.0])
        while len(buf) >= size:
            tail = buf[size - search:size]
            energy = np.square(tail[: len(tail) // _FRAME * _FRAME].reshape(-1, _FRAME)).mean(axis=1)
            cut = size - search + int(np.argmin(energy)) * _FRAME + _FRAME // 2 if search else size
            yield offset / SAMPLE_RATE, buf[:cut]
            buf = buf[cut:].copy()  # copy: let the yielded window's memory go
            offset += cut
    if len(buf):
        yield offset / SAMPLE_RATE, buf


def _faster_whisper(
    path: Path, entry: ModelEntry, model_dir: Path, language: str | None, duration_s: float, window_s: float,
    batch_size: int,
) -> Transcript:
    import faster_whisper

    model = load_whisper(str(model_dir))
    runner: Any = model
    options: dict[str, Any] = {"vad_filter": True}
    if batch_size > 0:
        runner = faster_whisper.BatchedInferencePipeline(model)
        # The pipeline's default drops timestamps and returns one segment per VAD chunk (up to 30 s).
        options.update(batch_size=batch_size, without_timestamps=False)
    segments: list[Segment] = []
    detected, probability, speech_s = language, 1.0, 0.0
    try:
        for offset, audio in windows(path, window_s=window_s):
            # The language found in the first window is kept: a long bulletin does not change language,
            # and re-detecting on every window could flip it on a noisy stretch.
            found, info = runner.transcribe(audio, language=detected, task="transcribe", **options)
            for seg in found:
                text = seg.text.strip()
                if text:
                    segments.append(Segment(round(offset + seg.start, 2), round(offset + seg.end, 2), text))
            if detected is None:
                detected, probability = info.language, float(info.language_probability)
            speech_s += float(info.duration_after_vad or 0.0)
    except (RuntimeError, ValueError) as exc:
        raise EngineError(f"transcribing {path.name} failed: {str(exc).splitlines()[0]}") from exc
    if not segments:
        raise MediaError(f"{path.name}: no speech found in {duration_s:.1f} s of audio "
                         "(silence, noise or music only)")
    return Transcript(
        language=detected or "",
        language_probability=round(probability, 3),
        text=" ".join(s.text for s in segments),
        segments=tuple(segments),
        engine="faster-whisper",
        engine_version=faster_whisper.__version__,
        model=entry.name,
        model_sha256=content_sha256(entry) if entry.sha256 else "",
        duration_s=round(duration_s, 2),
        speech_s=round(speech_s, 2),
    )
