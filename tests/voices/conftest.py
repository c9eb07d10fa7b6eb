"""Tiny voices built once per session and loaded by path through the real engines.

* An MMS-TTS architecture VITS (32-wide, random weights, Vietnamese character vocabulary) saved with
  ``save_pretrained``: exercises ``VitsModel``/``VitsTokenizer`` loading and inference.
* A fake Piper voice: an ONNX graph with Piper's inputs and outputs (``input``, ``input_lengths``,
  ``scales`` -> ``output``) whose audio is 256 samples of a sine per phoneme id, plus a real
  ``.onnx.json`` using espeak ``vi``: exercises ``PiperVoice.load``, Vietnamese phonemisation through
  Piper's bundled espeak-ng data, the ONNX session and WAV writing. Output length is proportional to
  the number of phonemes, so tests can compare lengths.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from tests.conftest import unavailable

VI_CHARS = sorted(set("abcdefghijklmnopqrstuvwxyzăâđêôơưàáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữự"
                      "ỳýỷỹỵ ,.!?'-"))
PIPER_SYMBOLS = ["_", "^", "$", " "] + list("abcdefghijklmnopqrstuvwxyzɐɑɒæɓɔɕɗðəɛɜɡɣɤɨɪɯɰŋɲʃʈʊʌʔˈˌːʰ̪̃123456789,.!?-")
SAMPLES_PER_ID = 256


def need(module: str, install: str) -> None:
    if importlib.util.find_spec(module) is None:
        unavailable(f"{module} is not installed ({install})")


def build_vits(out: Path, *, uroman: bool = False) -> Path:
    """A tiny VITS with the MMS-TTS layout (16 kHz, character tokenizer with blanks)."""
    import torch
    from transformers import VitsConfig, VitsModel, VitsTokenizer

    out.mkdir(parents=True, exist_ok=True)
    vocab = out / "vocab.json"
    vocab.write_text(json.dumps({"<pad>": 0, **{c: i + 1 for i, c in enumerate(VI_CHARS)}}, ensure_ascii=False),
                     encoding="utf-8")
    tok = VitsTokenizer(str(vocab), language="vie", add_blank=True, normalize=True, phonemize=False,
                        is_uroman=uroman)
    cfg = VitsConfig(vocab_size=len(VI_CHARS) + 1, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                     ffn_dim=64, flow_size=32, spectrogram_bins=65, upsample_initial_channel=32,
                     upsample_rates=[8, 8, 2, 2], upsample_kernel_sizes=[16, 16, 4, 4], resblock_kernel_sizes=[3],
                     resblock_dilation_sizes=[[1, 3, 5]], posterior_encoder_num_wavenet_layers=2,
                     prior_encoder_num_flows=2, prior_encoder_num_wavenet_layers=2,
                     duration_predictor_num_flows=2, duration_predictor_filter_channels=32, sampling_rate=16000)
    torch.manual_seed(0)
    VitsModel(cfg).eval().save_pretrained(out)
    tok.save_pretrained(out)
    return out


def build_fake_piper(out: Path, name: str = "vi_VN-fake-x_low") -> Path:
    """A Piper voice file pair whose ONNX graph turns phoneme ids into a sine, 256 samples per id."""
    import onnx
    from onnx import TensorProto as TP
    from onnx import helper

    out.mkdir(parents=True, exist_ok=True)
    nodes = [helper.make_node("Cast", ["input"], ["xf"], to=TP.FLOAT),
             helper.make_node("Tile", ["xf", "reps"], ["xt"]), helper.make_node("Mul", ["xt", "k"], ["xs"]),
             helper.make_node("Sin", ["xs"], ["s"]), helper.make_node("Mul", ["s", "amp"], ["a"]),
             helper.make_node("Reshape", ["a", "shp"], ["output"])]
    graph = helper.make_graph(
        nodes, "fake_piper",
        [helper.make_tensor_value_info("input", TP.INT64, [1, "n"]),
         helper.make_tensor_value_info("input_lengths", TP.INT64, [1]),
         helper.make_tensor_value_info("scales", TP.FLOAT, [3])],
        [helper.make_tensor_value_info("output", TP.FLOAT, [1, 1, 1, "t"])],
        [helper.make_tensor("reps", TP.INT64, [2], [1, SAMPLES_PER_ID]), helper.make_tensor("k", TP.FLOAT, [], [0.05]),
         helper.make_tensor("amp", TP.FLOAT, [], [0.3]), helper.make_tensor("shp", TP.INT64, [4], [1, 1, 1, -1])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(out / f"{name}.onnx"))
    config = {"audio": {"sample_rate": 16000}, "espeak": {"voice": "vi"}, "phoneme_type": "espeak",
              "num_symbols": 256, "num_speakers": 1, "speaker_id_map": {},
              "inference": {"noise_scale": 0.667, "length_scale": 1, "noise_w": 0.8},
              "phoneme_id_map": {s: [i] for i, s in enumerate(dict.fromkeys(PIPER_SYMBOLS))}}
    (out / f"{name}.onnx.json").write_text(json.dumps(config, ensure_ascii=False), encoding="utf-8")
    return out


@pytest.fixture(scope="session")
def tiny_vits(tmp_path_factory: pytest.TempPathFactory) -> Path:
    need("transformers", "pip install -e '.[ml]'")
    return build_vits(tmp_path_factory.mktemp("vits"))


@pytest.fixture(scope="session")
def fake_piper(tmp_path_factory: pytest.TempPathFactory) -> Path:
    need("piper", "pip install -e '.[ml]'")
    need("onnx", "pip install onnx (test dependency)")
    return build_fake_piper(tmp_path_factory.mktemp("piper"))
