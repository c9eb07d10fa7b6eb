"""CTranslate2 Whisper -> openai-whisper checkpoint and transformers directory (engines/whisper_convert.py).

A tiny random transformers Whisper is converted to CT2 by CTranslate2's own converter, then back by ours;
the weights and the network's outputs must match the original, so a swapped, dropped or mis-split tensor
fails. The real bundled whisper-base is converted once (slow) and must still recognise Vietnamese.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engines import whisper_convert
from engines.whisper_base import ModelUnavailable
from engines.whisper_convert import ConversionError
from tests.asr.conftest import need

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def original(tiny_transformers: Path):  # type: ignore[no-untyped-def]
    from transformers import WhisperForConditionalGeneration

    return WhisperForConditionalGeneration.from_pretrained(tiny_transformers).eval()


def test_transformers_round_trip_keeps_every_weight(tiny_ct2: Path, original, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import torch
    from transformers import AutoProcessor, WhisperForConditionalGeneration

    out = whisper_convert.to_transformers(tiny_ct2, tmp_path / "hf")
    converted = WhisperForConditionalGeneration.from_pretrained(out, dtype=torch.float32)
    want, got = original.state_dict(), converted.state_dict()
    assert want.keys() == got.keys()
    worst = max(float((want[k] - got[k]).abs().max()) for k in want)
    assert worst < 1e-3  # fp16 storage of N(0, 0.1) weights
    gen = converted.generation_config
    assert gen.lang_to_id["<|vi|>"] == original.generation_config.lang_to_id["<|vi|>"]
    assert gen.no_timestamps_token_id == original.generation_config.no_timestamps_token_id
    assert gen.alignment_heads == [[1, 0], [1, 1]]
    tokenizer = AutoProcessor.from_pretrained(out).tokenizer
    assert len(tokenizer) == converted.config.vocab_size == 51865
    assert tokenizer.decode(tokenizer("thông báo").input_ids, skip_special_tokens=True) == "thông báo"


def test_openai_checkpoint_computes_what_the_original_computes(tiny_ct2: Path, original, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import torch

    from engines import asr_openai

    checkpoint = whisper_convert.to_openai_whisper(tiny_ct2, tmp_path / "tiny.pt")
    model = asr_openai.load(str(checkpoint))  # through the backend's loader
    mel = torch.randn(1, 80, 3000, generator=torch.Generator().manual_seed(1))
    tokens = torch.tensor([[50258, 50278, 50359, 50363, 300, 301]])
    with torch.no_grad():
        want_audio = original.model.encoder(mel).last_hidden_state
        want = original(encoder_outputs=(want_audio,), decoder_input_ids=tokens).logits
        got_audio = model.encoder(mel)
        got = model.decoder(tokens, got_audio)
    assert float((want_audio - got_audio).abs().max()) < 5e-3
    assert float((want - got).abs().max()) < 5e-3 * float(want.abs().max())


def test_int8_models_are_dequantised(tiny_transformers: Path, original, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from tests.asr.tiny_whisper import build_ct2_whisper

    int8 = build_ct2_whisper(tiny_transformers, tmp_path / "int8", quantization="int8")
    model = whisper_convert.load_ct2_whisper(int8)
    want = original.state_dict()["model.encoder.layers.0.fc1.weight"].numpy()
    got = model.weights["encoder/layer_0/ffn/linear_0/weight"]
    assert got.dtype == np.float32 and got.shape == want.shape
    assert np.abs(got - want).max() < 0.01 * np.abs(want).max() + 1e-3  # int8 rounding, not a wrong scale


def test_not_a_ct2_model(tmp_path: Path) -> None:
    (tmp_path / "model.bin").write_bytes(b"\x06\x00\x00\x00garbage")
    with pytest.raises(ConversionError, match="not a readable CTranslate2 model|truncated"):
        whisper_convert.to_openai_whisper(tmp_path, tmp_path / "x.pt")
    (tmp_path / "model.bin").write_bytes(b"\x63\x00\x00\x00")
    with pytest.raises(ConversionError, match="binary version 99 is not supported"):
        whisper_convert.load_ct2_whisper(tmp_path)
    assert not (tmp_path / "x.pt").exists()


def test_truncated_model(tiny_ct2: Path, tmp_path: Path) -> None:
    (tmp_path / "model.bin").write_bytes((tiny_ct2 / "model.bin").read_bytes()[:100_000])
    with pytest.raises(ConversionError, match="truncated"):
        whisper_convert.load_ct2_whisper(tmp_path)


def test_missing_model(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailable, match="does not exist"):
        whisper_convert.to_transformers(tmp_path, tmp_path / "out")


def test_existing_output_directory_is_not_overwritten(tiny_ct2: Path, tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("operator's file")
    with pytest.raises(ConversionError, match="already exists"):
        whisper_convert.to_transformers(tiny_ct2, tmp_path / "out")
    assert (tmp_path / "out" / "keep.txt").read_text() == "operator's file"
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # no half-written directory left behind


@pytest.mark.slow
def test_real_whisper_base_converts_and_still_recognises_vietnamese(
    model_cache: Path, short_clip: Path, tmp_path: Path
) -> None:
    """~3 s conversion + ~2 s load + one 30 s encoder pass; transformers conversion is covered by hand
    and in benchmarks/asr.py (it takes ~9 s more)."""
    need("whisper", "pip install --no-deps openai-whisper==20250625")
    import whisper

    from engines import asr, asr_openai, whisper_base

    checkpoint = whisper_convert.to_openai_whisper(whisper_base.assemble(model_cache), tmp_path / "base.pt")
    model = asr_openai.load(str(checkpoint))
    assert (model.dims.n_audio_state, model.dims.n_text_layer, model.is_multilingual) == (512, 6, True)
    audio = next(asr.speech_chunks(short_clip)).audio
    _, probs = model.detect_language(whisper.log_mel_spectrogram(whisper.pad_or_trim(audio), 80))
    assert max(probs, key=probs.get) == "vi" and probs["vi"] > 0.9
