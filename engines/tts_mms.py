"""MMS-TTS voices (VITS, e.g. ``facebook/mms-tts-khm``) through transformers, from an operator's directory.

MMS covers over 1 100 languages, including Khmer and probably several Vietnamese minority languages, so
it is the route to speech where espeak-ng and Piper have nothing. Its weights are CC-BY-NC-4.0: the
registry flags the entry and every result carries the licence. On 2 cores eager PyTorch runs at RTF about
1-2 (benchmarks/tts.py), acceptable for a batch workflow.

Text is spoken sentence by sentence (VITS attention cost grows with input length) with a short pause
between sentences. VITS samples noise; the generator is seeded per sentence so the same text gives the
same audio, keeping reruns idempotent. Voices whose tokenizer expects romanised input (``is_uroman``)
need the ``uroman`` package.
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engines.errors import EngineError, VoiceUnavailable
from engines.registry import ModelEntry, ModelUnavailable
from engines.registry import require as require_model
from engines.tts import SpeechResult, check_text, primary_subtag, write_wav

ENGINE = "mms-tts"
PAUSE_S = 0.35  # between sentences; close to a reader's breath at loudspeaker pace
MAX_SENTENCE_CHARS = 400
SEED = 1234
_SENTENCE_END = re.compile(r"(?<=[.!?…;:។៕])\s+|\n+")  # includes the Khmer khan (។) and bariyoosan (៕)


@dataclass(frozen=True)
class Loaded:
    model: Any
    tokenizer: Any
    sample_rate: int


@functools.lru_cache(maxsize=2)
def load(model_dir: str) -> Loaded:
    """Load (once per process) a VITS model and its tokenizer from a local directory.

    Raises:
        ModelUnavailable: the directory is not a loadable VITS model.
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from transformers import AutoTokenizer, VitsModel

    if not Path(model_dir).is_dir():
        raise ModelUnavailable(f"{model_dir} is not a directory; MMS-TTS needs a transformers model directory")
    try:
        model = VitsModel.from_pretrained(model_dir, local_files_only=True).eval()
        tokenizer = AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelUnavailable(f"cannot load MMS-TTS model from {model_dir}: "
                               f"{(str(exc).splitlines() or [type(exc).__name__])[0]}") from None
    return Loaded(model, tokenizer, int(model.config.sampling_rate))


def sentences(text: str) -> list[str]:
    """Split at sentence ends and line breaks; cut overlong sentences at spaces."""
    out: list[str] = []
    for part in _SENTENCE_END.split(text):
        part = " ".join(part.split())
        while len(part) > MAX_SENTENCE_CHARS:
            cut = part.rfind(" ", 0, MAX_SENTENCE_CHARS)
            cut = cut if cut > 0 else MAX_SENTENCE_CHARS
            out.append(part[:cut])
            part = part[cut:].strip()
        if part:
            out.append(part)
    return out


def _romanize(tokenizer: Any, text: str, language: str) -> str:
    if not getattr(tokenizer, "is_uroman", False):
        return text
    try:
        import uroman
    except ImportError:
        raise VoiceUnavailable(f"the MMS voice for {language} reads romanised text: pip install uroman") from None
    return str(uroman.Uroman().romanize_string(text))


class MmsTTS:
    """Speech from an MMS-TTS (VITS) directory registered in the model registry."""

    name = ENGINE

    def __init__(self, entry: ModelEntry) -> None:
        self.entry = entry

    def version(self) -> str:
        import transformers

        return transformers.__version__

    def synthesize(self, text: str, language: str, out_wav: Path) -> SpeechResult:
        """Speak ``text`` into a 16-bit mono WAV at the model's sample rate (16 kHz for MMS).

        Raises:
            VoiceUnavailable: the voice does not speak ``language``, or needs ``uroman``.
            ModelUnavailable: the model directory is missing or unreadable.
            ModelChecksumMismatch: the files differ from the registry's SHA-256.
            EngineError: the text is empty or has no character the voice knows.
        """
        import numpy as np
        import torch

        if not self.entry.covers(primary_subtag(language)):
            raise VoiceUnavailable(f"no voice for language {language} in MMS voice '{self.entry.name}' "
                                   f"(it speaks: {', '.join(self.entry.languages)})")
        check_text(text)
        loaded = load(str(require_model(self.entry)))
        pause = np.zeros(int(PAUSE_S * loaded.sample_rate), dtype=np.float32)
        pieces: list[np.ndarray] = []
        for sentence in sentences(_romanize(loaded.tokenizer, text, language)):
            inputs = loaded.tokenizer(sentence, return_tensors="pt")
            # With add_blank the ids interleave 0s; a sentence of unknown characters leaves at most one id.
            if int((inputs["input_ids"] != 0).sum()) == 0:
                continue
            torch.manual_seed(SEED)  # VITS samples noise: same text, same audio
            with torch.no_grad():
                waveform = loaded.model(**inputs).waveform[0].float().numpy()
            pieces += [waveform, pause]
        if not pieces:
            raise EngineError(f"MMS voice '{self.entry.name}' knows none of the characters in the text "
                              f"(wrong script for {language}?)")
        duration = write_wav(np.concatenate(pieces[:-1]), loaded.sample_rate, Path(out_wav))
        return SpeechResult(path=Path(out_wav), duration_s=duration, engine=ENGINE, voice=self.entry.name,
                            synthetic=True, sample_rate=loaded.sample_rate, model=self.entry.name,
                            licence=self.entry.licence)
