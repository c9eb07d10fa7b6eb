"""Levels of a person's recording, to refuse one that is silent or clipped before it replaces a voice.

The file is decoded by ffmpeg (any container a phone's browser makes: WebM/Opus from Android Chrome, MP4/AAC
from iOS Safari, Ogg, WAV, MP3) to mono 16-bit PCM and scanned block by block.
"""

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engines import ffmpeg

FULL_SCALE = 32767
CLIP_LEVEL = 32440  # -0.09 dBFS: a sample this loud in 16-bit PCM has hit the converter's ceiling


@dataclass(frozen=True, slots=True)
class RecordingLevels:
    duration_s: float
    rms_dbfs: float  # -inf for digital silence
    peak_dbfs: float
    clipped_ratio: float  # share of samples at the ceiling

    def to_meta(self) -> dict[str, float | None]:
        def num(x: float) -> float | None:
            return round(x, 2) if math.isfinite(x) else None
        return {"duration_s": num(self.duration_s), "rms_dbfs": num(self.rms_dbfs),
                "peak_dbfs": num(self.peak_dbfs), "clipped_ratio": round(self.clipped_ratio, 5)}


def _db(x: float) -> float:
    return 20 * math.log10(x / FULL_SCALE) if x > 0 else float("-inf")


def measure(path: Path, *, sample_rate: int = 16000) -> RecordingLevels:
    """Duration, RMS level, peak and clipped share of the first audio stream.

    Raises:
        MediaError: not readable audio (empty, corrupt, no audio stream).
    """
    total = 0
    energy = 0.0
    peak = 0
    clipped = 0
    for block in ffmpeg.pcm_stream(path, sample_rate=sample_rate, block_samples=sample_rate * 10):
        x = np.frombuffer(block, dtype="<i2").astype(np.int32)
        if not x.size:
            continue
        total += x.size
        energy += float(np.square(x, dtype=np.float64).sum())
        a = np.abs(x)
        peak = max(peak, int(a.max()))
        clipped += int(np.count_nonzero(a >= CLIP_LEVEL))
    if total == 0:
        return RecordingLevels(0.0, float("-inf"), float("-inf"), 0.0)
    return RecordingLevels(total / sample_rate, _db(math.sqrt(energy / total)), _db(peak), clipped / total)
