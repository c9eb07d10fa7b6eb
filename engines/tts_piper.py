"""Piper voices (piper-tts 1.8, GPL-3.0-or-later) loaded from an operator-supplied path.

A registry entry (task ``tts``, backend ``piper``) points at a voice's ``.onnx`` file, or at a directory
holding exactly one ``.onnx`` with its ``.onnx.json`` (e.g. ``vi_VN-vais1000-medium``, 63 MB from the
piper-voices collection). Piper phonemises with the espeak-ng data bundled in its wheel, so Vietnamese
text needs no system espeak. Measured on 2 cores: RTF about 0.08 for a medium voice
(shared/research/models.md §2). Output is marked synthetic, like every TTS voice.
"""

from __future__ import annotations

import functools
import json
import wave
from pathlib import Path
from typing import Any

from engines.errors import EngineError, VoiceUnavailable
from engines.registry import ModelEntry, ModelUnavailable
from engines.registry import require as require_model
from engines.tts import SpeechResult, check_text, primary_subtag

ENGINE = "piper"


def voice_files(path: Path) -> tuple[Path, Path]:
    """The ``(model.onnx, model.onnx.json)`` pair for a voice file or a directory holding one voice.

    Raises:
        ModelUnavailable: no voice, several voices, or the ``.onnx.json`` config is missing.
    """
    path = Path(path)
    if path.is_dir():
        found = sorted(path.glob("*.onnx"))
        if len(found) != 1:
            raise ModelUnavailable(f"{path} holds {len(found)} .onnx voices; point the registry at one of them")
        path = found[0]
    config = path.with_name(path.name + ".json")
    if not config.is_file():
        raise ModelUnavailable(f"Piper voice {path.name} has no config {config.name} beside it")
    return path, config


@functools.lru_cache(maxsize=4)
def load(onnx: str, config: str) -> Any:
    """Load (once per process) a Piper voice on the CPU.

    Raises:
        ModelUnavailable: the ONNX file or its JSON config cannot be read.
    """
    from piper import PiperVoice  # imported here: onnxruntime is only needed when Piper speaks

    try:
        return PiperVoice.load(onnx, config_path=config)
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise ModelUnavailable(f"Piper voice config {config} is not valid: {exc}") from None
    except Exception as exc:  # onnxruntime raises its own exception classes (InvalidProtobuf, Fail, ...)
        raise ModelUnavailable(f"cannot load Piper voice {onnx}: {(str(exc).splitlines() or [''])[0]}") from None


class PiperTTS:
    """Speech from a Piper voice registered in the model registry.

    Args:
        entry: A ``tts`` entry with backend ``piper``; its languages say what the voice speaks.
        length_scale: Speaking-rate factor (>1 slower); None keeps the voice's own setting.
    """

    name = ENGINE

    def __init__(self, entry: ModelEntry, *, length_scale: float | None = None) -> None:
        self.entry = entry
        self.length_scale = length_scale

    def version(self) -> str:
        from importlib.metadata import version

        return version("piper-tts")

    def synthesize(self, text: str, language: str, out_wav: Path) -> SpeechResult:
        """Speak ``text`` into a 16-bit mono WAV at the voice's sample rate.

        Raises:
            VoiceUnavailable: the voice does not speak ``language``.
            ModelUnavailable: the voice files are missing or unreadable.
            ModelChecksumMismatch: the voice differs from the registry's SHA-256.
            EngineError: the text is empty or synthesis produced no audio.
        """
        if not self.entry.covers(primary_subtag(language)):
            raise VoiceUnavailable(f"no voice for language {language} in Piper voice '{self.entry.name}' "
                                   f"(it speaks: {', '.join(self.entry.languages)})")
        check_text(text)
        onnx, config = voice_files(require_model(self.entry))
        voice = load(str(onnx), str(config))
        out_wav = Path(out_wav)
        out_wav.parent.mkdir(parents=True, exist_ok=True)
        tmp = out_wav.with_name(f".{out_wav.name}.partial")
        try:
            from piper.config import SynthesisConfig

            syn = SynthesisConfig(length_scale=self.length_scale) if self.length_scale else None
            with wave.open(str(tmp), "wb") as wav:
                voice.synthesize_wav(text, wav, syn_config=syn)
            with wave.open(str(tmp), "rb") as wav:
                frames, rate = wav.getnframes(), wav.getframerate()
            if frames == 0:
                raise EngineError(f"Piper voice '{self.entry.name}' produced no audio for the text")
            tmp.replace(out_wav)
        except wave.Error as exc:
            raise EngineError(f"Piper wrote no readable WAV: {exc}") from None
        finally:
            tmp.unlink(missing_ok=True)
        return SpeechResult(path=out_wav, duration_s=frames / rate, engine=ENGINE, voice=onnx.stem,
                            synthetic=True, sample_rate=rate, model=self.entry.name, licence=self.entry.licence)
