"""transformers Whisper backend: a local ``WhisperForConditionalGeneration`` directory (PhoWhisper, or the
bundled whisper-base written by ``bantin models convert-whisper --to transformers``).

The VAD speech chunks of :mod:`engines.asr` (at most 30 s, Whisper's window) go through the
automatic-speech-recognition pipeline in batches, given as arrays so no ffmpeg call happens inside
transformers. Segment times come from Whisper's timestamp tokens when the vocabulary has them;
otherwise each VAD chunk is one segment. Nothing is downloaded: ``local_files_only`` and
``HF_HUB_OFFLINE`` are both set.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engines import asr
from engines.errors import EngineError
from engines.registry import ModelEntry, ModelUnavailable

ENGINE = "transformers-whisper"
BATCH_SIZE = 4  # chunks per forward pass: 4 x 30 s of mel features is small, and it keeps both cores busy


@dataclass(frozen=True)
class Loaded:
    """A model with its pipeline and what the generation config says it can do."""

    model: Any
    pipe: Any
    feature_extractor: Any
    lang_to_id: dict[str, int]  # "vi" -> token id (empty for a model without language tokens)
    timestamps: bool


@functools.lru_cache(maxsize=2)
def load(model_dir: str) -> Loaded:
    """Load (once per process) a transformers Whisper directory for CPU inference.

    Raises:
        ModelUnavailable: the directory is not a loadable Whisper model (no config, weights or tokenizer).
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import torch
    from transformers import AutoProcessor, WhisperForConditionalGeneration, pipeline

    if not Path(model_dir).is_dir():
        raise ModelUnavailable(f"{model_dir} is not a directory; transformers Whisper needs a model directory")
    try:
        model = WhisperForConditionalGeneration.from_pretrained(model_dir, local_files_only=True,
                                                                dtype=torch.float32).eval()
        processor = AutoProcessor.from_pretrained(model_dir, local_files_only=True)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelUnavailable(f"cannot load transformers Whisper model from {model_dir}: "
                               f"{(str(exc).splitlines() or [type(exc).__name__])[0]}") from None
    gen = model.generation_config
    lang_to_id = {token.strip("<|>"): int(i) for token, i in (getattr(gen, "lang_to_id", None) or {}).items()}
    no_ts = getattr(gen, "no_timestamps_token_id", None)
    timestamps = no_ts is not None and no_ts + 1 < model.config.vocab_size  # timestamp tokens follow it
    pipe = pipeline("automatic-speech-recognition", model=model, tokenizer=processor.tokenizer,
                    feature_extractor=processor.feature_extractor, device="cpu")
    return Loaded(model, pipe, processor.feature_extractor, lang_to_id, timestamps)


def detect_language(loaded: Loaded, audio: Any) -> tuple[str, float]:
    """Whisper's language identification: the decoder's first-step distribution over language tokens."""
    import torch

    feats = loaded.feature_extractor(audio, sampling_rate=asr.SAMPLE_RATE, return_tensors="pt").input_features
    start = loaded.model.generation_config.decoder_start_token_id
    with torch.no_grad():
        logits = loaded.model(input_features=feats, decoder_input_ids=torch.tensor([[start]])).logits[0, -1]
    codes = list(loaded.lang_to_id)
    probs = torch.softmax(logits[[loaded.lang_to_id[c] for c in codes]], dim=-1)
    best = int(torch.argmax(probs))
    return codes[best], float(probs[best])


def _version() -> str:
    import transformers

    return transformers.__version__


def transcribe(path: Path, entry: ModelEntry, model_path: Path | None, language: str | None, duration_s: float,
               window_s: float) -> asr.Transcript:
    """Transcribe with transformers Whisper; see :func:`engines.asr.transcribe` for arguments and errors."""
    assert model_path is not None
    loaded = load(str(model_path))
    if language is not None and loaded.lang_to_id and language not in loaded.lang_to_id:
        raise ModelUnavailable(f"model '{entry.name}' ({ENGINE}) has no language token for '{language}'")
    detected, probability, speech_s = language, 1.0, 0.0
    segments: list[asr.Segment] = []
    try:
        for batch in _batches(asr.speech_chunks(path, window_s=window_s, max_chunk_s=30.0)):
            speech_s += sum(c.speech_s for c in batch)
            if detected is None and loaded.lang_to_id:
                detected, probability = detect_language(loaded, batch[0].audio)
            # Greedy like the other backends: beam search costs ~4x on 2 cores (see benchmarks/asr.py).
            generate: dict[str, Any] = {"num_beams": 1, "do_sample": False}
            if loaded.lang_to_id:
                generate["task"] = "transcribe"
            if detected is not None and loaded.lang_to_id:
                generate["language"] = detected
            outputs = loaded.pipe([{"raw": c.audio, "sampling_rate": asr.SAMPLE_RATE} for c in batch],
                                  batch_size=BATCH_SIZE, return_timestamps=loaded.timestamps,
                                  generate_kwargs=generate)
            for chunk, out in zip(batch, outputs, strict=True):
                pieces = out.get("chunks") if loaded.timestamps else None
                for piece in pieces or [{"timestamp": (0.0, None), "text": out["text"]}]:
                    text = str(piece["text"]).strip()
                    if text:
                        start, end = piece["timestamp"]
                        segments.append(asr.timed_segment(chunk, start, end, text))
    except (RuntimeError, ValueError, IndexError) as exc:
        raise EngineError(f"transcribing {path.name} failed: {str(exc).splitlines()[0]}") from exc
    segments.sort(key=lambda s: (s.start, s.end))
    return asr.build_transcript(path, entry, segments, language=detected, probability=probability,
                                duration_s=duration_s, speech_s=speech_s, engine=ENGINE,
                                engine_version=_version())


def _batches(chunks: Any, size: int = 16) -> Any:
    """Group chunks so the pipeline batches them, without holding more than ``size`` chunks of audio."""
    batch: list[asr.SpeechChunk] = []
    for chunk in chunks:
        batch.append(chunk)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
