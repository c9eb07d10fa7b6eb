"""Loading transformers seq2seq models (NLLB, Marian, ViT5, BARTpho) from local directories only.

transformers 5 removed the ``translation`` and ``summarization`` pipelines, so the backends call
``AutoModelForSeq2SeqLM.generate`` themselves. Loading is offline by construction: the path is local,
``local_files_only=True`` is passed and ``HF_HUB_OFFLINE`` is set before transformers is imported.
torch and transformers are imported here, lazily, never at module import.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from engines.errors import EngineError
from engines.registry import ModelEntry, ModelUnavailable
from engines.registry import require as require_model


def offline() -> None:
    """Make any accidental hub access fail instead of downloading.

    Set, not defaulted: an operator's ``HF_HUB_OFFLINE=0`` must not turn a missing file into a download.
    huggingface_hub reads the variable when it is first imported (faster-whisper may have done so), so its
    constant is set too when the module is already loaded.
    """
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    constants: Any = sys.modules.get("huggingface_hub.constants")
    if constants is not None:
        constants.HF_HUB_OFFLINE = True


def transformers_version() -> str:
    """The installed transformers version, recorded with every generated text."""
    import transformers

    return str(transformers.__version__)


@functools.lru_cache(maxsize=2)
def _load(model_dir: str, kind: str, sha256: str) -> tuple[Any, Any]:
    """Load once per (directory, kind, recorded checksum): new files under a new checksum are reloaded."""
    offline()
    try:
        import torch  # noqa: F401 - fail early with a clear message when the ml extra is missing
        from transformers import AutoModelForCausalLM, AutoModelForSeq2SeqLM, AutoTokenizer
    except ImportError as exc:
        raise ModelUnavailable(f"{exc.name} is not installed: pip install 'bantin[ml]'") from None
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # "Loading weights" bars would fill the worker's log on every load
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
    tokenizer, model = _load(str(path), kind, entry.sha256)
    return tokenizer, model, path


def refuse_long_inputs(lengths: Sequence[int], limit: int, *, first: int = 1) -> None:
    """Refuse a sentence longer than the model reads: cutting it would drop its end unseen.

    Args:
        lengths: Token counts of consecutive sentences.
        limit: The model's input limit.
        first: Number (1-based) of the first sentence, for the message.

    Raises:
        EngineError: naming the first sentence that is too long.
    """
    for number, length in enumerate(lengths, first):
        if length > limit:
            raise EngineError(f"sentence {number} is {length} tokens long, more than the model's {limit}; "
                              "it needs full stops, or a translator")


def generate(model: Any, encoded: Any, **kwargs: Any) -> Any:
    """``model.generate`` without gradients (deterministic: greedy or beam search, no sampling).

    Raises:
        EngineError: generation failed (out of memory, an input the model cannot take); the caller blocks
            the one variant instead of the whole package failing on a bare RuntimeError.
    """
    import torch

    try:
        with torch.inference_mode():
            return model.generate(**encoded, do_sample=False, **kwargs)
    except (RuntimeError, ValueError, IndexError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise EngineError(f"the model failed while generating: {first}") from exc
