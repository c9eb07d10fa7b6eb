"""NLLB-200 translation: CTranslate2 int8 (no torch at run time) or transformers.

NLLB names languages with FLORES-200 codes (``vie_Latn``, ``khm_Khmr``; see :mod:`domain.languages`).
Source sentences are tokenised as ``[src_lang] pieces </s>`` and decoding is forced to start with the
target language token, which is how NLLB was trained (the non-legacy tokenizer behaviour).

The CTranslate2 directory is what ``ct2-transformers-converter --quantization int8`` writes; it must also
hold the tokenizer: ``sentencepiece.bpe.model`` (preferred, as shipped with NLLB) or ``tokenizer.json``.
research/models.md §3: NLLB-200-distilled-600M int8 translates about one sentence per 3 s on 2 cores.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from domain.languages import nllb_code
from engines import hf_seq2seq
from engines.errors import EngineError
from engines.registry import ModelEntry, ModelUnavailable
from engines.registry import require as require_model

CPU_THREADS = 2
BATCH_SIZE = 8  # sentences per CTranslate2 / generate call: the measured sweet spot on 2 cores
MAX_INPUT_TOKENS = 1024  # NLLB's trained input length; CTranslate2 would silently cut longer sentences here


def _codes(source: str, target: str) -> tuple[str, str]:
    src, tgt = nllb_code(source), nllb_code(target)
    if src is None or tgt is None:
        raise ModelUnavailable(f"NLLB-200 has no language code for {source if src is None else target}")
    return src, tgt


class _PieceTokenizer:
    """SentencePiece pieces in and out, from ``sentencepiece.bpe.model`` or a ``tokenizer.json``."""

    def __init__(self, model_dir: Path) -> None:
        spm_file, json_file = model_dir / "sentencepiece.bpe.model", model_dir / "tokenizer.json"
        self._sp: Any = None
        self._tok: Any = None
        try:
            import sentencepiece
        except ImportError:  # part of the ml extra; tokenizers always comes with faster-whisper
            sentencepiece = None  # type: ignore[assignment]  # optional module: None when absent
        if spm_file.is_file() and sentencepiece is not None:
            self._sp = sentencepiece.SentencePieceProcessor(model_file=str(spm_file))
        elif json_file.is_file():
            from tokenizers import Tokenizer

            self._tok = Tokenizer.from_file(str(json_file))
        elif spm_file.is_file():
            raise ModelUnavailable("sentencepiece is not installed (pip install 'bantin[ml]'), and "
                                   f"{model_dir} has no tokenizer.json to use instead")
        else:
            raise ModelUnavailable(f"{model_dir} has neither sentencepiece.bpe.model nor tokenizer.json")

    def pieces(self, text: str) -> list[str]:
        if self._sp is not None:
            return list(self._sp.encode(text, out_type=str))
        return list(self._tok.encode(text, add_special_tokens=False).tokens)

    def text(self, pieces: Sequence[str]) -> str:
        if self._sp is not None:
            return str(self._sp.decode_pieces(list(pieces)))
        ids = [i for i in (self._tok.token_to_id(p) for p in pieces) if i is not None]
        return str(self._tok.decode(ids, skip_special_tokens=True))


@dataclass
class NllbCT2:
    """A CTranslate2 NLLB model loaded from a local directory."""

    translator: Any
    tokenizer: _PieceTokenizer
    beam_size: int
    max_tokens: int
    engine: str = "nllb-ct2"
    engine_version: str = ""

    def parameters(self, source: str, target: str) -> dict[str, Any]:
        src, tgt = _codes(source, target)
        return {"beam_size": self.beam_size, "max_decoding_length": self.max_tokens, "compute_type": "int8",
                "src_lang": src, "tgt_lang": tgt}

    def translate_sentences(self, sentences: Sequence[str], source: str, target: str) -> list[str]:
        """Translate sentences in batches; the output list matches the input order."""
        src, tgt = _codes(source, target)
        batch = [[src, *self.tokenizer.pieces(s), "</s>"] for s in sentences]
        hf_seq2seq.refuse_long_inputs([len(tokens) for tokens in batch], MAX_INPUT_TOKENS)
        try:
            results = self.translator.translate_batch(
                batch, target_prefix=[[tgt]] * len(batch), beam_size=self.beam_size,
                max_decoding_length=self.max_tokens, max_batch_size=BATCH_SIZE, max_input_length=0)
        except (RuntimeError, ValueError) as exc:
            raise EngineError(f"NLLB (CTranslate2) failed: {str(exc).splitlines()[0]}") from exc
        out = []
        for result in results:
            pieces = [p for p in result.hypotheses[0] if p != tgt and p not in ("</s>", "<s>", "<pad>")]
            out.append(self.tokenizer.text(pieces).strip())
        return out


@functools.lru_cache(maxsize=2)
def _ct2(model_dir: str, threads: int, sha256: str) -> tuple[Any, _PieceTokenizer, str]:
    """Load once per (directory, threads, recorded checksum): new files under a new checksum are reloaded."""
    try:
        import ctranslate2
    except ImportError:
        raise ModelUnavailable("ctranslate2 is not installed (it comes with faster-whisper)") from None
    try:
        translator = ctranslate2.Translator(model_dir, device="cpu", compute_type="int8", intra_threads=threads)
    except (RuntimeError, ValueError) as exc:
        raise ModelUnavailable(f"cannot load a CTranslate2 model from {model_dir}: "
                               f"{str(exc).splitlines()[0]}") from None
    return translator, _PieceTokenizer(Path(model_dir)), ctranslate2.__version__


def load_ct2(entry: ModelEntry, *, beam_size: int, max_tokens: int) -> NllbCT2:
    """The entry's CTranslate2 model, checksum verified, loaded once per process.

    Raises:
        ModelUnavailable: ctranslate2 or the files are missing, or the directory is not a CT2 model.
        ModelChecksumMismatch: the files differ from the registry's SHA-256.
    """
    path = require_model(entry)
    translator, tokenizer, version = _ct2(str(path), CPU_THREADS, entry.sha256)
    return NllbCT2(translator, tokenizer, beam_size, max_tokens, engine_version=version)


@dataclass
class NllbTransformers:
    """An NLLB (M2M100) directory run by transformers' ``generate``."""

    tokenizer: Any
    model: Any
    beam_size: int
    max_tokens: int
    engine: str = "nllb-transformers"
    engine_version: str = ""

    def parameters(self, source: str, target: str) -> dict[str, Any]:
        src, tgt = _codes(source, target)
        return {"num_beams": self.beam_size, "max_new_tokens": self.max_tokens, "src_lang": src, "tgt_lang": tgt}

    def translate_sentences(self, sentences: Sequence[str], source: str, target: str) -> list[str]:
        """Translate sentences in batches of :data:`BATCH_SIZE`; output order matches the input."""
        src, tgt = _codes(source, target)
        target_id = self.tokenizer.convert_tokens_to_ids(tgt)
        if target_id is None or target_id == self.tokenizer.unk_token_id:
            raise ModelUnavailable(f"the NLLB tokenizer has no '{tgt}' token")
        self.tokenizer.src_lang = src  # NllbTokenizer puts this code first on every encoded sentence
        out: list[str] = []
        for start in range(0, len(sentences), BATCH_SIZE):
            chunk = list(sentences[start:start + BATCH_SIZE])
            encoded = self.tokenizer(chunk, return_tensors="pt", padding=True)
            hf_seq2seq.refuse_long_inputs([int(n) for n in encoded["attention_mask"].sum(dim=1)],
                                          MAX_INPUT_TOKENS, first=start + 1)
            generated = hf_seq2seq.generate(self.model, encoded, forced_bos_token_id=target_id,
                                            num_beams=self.beam_size, max_new_tokens=self.max_tokens)
            out += [t.strip() for t in self.tokenizer.batch_decode(generated, skip_special_tokens=True)]
        return out


def load_transformers(entry: ModelEntry, *, beam_size: int, max_tokens: int) -> NllbTransformers:
    """The entry's transformers NLLB model, checksum verified, loaded once per process.

    Raises:
        ModelUnavailable: torch/transformers or the files are missing.
        ModelChecksumMismatch: the files differ from the registry's SHA-256.
    """
    tokenizer, model, _ = hf_seq2seq.load(entry)
    return NllbTransformers(tokenizer, model, beam_size, max_tokens,
                            engine_version=hf_seq2seq.transformers_version())
