"""Speech recognition: a recording in, one typed :class:`Transcript` out, whichever backend ran.

The backend comes from the model registry per language (``backend`` of the entry):

* ``faster-whisper`` (the embedded default: the bundled whisper-base, CTranslate2 int8, 2 CPU threads,
  Silero VAD, segment timestamps, language detection);
* ``openai-whisper``: an openai-whisper ``.pt`` checkpoint (``bantin models convert-whisper --to openai``);
* ``transformers-whisper``: a transformers Whisper directory such as PhoWhisper or the converted base;
* ``viet-asr``: the optional Vietnamese engine with its embedded model (engines/asr_vietasr.py).

Only local files are loaded. Every backend gets the same checks first (unknown language, missing,
empty or corrupt file, missing model path, checksum mismatch) and the same "no speech" error.

Memory stays bounded for long recordings: faster-whisper would decode a whole file into one float32
array (690 MB for 3 hours), so audio is decoded by ffmpeg through a pipe and fed to the model in
windows of ``window_s`` seconds, each cut at the quietest 100 ms near its end so words are not split.
The other backends get the speech inside each window as VAD chunks of at most 30 s (20 s for viet-asr),
found by the Silero VAD that faster-whisper bundles, so silence is never decoded into hallucinations.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, replace
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
# its own earlier errors), with 32 % less CPU time.
DEFAULT_BATCH_SIZE = 8
CUT_SEARCH_S = 10.0  # where to look for a pause before a window's end
_FRAME = SAMPLE_RATE // 10


@dataclass(frozen=True, slots=True)
class FasterWhisperOptions:
    """The speed levers of the faster-whisper path (benchmarks/asr.py measures them with CER alongside).

    Measured on 138 s of natural Vietnamese (benchmarks/asr.py): the default uses 0.11 CPU-seconds per
    audio second per core at CER 0.108; beam 1 halves the CPU time at CER 0.124, and beam 1 without
    timestamps is the fastest wall time at CER 0.126 but gives one segment per VAD chunk. Accuracy wins
    the default; callers that need speed pass ``FasterWhisperOptions(beam_size=1)``.

    Attributes:
        batch_size: N > 0 decodes N VAD segments at once with ``BatchedInferencePipeline`` (it does not
            condition on earlier text, so long audio does not drift); 0 for sequential decoding.
        beam_size: 5 is faster-whisper's default; 1 is greedy.
        cpu_threads: CTranslate2 intra-op threads (the machine has 2 cores).
        num_workers: CTranslate2 model replicas (parallel ``transcribe`` calls only).
        without_timestamps: Batched path only: one segment per VAD chunk instead of timestamp tokens.
        chunk_length: Seconds per batched VAD chunk (faster-whisper's default 30).
        compute_type: CTranslate2 compute type (``int8`` on CPU).
    """

    batch_size: int = DEFAULT_BATCH_SIZE
    beam_size: int = 5
    cpu_threads: int = 2
    num_workers: int = 1
    without_timestamps: bool = False
    chunk_length: int | None = None
    compute_type: str = "int8"


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
    batch_size: int | None = None,
    options: FasterWhisperOptions | None = None,
) -> Transcript:
    """Transcribe a recording.

    Args:
        path: Any audio ffmpeg can read.
        language: Spoken language, or None to detect it.
        model: Registry entry to use; default: the registry's pick for (asr, language).
        window_s: Seconds of audio held in memory at a time.
        batch_size: Shorthand for ``options.batch_size`` (faster-whisper only); 0: sequential decoding.
        options: faster-whisper speed levers; default :class:`FasterWhisperOptions` (see benchmarks/asr.py).

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
    if entry.backend == "faster-whisper":
        model_dir = require_model(entry)
        opts = options or FasterWhisperOptions()
        if batch_size is not None:
            opts = replace(opts, batch_size=batch_size)
        return _faster_whisper(Path(path), entry, model_dir, language, info.duration_s, window_s, opts)
    runner = _backend(entry)
    # viet-asr may run its embedded model: no path to check then.
    model_path = require_model(entry) if entry.path is not None or entry.backend != "viet-asr" else None
    return runner(Path(path), entry, model_path, language, info.duration_s, window_s)


Runner = Callable[[Path, ModelEntry, "Path | None", "str | None", float, float], "Transcript"]


def _backend(entry: ModelEntry) -> Runner:
    """The transcribe function of a backend module, imported only when used (torch is slow to import)."""
    if entry.backend == "openai-whisper":
        from engines import asr_openai as module
    elif entry.backend == "transformers-whisper":
        from engines import asr_transformers as module  # type: ignore[no-redef]  # one name, whichever backend
    elif entry.backend == "viet-asr":
        from engines import asr_vietasr as module  # type: ignore[no-redef]  # one name, whichever backend
    else:
        raise ModelUnavailable(f"ASR backend '{entry.backend}' (model '{entry.name}') is not known")
    return module.transcribe


@dataclass(frozen=True, slots=True)
class SpeechChunk:
    """Speech found by the VAD: ``audio`` runs from ``start`` to ``end`` seconds of the recording.

    ``speech_s`` counts only the voiced parts (pauses inside a merged chunk are kept in ``audio`` so
    times inside it map back by adding ``start``).
    """

    start: float
    end: float
    audio: np.ndarray
    speech_s: float


def speech_chunks(path: Path, *, window_s: float = DEFAULT_WINDOW_S, max_chunk_s: float = 30.0,
                  min_silence_ms: int = 500) -> Iterator[SpeechChunk]:
    """Yield the speech of a recording as chunks of at most ``max_chunk_s`` seconds, in bounded memory.

    Silero VAD (bundled with faster-whisper, run by onnxruntime) marks speech in each window; neighbouring
    stretches are merged while the merged chunk stays within ``max_chunk_s`` (what Whisper's 30 s encoder,
    or viet-asr's 20 s limit, can take in one go).
    """
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    options = VadOptions(max_speech_duration_s=max_chunk_s, min_silence_duration_ms=min_silence_ms)
    limit = int(max_chunk_s * SAMPLE_RATE)
    for offset, audio in windows(path, window_s=window_s):
        group: list[dict[str, int]] = []
        stamps = get_speech_timestamps(audio, options, sampling_rate=SAMPLE_RATE)
        for stamp in [*stamps, None]:
            if group and (stamp is None or stamp["end"] - group[0]["start"] > limit):
                first, last = group[0]["start"], group[-1]["end"]
                yield SpeechChunk(start=round(offset + first / SAMPLE_RATE, 3),
                                  end=round(offset + last / SAMPLE_RATE, 3), audio=audio[first:last],
                                  speech_s=sum(s["end"] - s["start"] for s in group) / SAMPLE_RATE)
                group = []
            if stamp is not None:
                group.append(stamp)


def timed_segment(chunk: SpeechChunk, start: float | None, end: float | None, text: str) -> Segment:
    """A segment whose chunk-relative times are shifted to the recording and kept inside the chunk."""
    begin = min(chunk.start + max(start or 0.0, 0.0), chunk.end)
    finish = chunk.end if end is None else min(chunk.start + end, chunk.end)
    return Segment(round(begin, 2), round(max(begin, finish), 2), text)


def build_transcript(path: Path, entry: ModelEntry, segments: list[Segment], *, language: str | None,
                     probability: float, duration_s: float, speech_s: float, engine: str,
                     engine_version: str) -> Transcript:
    """The common ending of every backend: refuse an empty result, else assemble the :class:`Transcript`.

    Raises:
        MediaError: no segment has text (silence, noise or music only).
    """
    if not segments:
        raise MediaError(f"{path.name}: no speech found in {duration_s:.1f} s of audio "
                         "(silence, noise or music only)")
    return Transcript(
        language=language or "",
        language_probability=round(probability, 3),
        text=" ".join(s.text for s in segments),
        segments=tuple(segments),
        engine=engine,
        engine_version=engine_version,
        model=entry.name,
        model_sha256=content_sha256(entry) if entry.sha256 else "",
        duration_s=round(duration_s, 2),
        speech_s=round(speech_s, 2),
    )


@functools.lru_cache(maxsize=4)
def load_whisper(model_dir: str, compute_type: str = "int8", cpu_threads: int = 2, num_workers: int = 1) -> Any:
    """Load (once per process and settings) a CTranslate2 Whisper model from a local directory."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # belt and braces: a local path never reaches the hub
    from faster_whisper import WhisperModel  # imported here: 0.4 s, and only ASR needs it

    try:
        return WhisperModel(model_dir, device="cpu", compute_type=compute_type, cpu_threads=cpu_threads,
                            num_workers=num_workers, local_files_only=True)
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
    opts: FasterWhisperOptions,
) -> Transcript:
    import faster_whisper

    model = load_whisper(str(model_dir), opts.compute_type, opts.cpu_threads, opts.num_workers)
    runner: Any = model
    options: dict[str, Any] = {"vad_filter": True, "beam_size": opts.beam_size}
    if opts.batch_size > 0:
        runner = faster_whisper.BatchedInferencePipeline(model)
        # The pipeline's default drops timestamps and returns one segment per VAD chunk (up to 30 s).
        options.update(batch_size=opts.batch_size, without_timestamps=opts.without_timestamps)
        if opts.chunk_length:
            options["chunk_length"] = opts.chunk_length
    segments: list[Segment] = []
    detected, probability, speech_s = language, 1.0, 0.0
    try:
        for offset, audio in windows(path, window_s=window_s):
            # The language found in the first window is kept: a long bulletin does not change language,
            # and re-detecting on every window could flip it on a noisy stretch.
            found, info = runner.transcribe(audio, language=detected, task="transcribe", **options)
            chunk = SpeechChunk(start=offset, end=offset + len(audio) / SAMPLE_RATE, audio=audio, speech_s=0.0)
            for seg in found:
                text = seg.text.strip()
                if text:  # times kept inside the window: a hallucinating model can emit timestamps past its end
                    segments.append(timed_segment(chunk, seg.start, seg.end, text))
            if detected is None:
                detected, probability = info.language, float(info.language_probability)
            speech_s += float(info.duration_after_vad or 0.0)
    except (RuntimeError, ValueError) as exc:
        raise EngineError(f"transcribing {path.name} failed: {str(exc).splitlines()[0]}") from exc
    return build_transcript(path, entry, segments, language=detected, probability=probability,
                            duration_s=duration_s, speech_s=speech_s, engine="faster-whisper",
                            engine_version=faster_whisper.__version__)
