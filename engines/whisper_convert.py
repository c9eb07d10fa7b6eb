"""Convert a CTranslate2 Whisper model (what faster-whisper runs) for the other two Whisper stacks.

The bundled whisper-base ships only as CTranslate2 weights (``model.bin``), so the openai-whisper and
transformers backends get the *same* weights by conversion: an openai-whisper ``.pt`` checkpoint or a
transformers ``WhisperForConditionalGeneration`` directory with tokenizer, generation config and feature
extractor. Nothing is downloaded; the CT2 file is parsed directly.

CT2 file layout (``ctranslate2/specs/model_spec.py``, binary version 6)::

    u32 version, str name, u32 revision, u32 n,
    n x {str name, u8 rank, u32 dims[rank], u8 dtype, u32 nbytes, data}, u32 n_alias, ...

Strings are ``u16 length+1``, the UTF-8 bytes and a NUL. Weight names map as follows: ``self_attention/
linear_0`` is the fused q, k, v (k has no bias), ``attention/linear_0`` the cross-attention q and
``attention/linear_1`` its fused k, v; ``ffn/linear_0|1`` are the two MLP layers; ``layer_norm/gamma|beta``
the norms. int8 models store ``<weight>_scale`` beside each quantised weight (``weight = int8 / scale``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from engines.errors import EngineError
from engines.whisper_base import ModelUnavailable

_DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16}
_BFLOAT16 = 5
SUPPORTED_VERSIONS = (5, 6)


class ConversionError(EngineError):
    """The model file is not a CTranslate2 Whisper model this converter understands."""


@dataclass(frozen=True, slots=True)
class Ct2Whisper:
    """The float32 weights and the shapes of a CTranslate2 Whisper model."""

    weights: dict[str, np.ndarray]
    n_mels: int
    n_audio_ctx: int
    n_text_ctx: int
    d_model: int
    n_vocab: int
    n_heads_encoder: int
    n_heads_decoder: int
    n_layers_encoder: int
    n_layers_decoder: int
    ffn_dim: int


def read_ct2(model_bin: Path) -> tuple[str, dict[str, np.ndarray]]:
    """Parse a CTranslate2 ``model.bin`` into ``(spec name, {variable name: array})``.

    Raises:
        ModelUnavailable: the file does not exist.
        ConversionError: the file is truncated or not a CTranslate2 model.
    """
    try:
        data = Path(model_bin).read_bytes()
    except FileNotFoundError:
        raise ModelUnavailable(f"{model_bin} does not exist") from None
    offset = 0

    def unpack(fmt: str) -> Any:
        nonlocal offset
        value = struct.unpack_from(fmt, data, offset)
        offset += struct.calcsize(fmt)
        return value[0]

    def string() -> str:
        nonlocal offset
        length = unpack("H")
        value = data[offset:offset + length - 1].decode("utf-8")
        offset += length
        return value

    try:
        version = unpack("I")
        if version not in SUPPORTED_VERSIONS:
            raise ConversionError(f"{model_bin}: CTranslate2 binary version {version} is not supported "
                                  f"(known: {', '.join(map(str, SUPPORTED_VERSIONS))})")
        name = string()
        unpack("I")  # spec revision
        out: dict[str, np.ndarray] = {}
        for _ in range(unpack("I")):
            key = string()
            shape = [unpack("I") for _ in range(unpack("B"))]
            dtype, nbytes = unpack("B"), unpack("I")
            if offset + nbytes > len(data):
                raise ConversionError(f"{model_bin}: truncated inside '{key}'")
            if dtype == _BFLOAT16:
                raw = np.frombuffer(data, np.uint16, nbytes // 2, offset).astype(np.uint32) << 16
                array = raw.view(np.float32)
            elif dtype in _DTYPES:
                array = np.frombuffer(data, _DTYPES[dtype], nbytes // np.dtype(_DTYPES[dtype]).itemsize, offset)
            else:
                raise ConversionError(f"{model_bin}: unknown data type {dtype} for '{key}'")
            out[key] = array.reshape(shape) if shape else array
            offset += nbytes
        if version >= 5 and offset < len(data):
            # Variables with identical values are stored once; the others are aliases (e.g. zero biases).
            for _ in range(unpack("I")):
                alias, target = string(), string()
                if target not in out:
                    raise ConversionError(f"{model_bin}: alias '{alias}' points at unknown '{target}'")
                out[alias] = out[target]
    except (struct.error, UnicodeDecodeError, ValueError) as exc:
        raise ConversionError(f"{model_bin}: not a readable CTranslate2 model ({exc})") from None
    return name, out


def load_ct2_whisper(model_dir: Path) -> Ct2Whisper:
    """Read a CTranslate2 Whisper directory's weights as float32 (int8 weights are de-quantised).

    Raises:
        ModelUnavailable: ``model.bin`` is missing.
        ConversionError: the file is not a CTranslate2 Whisper model.
    """
    name, raw = read_ct2(Path(model_dir) / "model.bin")
    if name != "WhisperSpec":
        raise ConversionError(f"{model_dir}: a CTranslate2 '{name}' model, not Whisper")
    weights: dict[str, np.ndarray] = {}
    for key, value in raw.items():
        if key.endswith("_scale"):
            continue
        array = value.astype(np.float32)
        scale = raw.get(f"{key}_scale")
        if scale is not None and value.dtype in (np.int8, np.int16):
            array = array / scale.astype(np.float32).reshape(-1, *([1] * (array.ndim - 1)))
        weights[key] = array
    try:
        d_model = weights["encoder/conv1/weight"].shape[0]
        return Ct2Whisper(
            weights=weights,
            n_mels=weights["encoder/conv1/weight"].shape[1],
            n_audio_ctx=weights["encoder/position_encodings/encodings"].shape[0],
            n_text_ctx=weights["decoder/position_encodings/encodings"].shape[0],
            d_model=d_model,
            n_vocab=weights["decoder/embeddings/weight"].shape[0],
            n_heads_encoder=int(raw["encoder/num_heads"].reshape(-1)[0]),
            n_heads_decoder=int(raw["decoder/num_heads"].reshape(-1)[0]),
            n_layers_encoder=len({k.split("/")[1] for k in weights if re.match(r"encoder/layer_\d+/", k)}),
            n_layers_decoder=len({k.split("/")[1] for k in weights if re.match(r"decoder/layer_\d+/", k)}),
            ffn_dim=weights["encoder/layer_0/ffn/linear_0/weight"].shape[0],
        )
    except KeyError as exc:
        raise ConversionError(f"{model_dir}: Whisper weight {exc} is missing") from None


@dataclass(frozen=True)
class _Layout:
    """Where one checkpoint format keeps each CTranslate2 weight (the two differ only in names)."""

    encoder: str  # e.g. "encoder" / "model.encoder"
    decoder: str
    blocks: str  # layer list under encoder/decoder: "blocks" / "layers"
    enc_positions: str
    enc_norm: str
    dec_tokens: str
    dec_positions: str
    dec_norm: str
    self_norm: str
    self_attn: str
    cross_norm: str
    cross_attn: str
    ffn_norm: str
    fc1: str
    fc2: str
    proj: dict[str, str]  # q, k, v, o -> projection name inside an attention module


_OPENAI = _Layout(
    encoder="encoder", decoder="decoder", blocks="blocks", enc_positions="positional_embedding", enc_norm="ln_post",
    dec_tokens="token_embedding.weight", dec_positions="positional_embedding", dec_norm="ln",
    self_norm="attn_ln", self_attn="attn", cross_norm="cross_attn_ln", cross_attn="cross_attn", ffn_norm="mlp_ln",
    fc1="mlp.0", fc2="mlp.2", proj={"q": "query", "k": "key", "v": "value", "o": "out"})
_HF = _Layout(
    encoder="model.encoder", decoder="model.decoder", blocks="layers", enc_positions="embed_positions.weight",
    enc_norm="layer_norm", dec_tokens="embed_tokens.weight", dec_positions="embed_positions.weight",
    dec_norm="layer_norm", self_norm="self_attn_layer_norm", self_attn="self_attn",
    cross_norm="encoder_attn_layer_norm", cross_attn="encoder_attn", ffn_norm="final_layer_norm", fc1="fc1",
    fc2="fc2", proj={"q": "q_proj", "k": "k_proj", "v": "v_proj", "o": "out_proj"})


def _state(m: Ct2Whisper, lay: _Layout) -> dict[str, np.ndarray]:
    """The checkpoint's state dict (``lay``'s names) from CTranslate2's weights."""
    w, d, sd = m.weights, m.d_model, {}
    proj = lay.proj

    def norm(dst: str, src: str) -> None:
        sd[f"{dst}.weight"], sd[f"{dst}.bias"] = w[f"{src}/gamma"], w[f"{src}/beta"]

    def linear(dst: str, src: str) -> None:
        sd[f"{dst}.weight"], sd[f"{dst}.bias"] = w[f"{src}/weight"], w[f"{src}/bias"]

    def attention(dst: str, src: str) -> None:
        """Self-attention: CTranslate2 fuses q, k and v in one matrix."""
        weight, bias = w[f"{src}/linear_0/weight"], w[f"{src}/linear_0/bias"]
        for i, part in enumerate("qkv"):
            sd[f"{dst}.{proj[part]}.weight"] = weight[i * d:(i + 1) * d]
            if part != "k":  # Whisper's key projections have no bias
                sd[f"{dst}.{proj[part]}.bias"] = bias[i * d:(i + 1) * d]
        linear(f"{dst}.{proj['o']}", f"{src}/linear_1")

    def cross_attention(dst: str, src: str) -> None:
        """Cross-attention: q alone, k and v fused, then the output projection."""
        linear(f"{dst}.{proj['q']}", f"{src}/linear_0")
        kv_w, kv_b = w[f"{src}/linear_1/weight"], w[f"{src}/linear_1/bias"]
        sd[f"{dst}.{proj['k']}.weight"], sd[f"{dst}.{proj['v']}.weight"] = kv_w[:d], kv_w[d:]
        sd[f"{dst}.{proj['v']}.bias"] = kv_b[d:]
        linear(f"{dst}.{proj['o']}", f"{src}/linear_2")

    def block(dst: str, src: str, cross: bool) -> None:
        norm(f"{dst}.{lay.self_norm}", f"{src}/self_attention/layer_norm")
        attention(f"{dst}.{lay.self_attn}", f"{src}/self_attention")
        if cross:
            norm(f"{dst}.{lay.cross_norm}", f"{src}/attention/layer_norm")
            cross_attention(f"{dst}.{lay.cross_attn}", f"{src}/attention")
        norm(f"{dst}.{lay.ffn_norm}", f"{src}/ffn/layer_norm")
        linear(f"{dst}.{lay.fc1}", f"{src}/ffn/linear_0")
        linear(f"{dst}.{lay.fc2}", f"{src}/ffn/linear_1")

    linear(f"{lay.encoder}.conv1", "encoder/conv1")
    linear(f"{lay.encoder}.conv2", "encoder/conv2")
    sd[f"{lay.encoder}.{lay.enc_positions}"] = w["encoder/position_encodings/encodings"]
    norm(f"{lay.encoder}.{lay.enc_norm}", "encoder/layer_norm")
    for i in range(m.n_layers_encoder):
        block(f"{lay.encoder}.{lay.blocks}.{i}", f"encoder/layer_{i}", cross=False)
    sd[f"{lay.decoder}.{lay.dec_tokens}"] = w["decoder/embeddings/weight"]
    sd[f"{lay.decoder}.{lay.dec_positions}"] = w["decoder/position_encodings/encodings"]
    norm(f"{lay.decoder}.{lay.dec_norm}", "decoder/layer_norm")
    for i in range(m.n_layers_decoder):
        block(f"{lay.decoder}.{lay.blocks}.{i}", f"decoder/layer_{i}", cross=True)
    return sd


