"""openai-whisper backend: a ``.pt`` checkpoint by path (e.g. the bundled whisper-base converted with
``bantin models convert-whisper --to openai``), run on the VAD speech chunks of :mod:`engines.asr`.

Measured on 2 cores it is 6-12x slower than faster-whisper int8 (see benchmarks/asr.py), so it serves
operators who need the reference implementation, not the default path. Decoding is greedy at
temperature 0 without conditioning on earlier text: deterministic, and no drift over long recordings.
"""

from __future__ import annotations

import functools
import pickle
import zipfile
from pathlib import Path
from typing import Any

from engines import asr
from engines.errors import EngineError
from engines.registry import ModelEntry, ModelUnavailable

ENGINE = "openai-whisper"


@functools.lru_cache(maxsize=2)
def load(checkpoint: str) -> Any:
    """Load (once per process) an openai-whisper checkpoint from a local file onto the CPU.

    Raises:
        ModelUnavailable: the file is not a Whisper checkpoint.
    """
    import whisper  # imported here: 3 s with torch, and only this backend needs it

    if Path(checkpoint).is_dir():
        raise ModelUnavailable(f"{checkpoint} is a directory; openai-whisper needs a .pt checkpoint file")
    try:
        return whisper.load_model(checkpoint, device="cpu")
    except (RuntimeError, KeyError, TypeError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile) as exc:
        raise ModelUnavailable(f"cannot load openai-whisper checkpoint {checkpoint}: "
                               f"{(str(exc).splitlines() or [type(exc).__name__])[0]}") from None


def _version() -> str:
    from importlib.metadata import version

    return version("openai-whisper")


def transcribe(path: Path, entry: ModelEntry, model_path: Path | None, language: str | None, duration_s: float,
               window_s: float) -> asr.Transcript:
    """Transcribe with openai-whisper; see :func:`engines.asr.transcribe` for arguments and errors."""
    import whisper
    from whisper.tokenizer import LANGUAGES

    assert model_path is not None
    model = load(str(model_path))
    if language is not None and (language not in LANGUAGES or (not model.is_multilingual and language != "en")):
        raise ModelUnavailable(f"model '{entry.name}' ({ENGINE}) has no language token for '{language}'")
    detected = language if model.is_multilingual else "en"
    probability, speech_s = 1.0, 0.0
    segments: list[asr.Segment] = []
    try:
        for chunk in asr.speech_chunks(path, window_s=window_s, max_chunk_s=30.0):
            speech_s += chunk.speech_s
            if detected is None:
                # Detected once, on the first speech: a bulletin does not change language midway.
                mel = whisper.log_mel_spectrogram(whisper.pad_or_trim(chunk.audio), model.dims.n_mels)
                _, probs = model.detect_language(mel)
                detected = max(probs, key=probs.get)
                probability = float(probs[detected])
            result = model.transcribe(chunk.audio, language=detected, task="transcribe", fp16=False,
                                      temperature=0.0, condition_on_previous_text=False, verbose=None)
            for seg in result["segments"]:
                text = str(seg["text"]).strip()
                if text:
                    segments.append(asr.timed_segment(chunk, float(seg["start"]), float(seg["end"]), text))
    except (RuntimeError, ValueError) as exc:
        raise EngineError(f"transcribing {path.name} failed: {str(exc).splitlines()[0]}") from exc
    return asr.build_transcript(path, entry, segments, language=detected, probability=probability,
                                duration_s=duration_s, speech_s=speech_s, engine=ENGINE,
                                engine_version=_version())
