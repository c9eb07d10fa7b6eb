"""Loading transformers seq2seq models (NLLB, Marian, ViT5, BARTpho) from local directories only.

transformers 5 removed the ``translation`` and ``summarization`` pipelines, so the backends call
``AutoModelForSeq2SeqLM.generate`` themselves. Loading is offline by construction: the path is local,
``local_files_only=True`` is passed and ``HF_HUB_OFFLINE`` is set before transformers is imported.
torch and transformers are imported here, lazily, never at module import.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

from engines.registry import ModelEntry, ModelUnavailable
from engines.registry import require as require_model


def offline() -> None:
    """Make any accidental hub access fail instead of downloading."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def transformers_version() -> str:
    import transformers

    return str(transformers.__version__)


@functools.lru_cache(maxsize=2)
def _load(model_dir: str, kind: str) -> tuple[Any, Any]:
    offline()
    try:
        import torch  # noqa: F401 - fail early with a clear message when the ml extra is missing
        from transformers import AutoModelForCausalLM, AutoModelForSeq2SeqLM, AutoTokenizer
    except ImportError as exc:
        raise ModelUnavailable(f"{exc.name} is not installed: pip install 'bantin[ml]'") from None
    auto = AutoModelForCausalLM if kind == "causal" else AutoModelForSeq2SeqLM
    try:
        tokenizer = AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
        model = auto.from_pretrained(model_dir, local_files_only=True).eval()
    except (OSError, ValueError, KeyError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelUnavailable(f"cannot load a {kind} model from {model_dir}: {first}") from None
    return tokenizer, model


def load(entry: ModelEntry, kind: str = "seq2seq") -> tuple[Any, Any, Path]:
    """(tokenizer, model, path) for a registry entry, verified against its checksum, cached per process.

    Raises:
        ModelUnavailable: files or the ml extra are missing, or the directory is not a model of this kind.
        ModelChecksumMismatch: the files differ from the recorded SHA-256.
    """
    path = require_model(entry)
    tokenizer, model = _load(str(path), kind)
    return tokenizer, model, path


def generate(model: Any, encoded: Any, **kwargs: Any) -> Any:
    """``model.generate`` without gradients (deterministic: greedy or beam search, no sampling)."""
    import torch

    with torch.inference_mode():
        return model.generate(**encoded, do_sample=False, **kwargs)
