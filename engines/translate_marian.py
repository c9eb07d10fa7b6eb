"""Marian (opus-mt) translation through transformers.

An opus-mt model translates one direction (``opus-mt-vi-en``). Multilingual-target models expect a
``>>xxx<<`` token (ISO 639-3) in front of each sentence; it is added when the tokenizer knows it.
Licence: opus-mt models are CC-BY-4.0.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from domain.languages import to_iso639_3
from engines import hf_seq2seq
from engines.registry import ModelEntry

BATCH_SIZE = 8


@dataclass
class Marian:
    """A Marian directory run by transformers' ``generate``."""

    tokenizer: Any
    model: Any
    beam_size: int
    max_tokens: int
    engine: str = "marian"
    engine_version: str = ""
    max_input_tokens: int = 512  # opus-mt models' max_position_embeddings

    def parameters(self, source: str, target: str) -> dict[str, Any]:
        """Decoding parameters recorded with each translation."""
        return {"num_beams": self.beam_size, "max_new_tokens": self.max_tokens,
                "target_token": self._target_token(target) or ""}

    def _target_token(self, target: str) -> str | None:
        token = f">>{to_iso639_3(target)}<<"
        token_id = self.tokenizer.convert_tokens_to_ids(token)
        return token if token_id is not None and token_id != self.tokenizer.unk_token_id else None

    def translate_sentences(self, sentences: Sequence[str], source: str, target: str) -> list[str]:
        """Translate sentences in batches; output order matches the input."""
        prefix = self._target_token(target)
        out: list[str] = []
        for start in range(0, len(sentences), BATCH_SIZE):
            chunk = [f"{prefix} {s}" if prefix else s for s in sentences[start:start + BATCH_SIZE]]
            # No truncation: a cut sentence would lose its end unseen. Marian's positions stop at the limit.
            encoded = self.tokenizer(chunk, return_tensors="pt", padding=True)
            hf_seq2seq.refuse_long_inputs([int(n) for n in encoded["attention_mask"].sum(dim=1)],
                                          self.max_input_tokens, first=start + 1)
            generated = hf_seq2seq.generate(self.model, encoded, num_beams=self.beam_size,
                                            max_new_tokens=self.max_tokens)
            out += [t.strip() for t in self.tokenizer.batch_decode(generated, skip_special_tokens=True)]
        return out


def load_marian(entry: ModelEntry, *, beam_size: int, max_tokens: int) -> Marian:
    """The entry's Marian model, checksum verified, loaded once per process.

    Raises:
        ModelUnavailable: torch/transformers/sentencepiece or the files are missing.
        ModelChecksumMismatch: the files differ from the registry's SHA-256.
    """
    with warnings.catch_warnings():  # MarianTokenizer recommends sacremoses, which opus-mt does not need
        warnings.filterwarnings("ignore", message="Recommended: pip install sacremoses")
        tokenizer, model, _ = hf_seq2seq.load(entry)
    limit = int(getattr(model.config, "max_position_embeddings", 512) or 512)
    return Marian(tokenizer, model, beam_size, max_tokens, engine_version=hf_seq2seq.transformers_version(),
                  max_input_tokens=limit)
