"""Tiny random Whisper models for tests, built in seconds and saved like real ones.

Each builder writes what an operator would supply for its backend, so the engines load them by path
through their real code: a transformers Whisper directory (config, weights, tokenizer with Whisper's
special and timestamp tokens, feature extractor), an openai-whisper ``.pt`` checkpoint (real 51 865-token
vocabulary, so openai-whisper's bundled tokenizer applies), and a CTranslate2 directory made by
CTranslate2's own converter from the transformers one (what faster-whisper loads).
The weights are random: tests assert types, shapes, timing and errors, never words.
"""

from __future__ import annotations

from pathlib import Path

CORPUS = ["Ủy ban nhân dân xã thông báo lịch tiêm chủng cho trẻ em dưới năm tuổi.",
          "The commune announces the vaccination schedule."] * 20
TEXT_TOKENS = 50257  # Whisper's byte-level BPE size: <|endoftext|> comes right after the text tokens
TASK_SPECIALS = ["<|translate|>", "<|transcribe|>", "<|startoflm|>", "<|startofprev|>", "<|nospeech|>",
                 "<|notimestamps|>"]
TIMESTAMPS = [f"<|{i * 0.02:.2f}|>" for i in range(1501)]


def whisper_languages() -> list[str]:
    """The 99 language codes of the 51 865-token multilingual Whisper, in token order."""
    from whisper.tokenizer import LANGUAGES

    return list(LANGUAGES)[:99]


def build_transformers_whisper(out: Path) -> Path:
    """A 64-wide, 2+2-layer WhisperForConditionalGeneration laid out exactly like multilingual Whisper.

    The vocabulary has Whisper's 51 865 ids in Whisper's order (text tokens, <|endoftext|> at 50257, the
    99 language tokens, task tokens, 1501 timestamps), so CTranslate2 and faster-whisper treat it as
    multilingual and decode its text. The text tokens are a BPE trained on two sentences, padded with
    tokens that never occur.
    """
    import json

    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import (
        GenerationConfig,
        WhisperConfig,
        WhisperFeatureExtractor,
        WhisperForConditionalGeneration,
        WhisperProcessor,
        WhisperTokenizerFast,
    )

    out.mkdir(parents=True, exist_ok=True)
    trained = Tokenizer(models.BPE())
    trained.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trained.train_from_iterator(CORPUS, trainers.BpeTrainer(
        vocab_size=400, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), special_tokens=[]))
    vocab = trained.get_vocab()
    merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m)
              for m in json.loads(trained.to_str())["model"]["merges"]]
    vocab.update({f"@@{i}": i for i in range(len(vocab), TEXT_TOKENS)})
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    langs = [f"<|{code}|>" for code in whisper_languages()]
    tok.add_special_tokens(["<|endoftext|>", "<|startoftranscript|>", *langs, *TASK_SPECIALS])
    tok.add_tokens(TIMESTAMPS)
    # tokenizer_object=: the vocab_file=/merges_file= constructor builds an empty vocabulary in transformers 5.x.
    wt = WhisperTokenizerFast(tokenizer_object=tok, unk_token="<|endoftext|>", bos_token="<|endoftext|>",
                              eos_token="<|endoftext|>", pad_token="<|endoftext|>")
    assert len(wt) == 51865 and wt.convert_tokens_to_ids("<|endoftext|>") == TEXT_TOKENS
    ids = {t: wt.convert_tokens_to_ids(t) for t in ["<|startoftranscript|>", *langs, *TASK_SPECIALS]}
    cfg = WhisperConfig(vocab_size=len(wt), num_mel_bins=80, d_model=64, encoder_layers=2, decoder_layers=2,
                        encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=256,
                        decoder_ffn_dim=256, max_source_positions=1500, max_target_positions=448,
                        pad_token_id=wt.pad_token_id, bos_token_id=wt.bos_token_id, eos_token_id=wt.eos_token_id,
                        decoder_start_token_id=ids["<|startoftranscript|>"])
    model = WhisperForConditionalGeneration(cfg).eval()
    torch.manual_seed(0)
    with torch.no_grad():  # random biases and norms too, so a conversion that drops or swaps one shows
        for param in model.parameters():
            param.normal_(0.0, 0.1)
    model.generation_config = GenerationConfig(
        decoder_start_token_id=ids["<|startoftranscript|>"], eos_token_id=wt.eos_token_id,
        pad_token_id=wt.pad_token_id, max_new_tokens=8, is_multilingual=True,
        lang_to_id={t: ids[t] for t in langs},
        task_to_id={"transcribe": ids["<|transcribe|>"], "translate": ids["<|translate|>"]},
        no_timestamps_token_id=ids["<|notimestamps|>"], prev_sot_token_id=ids["<|startofprev|>"],
        begin_suppress_tokens=[wt.eos_token_id], suppress_tokens=[], max_initial_timestamp_index=50,
        alignment_heads=[[1, 0], [1, 1]])
    model.save_pretrained(out)
    WhisperProcessor(feature_extractor=WhisperFeatureExtractor(feature_size=80), tokenizer=wt).save_pretrained(out)
    return out


def build_openai_whisper(out: Path) -> Path:
    """A 64-wide, 2+2-layer openai-whisper checkpoint with the real multilingual vocabulary size.

    The text context is 16 tokens, so openai-whisper decodes at most 8 tokens per window: a random model
    repeats a token until the limit, and openai-whisper's Python decoding loop costs ~50 ms per token.
    """
    import torch
    from whisper.model import ModelDimensions, Whisper

    dims = ModelDimensions(n_mels=80, n_audio_ctx=1500, n_audio_state=64, n_audio_head=2, n_audio_layer=2,
                           n_vocab=51865, n_text_ctx=16, n_text_state=64, n_text_head=2, n_text_layer=2)
    torch.manual_seed(0)
    model = Whisper(dims)
    with torch.no_grad():  # some of openai-whisper's parameters start as torch.empty (uninitialised memory)
        for param in model.parameters():
            param.normal_(0.0, 0.1)
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"dims": dims.__dict__, "model_state_dict": model.state_dict()}, out)
    return out


def build_ct2_whisper(hf_dir: Path, out: Path, quantization: str | None = None) -> Path:
    """Convert a transformers Whisper directory with CTranslate2's own converter (in process: no torch re-import)."""
    from ctranslate2.converters import TransformersConverter

    # Only tokenizer.json: transformers 5.x writes processor_config.json, which faster-whisper does not read.
    TransformersConverter(str(hf_dir), copy_files=["tokenizer.json"]).convert(
        str(out), quantization=quantization, force=True)
    return out