def to_openai_whisper(ct2_dir: Path, out_pt: Path) -> Path:
    """Write an openai-whisper checkpoint (fp16 weights, like OpenAI's own) from a CT2 Whisper directory.

    The file is written to a temporary name and renamed, so a crash never leaves a half checkpoint.

    Returns:
        ``out_pt``, loadable with ``whisper.load_model(out_pt)``.

    Raises:
        ModelUnavailable: ``model.bin`` is missing.
        ConversionError: the file is not a CTranslate2 Whisper model.
    """
    import torch

    m = load_ct2_whisper(ct2_dir)
    if m.ffn_dim != 4 * m.d_model:  # openai-whisper's MLP width is fixed at 4 x d_model
        raise ConversionError(f"{ct2_dir}: MLP width {m.ffn_dim} is not 4 x {m.d_model}; "
                              "openai-whisper cannot hold this model (convert it for transformers instead)")
    dims = dict(n_mels=m.n_mels, n_audio_ctx=m.n_audio_ctx, n_audio_state=m.d_model,
                n_audio_head=m.n_heads_encoder, n_audio_layer=m.n_layers_encoder, n_vocab=m.n_vocab,
                n_text_ctx=m.n_text_ctx, n_text_state=m.d_model, n_text_head=m.n_heads_decoder,
                n_text_layer=m.n_layers_decoder)
    state = {k: torch.from_numpy(np.ascontiguousarray(v)).half() for k, v in _state(m, _OPENAI).items()}
    out_pt = Path(out_pt)
    out_pt.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out_pt.parent, prefix=f".{out_pt.name}-")
    os.close(fd)
    try:
        torch.save({"dims": dims, "model_state_dict": state}, tmp)
        os.replace(tmp, out_pt)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return out_pt


