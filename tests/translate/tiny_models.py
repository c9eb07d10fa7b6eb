"""Tiny random models with the real architectures and tokenizers, built once per test session.

Recipes from research/models.md §6 and Appendix C (transformers 5.x: tokenizers are built from a locally
trained SentencePiece/BPE through ``from_pretrained`` or ``tokenizer_object``, because some constructors
silently build an empty vocabulary). Each model is saved to a directory and then loaded by path through
the engines' real code. Weights are random (seeded), so tests assert on plumbing, limits, provenance and
checks, never on the meaning of the output.

Vocabularies are chosen on purpose: the translators and the "clean" summariser only know lowercase
Vietnamese and Khmer without digits, so whatever they emit states no number or name (and passes the
faithfulness check); the "inventive" summariser only knows digits and capitalised names absent from the
drafts, so whatever it emits fails the check.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

KHMER = ["ការជូនដំណឹងពីឃុំ អំពីកាលវិភាគចាក់វ៉ាក់សាំង។", "សូមជម្រាបជូនបងប្អូនប្រជាពលរដ្ឋ។",
         "ការចាក់វ៉ាក់សាំងកញ្ជ្រឹលសម្រាប់កុមារ។", "នៅស្ថានីយ៍សុខាភិបាលឃុំ។"]
VIETNAMESE = ["ủy ban nhân dân xã thông báo lịch tiêm chủng.", "thời gian tiêm vào buổi sáng và buổi chiều.",
              "phụ huynh mang theo sổ tiêm chủng của trẻ.", "trân trọng thông báo, kính thưa bà con nhân dân."]
ENGLISH = ["the commune announces the vaccination schedule.", "parents bring the vaccination book."]
INVENTED = ["Hà Nội 2099 ngày 31 tháng 1 lúc 23 giờ 59.", "Quảng Ninh 8888 Phú Quốc 7777 Hải Phòng 123456."]
CHAT_TEMPLATE = ("{% for m in messages %}<|user|>{{ m['content'] }}\n{% endfor %}"
                 "{% if add_generation_prompt %}<|assistant|>{% endif %}")


def require_ml() -> None:
    """Skip (fail under CI) when the ml extra or ctranslate2 is missing."""
    from tests.conftest import unavailable

    for module in ("torch", "transformers", "sentencepiece", "ctranslate2"):
        if importlib.util.find_spec(module) is None:
            unavailable(f"{module} is not installed (pip install -e '.[ml]')")


def _train_spm(corpus: Sequence[str], prefix: Path, vocab_size: int, **ids: int) -> Path:
    import sentencepiece as spm

    spm.SentencePieceTrainer.train(sentence_iterator=iter(list(corpus) * 30), model_prefix=str(prefix),
                                   vocab_size=vocab_size, hard_vocab_limit=False, character_coverage=1.0,
                                   minloglevel=2, **ids)
    return prefix.with_suffix(".model")


def _done(path: Path) -> bool:
    return (path / "config.json").is_file()


def khmer(piece: str) -> bool:
    """Whether a vocabulary piece holds Khmer letters."""
    return any("\u1780" <= ch <= "\u17ff" for ch in piece)


def latin(piece: str) -> bool:
    """Whether a vocabulary piece holds Latin letters and no Khmer ones."""
    return any(ch.isalpha() and ch.isascii() or "\u00c0" <= ch <= "\u1eff" for ch in piece) and not khmer(piece)


def _emit_only(model: object, tokenizer: object, keep: Callable[[str], bool]) -> None:
    """Zero the output projection of every piece ``keep`` rejects, so decoding never picks one.

    A random model would otherwise mix both scripts of its vocabulary, and a translation into Khmer that is
    half Vietnamese is (rightly) refused. The projection must be untied from the input embeddings.
    """
    import torch

    head = model.get_output_embeddings().weight  # type: ignore[attr-defined]
    with torch.no_grad():
        for index in range(head.shape[0]):
            if not keep(tokenizer.convert_ids_to_tokens(index)):  # type: ignore[attr-defined]
                head[index].zero_()


def nllb(root: Path, name: str = "nllb", emits: Callable[[str], bool] = khmer) -> Path:
    """An NLLB-architecture (M2M100) model with an NllbTokenizer knowing vie_Latn, khm_Khmr and eng_Latn.

    It only ever writes pieces ``emits`` accepts: Khmer by default; ``latin`` makes a model that "answers"
    in Vietnamese whatever the target, as a real one does when it fails to switch language.
    """
    out = root / name
    if _done(out):
        return out
    import torch
    from transformers import M2M100Config, M2M100ForConditionalGeneration, NllbTokenizer

    src = root / f"{name}-src"
    src.mkdir(parents=True, exist_ok=True)
    _train_spm(KHMER + VIETNAMESE, src / "sentencepiece.bpe", 200, model_type="bpe", bos_id=0, pad_id=1,
               eos_id=2, unk_id=3)
    (src / "tokenizer_config.json").write_text(json.dumps({"tokenizer_class": "NllbTokenizer"}), encoding="utf-8")
    tok = NllbTokenizer.from_pretrained(str(src))
    tok.add_special_tokens({"additional_special_tokens": ["eng_Latn", "vie_Latn", "khm_Khmr"]})
    cfg = M2M100Config(vocab_size=len(tok), d_model=64, encoder_layers=2, decoder_layers=2, encoder_attention_heads=2,
                       decoder_attention_heads=2, encoder_ffn_dim=128, decoder_ffn_dim=128,
                       max_position_embeddings=256, pad_token_id=tok.pad_token_id, bos_token_id=tok.bos_token_id,
                       eos_token_id=tok.eos_token_id, decoder_start_token_id=tok.eos_token_id,
                       tie_word_embeddings=False)
    torch.manual_seed(7)
    model = M2M100ForConditionalGeneration(cfg).eval()
    _emit_only(model, tok, emits)
    model.save_pretrained(str(out))
    tok.save_pretrained(str(out))
    shutil.copyfile(src / "sentencepiece.bpe.model", out / "sentencepiece.bpe.model")
    return out


def nllb_ct2(root: Path) -> Path:
    """The tiny NLLB converted to CTranslate2 int8, with the SentencePiece model beside it (the usual layout)."""
    out = root / "nllb-ct2"
    if (out / "model.bin").is_file():
        return out
    from ctranslate2.converters import TransformersConverter

    source = nllb(root)
    TransformersConverter(str(source), copy_files=["sentencepiece.bpe.model", "tokenizer.json"]).convert(
        str(out), quantization="int8", force=True)
    return out


def marian(root: Path) -> Path:
    """A Marian (opus-mt architecture) vi->en model with source.spm, target.spm and vocab.json."""
    out = root / "marian"
    if _done(out):
        return out
    import torch
    from transformers import MarianConfig, MarianMTModel, MarianTokenizer

    src = root / "marian-src"
    src.mkdir(parents=True, exist_ok=True)
    model_file = _train_spm(VIETNAMESE + ENGLISH, src / "sp", 120, model_type="unigram", pad_id=-1, eos_id=0,
                            unk_id=1, bos_id=-1)
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor(model_file=str(model_file))
    vocab = {sp.id_to_piece(i): i for i in range(sp.get_piece_size())}
    vocab["<pad>"] = len(vocab)
    (src / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Recommended: pip install sacremoses")
        tok = MarianTokenizer(source_spm=str(model_file), target_spm=str(model_file),
                              vocab=str(src / "vocab.json"), source_lang="vi", target_lang="en")
    cfg = MarianConfig(vocab_size=len(tok), d_model=64, encoder_layers=2, decoder_layers=2,
                       encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=128,
                       decoder_ffn_dim=128, max_position_embeddings=256, pad_token_id=tok.pad_token_id,
                       eos_token_id=tok.eos_token_id, decoder_start_token_id=tok.pad_token_id,
                       forced_eos_token_id=tok.eos_token_id)
    torch.manual_seed(7)
    MarianMTModel(cfg).eval().save_pretrained(str(out))
    tok.save_pretrained(str(out))
    return out


def t5_summarizer(root: Path, name: str, corpus: Sequence[str]) -> Path:
    """A ViT5-style (T5) summariser whose vocabulary is ``corpus``; it always writes 8-40 tokens."""
    out = root / name
    if _done(out):
        return out
    import torch
    from transformers import GenerationConfig, T5Config, T5ForConditionalGeneration, T5Tokenizer

    src = root / f"{name}-src"
    src.mkdir(parents=True, exist_ok=True)
    _train_spm(corpus, src / "spiece", 120, model_type="unigram", pad_id=0, eos_id=1, unk_id=2, bos_id=-1)
    (src / "tokenizer_config.json").write_text(json.dumps({"tokenizer_class": "T5Tokenizer", "extra_ids": 0}),
                                              encoding="utf-8")
    tok = T5Tokenizer.from_pretrained(str(src))
    cfg = T5Config(vocab_size=len(tok), d_model=64, d_kv=16, d_ff=128, num_layers=2, num_decoder_layers=2,
                   num_heads=2, pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id,
                   decoder_start_token_id=tok.pad_token_id,
                   task_specific_params={"summarization": {"prefix": "vietnews: "}})
    torch.manual_seed(11)
    model = T5ForConditionalGeneration(cfg).eval()
    model.generation_config = GenerationConfig(decoder_start_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id,
                                               pad_token_id=tok.pad_token_id, min_new_tokens=8)
    model.save_pretrained(str(out))
    tok.save_pretrained(str(out))
    return out


def instruct(root: Path, name: str = "instruct", emits: Callable[[str], bool] | None = None) -> Path:
    """A Llama-architecture causal LM with a byte-level BPE and a chat template (an instruction model's shape).

    With ``emits`` it only writes the pieces that predicate accepts (``khmer`` for a translator into Khmer).
    """
    out = root / name
    if _done(out):
        return out
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    # Character-level BPE over lowercase Vietnamese and Khmer (no byte fallback): every token decodes to
    # whole characters, and none of them is a digit or a capital letter.
    bpe = Tokenizer(models.BPE(unk_token="<unk>"))
    bpe.pre_tokenizer = pre_tokenizers.Whitespace()
    bpe.decoder = decoders.BPEDecoder()
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=["<|end|>", "<unk>"])
    bpe.train_from_iterator(KHMER + VIETNAMESE, trainer)
    tok = PreTrainedTokenizerFast(tokenizer_object=bpe, eos_token="<|end|>", pad_token="<|end|>",
                                  bos_token="<|end|>", unk_token="<unk>")
    tok.chat_template = CHAT_TEMPLATE
    cfg = LlamaConfig(vocab_size=len(tok), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                      num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=4096,
                      bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
    torch.manual_seed(3)
    model = LlamaForCausalLM(cfg).eval()
    if emits is not None:
        _emit_only(model, tok, lambda piece: emits(piece) or piece == "<|end|>")
    model.generation_config = GenerationConfig(eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id,
                                               min_new_tokens=4)
    model.save_pretrained(str(out))
    tok.save_pretrained(str(out))
    return out


def registry_toml(entries: Sequence[dict[str, object]]) -> str:
    """``[[model]]`` tables for a registry file."""
    lines = []
    for e in entries:
        lines.append("[[model]]")
        for key, value in e.items():
            lines.append(f"{key} = {json.dumps(value, ensure_ascii=False)}")
        lines.append("")
    return "\n".join(lines)
