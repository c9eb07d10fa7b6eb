"""Instruction-tuned causal language models (a local Qwen/Llama/Gemma-style directory) for summaries and
translations, driven by the versioned prompts in ``prompts/``.

The prompt is rendered from ``prompts/<name>/v<N>.txt``; when the tokenizer has a chat template the
prompt is sent as one user message, otherwise as plain text. Decoding is greedy (deterministic), so a
rerun produces the same text. Only the generated continuation is returned. The caller checks the answer
(faithfulness, glossary) because such models can invent facts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from domain.glossary import Glossary
from domain.languages import LANGUAGES
from engines import hf_seq2seq
from engines.registry import ModelEntry
from prompts import Prompt, load_prompt

TRANSLATE_PROMPT = ("translate", 1)
SUMMARY_PROMPT = ("summarize", 1)
BOARD_PROMPT = ("summarize_board", 1)
MAX_INPUT_TOKENS = 4096  # longer prompts are refused rather than silently cut


@dataclass(frozen=True)
class Completion:
    """A model's answer to a rendered prompt."""

    text: str
    prompt: Prompt
    parameters: dict[str, Any]
    engine_version: str


def complete(entry: ModelEntry, prompt: Prompt, *, max_new_tokens: int, **values: str) -> Completion:
    """Render ``prompt`` with ``values`` and let the entry's model continue it.

    Raises:
        ModelUnavailable: files or the ml extra are missing.
        ModelChecksumMismatch: the files differ from the registry's SHA-256.
        InvalidInput: the rendered prompt is longer than :data:`MAX_INPUT_TOKENS`.
    """
    from domain.errors import InvalidInput

    tokenizer, model, _ = hf_seq2seq.load(entry, kind="causal")
    text = prompt.render(**values)
    chat = bool(getattr(tokenizer, "chat_template", None))
    if chat:
        text = tokenizer.apply_chat_template([{"role": "user", "content": text}], tokenize=False,
                                             add_generation_prompt=True)
    encoded = tokenizer([text], return_tensors="pt", add_special_tokens=not chat)
    length = int(encoded["input_ids"].shape[1])
    if length > MAX_INPUT_TOKENS:
        raise InvalidInput(f"the text is too long for model '{entry.name}' ({length} tokens, "
                           f"at most {MAX_INPUT_TOKENS})")
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    # num_beams=1 explicitly: a generation_config.json asking for beams would otherwise change the decoding
    # the provenance records as greedy.
    generated = hf_seq2seq.generate(model, encoded, max_new_tokens=max_new_tokens, pad_token_id=pad, num_beams=1)
    answer = tokenizer.decode(generated[0, length:], skip_special_tokens=True).strip()
    # Recorded so a reviewer knows the answer may be cut short (the model was still writing at the cap).
    cut = int(generated.shape[1]) - length >= max_new_tokens and int(generated[0, -1]) != tokenizer.eos_token_id
    params = {"max_new_tokens": max_new_tokens, "decoding": "greedy", "chat_template": chat, "hit_token_limit": cut}
    return Completion(answer, prompt, params, hf_seq2seq.transformers_version())


def _name(code: str) -> str:
    return LANGUAGES[code].name_en if code in LANGUAGES else code


def glossary_lines(glossary: Glossary, text: str) -> str:
    """The prompt's list of required terms: only those occurring in ``text``."""
    terms = glossary.find(text)
    return "\n".join(f"- {t.source} => {t.expected}" for t in terms) or "- (none)"


def translate_text(entry: ModelEntry, text: str, *, source: str, target: str, glossary: Glossary,
                   max_new_tokens: int) -> Any:
    """Translate a whole text with the translation prompt (returns an ``engines.translate.Translation``)."""
    from engines.translate import Translation

    prompt = load_prompt(*TRANSLATE_PROMPT)
    done = complete(entry, prompt, max_new_tokens=max_new_tokens, source_name=_name(source),
                    target_name=_name(target), glossary=glossary_lines(glossary, text), text=text)
    params = done.parameters | {"glossary_mode": "prompt", "unit": "text"}
    return Translation(done.text, source, target, "instruct", done.engine_version, entry.name,
                       prompt=prompt.ref, prompt_sha256=prompt.sha256, parameters=params)


def summarize_text(entry: ModelEntry, text: str, *, max_seconds: float, board_lines: int,
                   board_line_chars: int = 48, max_new_tokens: int = 256) -> Any:
    """A loudspeaker script and a board text from two prompts (returns an ``engines.summarize.Summary``).

    The answers are trimmed to ``max_seconds`` and ``board_lines`` by ``fit_generated``.
    """
    from dataclasses import replace

    from domain.speech import DEFAULT_SYLLABLES_PER_SECOND
    from engines.summarize import fit_generated

    script_prompt, board_prompt = load_prompt(*SUMMARY_PROMPT), load_prompt(*BOARD_PROMPT)
    body = " ".join(text.split())
    words = int(max_seconds * DEFAULT_SYLLABLES_PER_SECOND)
    script = complete(entry, script_prompt, max_new_tokens=max_new_tokens, text=body,
                      seconds=f"{max_seconds:.0f}", words=str(words))
    board = complete(entry, board_prompt, max_new_tokens=max(32, min(max_new_tokens, board_lines * 32)),
                     text=body, lines=str(board_lines), chars=str(board_line_chars))
    summary = fit_generated(script.text, max_seconds=max_seconds, board_lines=board_lines,
                            board_line_chars=board_line_chars, board_source=board.text, method="instruct")
    return replace(summary, engine="instruct", engine_version=script.engine_version, model=entry.name,
                   model_sha256=entry.sha256, prompt=f"{script_prompt.ref},{board_prompt.ref}",
                   prompt_sha256=script_prompt.sha256,
                   parameters=script.parameters | {"board_prompt_sha256": board_prompt.sha256,
                                                   "board_max_new_tokens": board.parameters["max_new_tokens"]})