def _tokenizer(ct2_dir: Path, n_vocab: int) -> Any:
    from tokenizers import Tokenizer
    from transformers import WhisperTokenizerFast  # type: ignore[attr-defined]  # lazy module, names made at run time

    source = Path(ct2_dir) / "tokenizer.json"
    if not source.is_file():
        raise ModelUnavailable(f"{source} does not exist: the transformers directory needs Whisper's tokenizer")
    # tokenizer_object=: WhisperTokenizerFast(vocab_file=..., merges_file=...) builds an empty vocabulary in 5.x.
    tok = WhisperTokenizerFast(tokenizer_object=Tokenizer.from_file(str(source)), unk_token="<|endoftext|>",
                               bos_token="<|endoftext|>", eos_token="<|endoftext|>", pad_token="<|endoftext|>")
    missing = n_vocab - len(tok)
    if missing < 0:
        raise ConversionError(f"{source} has {len(tok)} tokens but the model only {n_vocab}")
    # CTranslate2 appends timestamp tokens <|0.00|> ... <|30.00|> to the tokenizer's vocabulary; so do we.
    tok.add_tokens([f"<|{i * 0.02:.2f}|>" for i in range(missing)])
    return tok


def to_transformers(ct2_dir: Path, out_dir: Path) -> Path:
    """Write a transformers Whisper directory (fp16 safetensors) from a CT2 Whisper directory.

    The generation config (language and task tokens, suppressed tokens, alignment heads) comes from the
    CT2 directory's ``config.json``; the tokenizer from its ``tokenizer.json``. The directory is built
    beside ``out_dir`` and renamed into place when complete.

    Returns:
        ``out_dir``, loadable with ``WhisperForConditionalGeneration.from_pretrained(out_dir)`` and
        ``pipeline("automatic-speech-recognition", model=out_dir)``.

    Raises:
        ModelUnavailable: ``model.bin`` or ``tokenizer.json`` is missing.
        ConversionError: the files are not a CTranslate2 Whisper model.
    """
    import torch
    from transformers import (
        GenerationConfig,
        WhisperConfig,
        WhisperFeatureExtractor,
        WhisperForConditionalGeneration,
        WhisperProcessor,
    )

    ct2_dir, out_dir = Path(ct2_dir), Path(out_dir)
    if out_dir.exists():
        raise ConversionError(f"{out_dir} already exists; remove it or choose another directory")
    m = load_ct2_whisper(ct2_dir)
    config_path = ct2_dir / "config.json"
    extra = json.loads(config_path.read_text(encoding="utf-8")) if config_path.is_file() else {}
    tok = _tokenizer(ct2_dir, m.n_vocab)

    def token_id(token: str) -> int:
        value = tok.convert_tokens_to_ids(token)
        if value is None or value == tok.unk_token_id and token != tok.unk_token:
            raise ConversionError(f"{ct2_dir}/tokenizer.json has no {token} token: not a Whisper tokenizer")
        return int(value)

    sot, eot = token_id("<|startoftranscript|>"), token_id("<|endoftext|>")
    lang_ids = [int(i) for i in extra.get("lang_ids", [])]
    config = WhisperConfig(
        vocab_size=m.n_vocab, num_mel_bins=m.n_mels, d_model=m.d_model, encoder_layers=m.n_layers_encoder,
        decoder_layers=m.n_layers_decoder, encoder_attention_heads=m.n_heads_encoder,
        decoder_attention_heads=m.n_heads_decoder, encoder_ffn_dim=m.ffn_dim, decoder_ffn_dim=m.ffn_dim,
        max_source_positions=m.n_audio_ctx, max_target_positions=m.n_text_ctx, decoder_start_token_id=sot,
        pad_token_id=eot, bos_token_id=eot, eos_token_id=eot,
    )
    generation = GenerationConfig(
        decoder_start_token_id=sot, eos_token_id=eot, pad_token_id=eot, bos_token_id=eot,
        max_length=m.n_text_ctx, is_multilingual=len(lang_ids) > 1,
        lang_to_id={tok.convert_ids_to_tokens(i): i for i in lang_ids},
        task_to_id={"transcribe": token_id("<|transcribe|>"), "translate": token_id("<|translate|>")},
        no_timestamps_token_id=token_id("<|notimestamps|>"), prev_sot_token_id=token_id("<|startofprev|>"),
        suppress_tokens=list(extra.get("suppress_ids", [])),
        begin_suppress_tokens=list(extra.get("suppress_ids_begin", [])),
        alignment_heads=list(extra.get("alignment_heads", [])), max_initial_timestamp_index=50,
    )
    with torch.device("meta"):  # no random initialisation of weights that are overwritten next
        model = WhisperForConditionalGeneration(config)
    state = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in _state(m, _HF).items()}
    missing, unexpected = model.load_state_dict(state, strict=False, assign=True)
    if unexpected or set(missing) - {"proj_out.weight"}:
        raise ConversionError(f"{ct2_dir}: weights do not fit Whisper (missing {missing}, unexpected {unexpected})")
    model.tie_weights()  # proj_out shares the decoder's token embedding
    model.generation_config = generation
    model = model.half().eval()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}-"))
    try:
        model.save_pretrained(tmp)
        WhisperProcessor(feature_extractor=WhisperFeatureExtractor(feature_size=m.n_mels),
                         tokenizer=tok).save_pretrained(tmp)
        os.replace(tmp, out_dir)  # fails if another process created out_dir meanwhile
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return out_dir
