"""Abstractive summaries by a local seq2seq model (ViT5, BARTpho) through ``AutoModelForSeq2SeqLM.generate``.

transformers 5 removed the summarization pipeline, so this calls ``generate`` directly. Models whose
``config.json`` names a summarisation prefix (``task_specific_params.summarization.prefix``, the T5
convention; ViT5 news models use ``vietnews: ``) get it in front of the text. The output length is capped
from the speech-seconds target, then :func:`engines.summarize.fit_generated` trims whole sentences to the
limit and picks the board text. Decoding is beam search without sampling, so reruns give the same text.
The caller runs the faithfulness check: a generated summary can state a date the draft does not.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from domain.speech import DEFAULT_SYLLABLES_PER_SECOND
from engines import hf_seq2seq
from engines.registry import ModelEntry
from engines.summarize import Summary, fit_generated

NUM_BEAMS = 4
TOKENS_PER_SYLLABLE = 2.0  # generous: Vietnamese syllables are 1-2 SentencePiece tokens in ViT5/BARTpho
MAX_INPUT_TOKENS = 1024  # ViT5 and BARTpho were trained on inputs of at most 1024 tokens


def _prefix(model: Any) -> str:
    params = getattr(model.config, "task_specific_params", None) or {}
    return str((params.get("summarization") or {}).get("prefix", ""))


def summarize_seq2seq(entry: ModelEntry, text: str, *, max_seconds: float, board_lines: int,
                      board_line_chars: int = 48, max_new_tokens: int = 256) -> Summary:
    """Summarise ``text`` with the entry's seq2seq model.

    Args:
        entry: A registry entry with backend ``seq2seq``.
        text: The announcement body.
        max_seconds: Longest allowed script, in estimated speaking seconds.
        board_lines: Lines available on the e-board.
        board_line_chars: Characters per board line.
        max_new_tokens: Upper bound on generated tokens (the seconds target usually sets a lower one).

    Raises:
        ModelUnavailable: The files or the ml extra are missing.
        ModelChecksumMismatch: The files differ from the registry's SHA-256.
        SummaryError: The model produced an empty summary.
    """
    tokenizer, model, _ = hf_seq2seq.load(entry)
    budget = max(16, min(max_new_tokens, int(max_seconds * DEFAULT_SYLLABLES_PER_SECOND * TOKENS_PER_SYLLABLE)))
    limit = min(int(getattr(tokenizer, "model_max_length", MAX_INPUT_TOKENS) or MAX_INPUT_TOKENS), MAX_INPUT_TOKENS)
    source = _prefix(model) + " ".join(text.split())
    encoded = tokenizer([source], return_tensors="pt", truncation=True, max_length=limit)
    truncated = len(tokenizer(source)["input_ids"]) > limit
    generated = hf_seq2seq.generate(model, encoded, num_beams=NUM_BEAMS, max_new_tokens=budget,
                                    no_repeat_ngram_size=3)
    answer = tokenizer.batch_decode(generated, skip_special_tokens=True)[0].strip()
    summary = fit_generated(answer, max_seconds=max_seconds, board_lines=board_lines,
                            board_line_chars=board_line_chars, method="seq2seq")
    notes = summary.notes + ((f"the draft is longer than {limit} tokens; the model read only its start",)
                             if truncated else ())
    return replace(summary, notes=notes, engine="seq2seq", engine_version=hf_seq2seq.transformers_version(),
                   model=entry.name, model_sha256=entry.sha256,
                   parameters={"num_beams": NUM_BEAMS, "max_new_tokens": budget, "no_repeat_ngram_size": 3,
                               "prefix": _prefix(model), "max_input_tokens": limit})
