"""viet-asr backend: the optional Vietnamese-accuracy engine (``pip install viet-asr==0.1.0.dev11``).

The package embeds a 69 MB ONNX Vietnamese model in its native library (Apache-2.0): on natural speech
it reached CER 6.5 % where whisper-base reached 15.5 % (shared/research/models.md §1). Its limits shape
this module:

* A whole-file call returns only the last endpointed segment, so it is fed VAD chunks of at most
  :data:`MAX_CHUNK_S` seconds (the research verified <= 20 s windows); each chunk is one segment, timed
  by the VAD.
* It speaks only Vietnamese, detects no language, and writes lowercase words without punctuation.
* It is an alpha release by a single author: pin it. A registry entry may name the package's native
  library file as ``path`` so its SHA-256 is checked before every load; a directory is refused because
  this version's Python API offers no documented way to load an external model.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import numpy as np

from engines import asr
from engines.errors import EngineError
from engines.registry import ModelEntry, ModelUnavailable

ENGINE = "viet-asr"
PINNED_VERSION = "0.1.0.dev11"
MAX_CHUNK_S = 19.0  # under the 20 s the research verified, leaving room for the VAD's padding
_INSTALL = f"pip install viet-asr=={PINNED_VERSION}"


def native_library() -> Path:
    """The installed package's native library (holding the embedded model).

    Raises:
        ModelUnavailable: viet-asr is not installed.
    """
    import importlib.util

    spec = importlib.util.find_spec("vietasr")
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailable(f"viet-asr is not installed: {_INSTALL}")
    return Path(list(spec.submodule_search_locations)[0]) / "_native" / "libvietasr.so"


@functools.lru_cache(maxsize=1)
def load() -> Any:
    """Build (once per process) viet-asr's ``transcribe`` pipeline on its embedded model.

    Raises:
        ModelUnavailable: the package is missing, not the pinned version, or its pipeline does not build.
    """
    native_library()
    import vietasr

    if vietasr.__version__ != PINNED_VERSION:
        raise ModelUnavailable(f"viet-asr {vietasr.__version__} is installed, but bantin is tested with "
                               f"{PINNED_VERSION} only: {_INSTALL}")
    try:
        return vietasr.Pipeline.preset("transcribe")
    except RuntimeError as exc:
        raise ModelUnavailable(f"viet-asr could not build its pipeline: {str(exc).splitlines()[0]}") from None


def _check_path(entry: ModelEntry, model_path: Path | None) -> None:
    if model_path is None:
        return
    if model_path.is_dir():
        raise ModelUnavailable(f"model '{entry.name}': viet-asr {PINNED_VERSION} runs its embedded model only; "
                               f"set path to its library {native_library()} (to pin its checksum) or leave it out")
    if model_path.resolve() != native_library().resolve():
        raise ModelUnavailable(f"model '{entry.name}': {model_path} is not the installed viet-asr library "
                               f"({native_library()})")


def transcribe(path: Path, entry: ModelEntry, model_path: Path | None, language: str | None, duration_s: float,
               window_s: float) -> asr.Transcript:
    """Transcribe Vietnamese with viet-asr; see :func:`engines.asr.transcribe` for arguments and errors."""
    if language not in (None, "vi"):
        raise ModelUnavailable(f"model '{entry.name}' ({ENGINE}) speaks only Vietnamese, not '{language}'")
    _check_path(entry, model_path)
    pipeline = load()
    import vietasr

    segments: list[asr.Segment] = []
    speech_s = 0.0
    try:
        for chunk in asr.speech_chunks(path, window_s=window_s, max_chunk_s=MAX_CHUNK_S):
            speech_s += chunk.speech_s
            pcm = np.clip(chunk.audio * 32768.0, -32768, 32767).astype(np.int16)  # it takes 16-bit samples
            text = " ".join(pipeline.transcribe(pcm, sample_rate=float(asr.SAMPLE_RATE)).text.split())
            if text:
                segments.append(asr.timed_segment(chunk, 0.0, None, text))
    except RuntimeError as exc:  # vietasr's PipelineError
        raise EngineError(f"transcribing {path.name} failed: {str(exc).splitlines()[0]}") from exc
    return asr.build_transcript(path, entry, segments, language="vi", probability=1.0, duration_s=duration_s,
                                speech_s=speech_s, engine=ENGINE, engine_version=vietasr.__version__)
