"""Fixtures for the engine tests: real ffmpeg, espeak-ng and fonts, audio made with lavfi.

Audio fixtures are stereo 48 kHz WAVs of a tone plus pink noise whose level swells slowly, so the
normaliser has to resample, downmix and move the level by tens of dB. Independent checks decode with
ffmpeg through plain subprocess, read with stdlib ``wave`` and measure with pyloudnorm, so they share
no code with engines/.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import wave
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

IN_CI = os.environ.get("CI", "").lower() == "true"


def _require(binary: str, package: str) -> None:
    if shutil.which(binary) is None:
        reason = f"{binary} is not installed (apt-get install {package})"
        if IN_CI:
            pytest.fail(f"{reason}; CI=true: engine tests must run")
        pytest.skip(reason)


@pytest.fixture(scope="session")
def ffmpeg_bin() -> str:
    _require("ffmpeg", "ffmpeg")
    _require("ffprobe", "ffmpeg")
    return "ffmpeg"


@pytest.fixture(scope="session")
def espeak_bin() -> str:
    _require("espeak-ng", "espeak-ng")
    return "espeak-ng"


def lavfi_wav(path: Path, *, seconds: float, tone_amp: float, noise_amp: float, seed: int = 7) -> Path:
    """Write a stereo 48 kHz s16 WAV: 440 Hz sine plus pink noise, level swelling over 8 s."""
    graph = (
        f"[0]volume={tone_amp}[t];[1]volume={noise_amp}[n];[t][n]amix=inputs=2:normalize=0,"
        "volume='0.6+0.4*sin(2*PI*t/8)':eval=frame"
    )
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
         "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}",
         "-f", "lavfi", "-i", f"anoisesrc=color=pink:sample_rate=48000:duration={seconds}:seed={seed}",
         "-filter_complex", graph, "-ac", "2", "-ar", "48000", "-c:a", "pcm_s16le", str(path)],
        check=True, capture_output=True, timeout=60,
    )
    return path


@pytest.fixture(scope="session")
def audio_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("audio")


@pytest.fixture(scope="session")
def quiet_wav(ffmpeg_bin: str, audio_dir: Path) -> Path:
    """12 s at about -33 LUFS: needs ~+17 dB to reach -16."""
    return lavfi_wav(audio_dir / "quiet.wav", seconds=12, tone_amp=0.1, noise_amp=0.15)


@pytest.fixture(scope="session")
def hot_wav(ffmpeg_bin: str, audio_dir: Path) -> Path:
    """8 s at about -15 LUFS with peaks near -2.6 dBTP: a -23 target needs cutting, not boosting."""
    return lavfi_wav(audio_dir / "hot.wav", seconds=8, tone_amp=1.0, noise_amp=1.3, seed=11)


@pytest.fixture(scope="session")
def silent_wav(ffmpeg_bin: str, audio_dir: Path) -> Path:
    path = audio_dir / "silent.wav"
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi",
         "-i", "anullsrc=r=44100:cl=mono", "-t", "8", "-c:a", "pcm_s16le", str(path)],
        check=True, capture_output=True, timeout=60,
    )
    return path


@pytest.fixture
def empty_mp3(tmp_path: Path) -> Path:
    path = tmp_path / "empty.mp3"
    path.write_bytes(b"")
    return path


@pytest.fixture
def corrupt_mp3(tmp_path: Path) -> Path:
    path = tmp_path / "corrupt.mp3"
    path.write_bytes(random.Random(20251018).randbytes(32_000))
    return path


def decode(path: Path, out_dir: Path) -> tuple[np.ndarray, int]:
    """Decode any audio to float samples (frames x channels) with ffmpeg + stdlib wave."""
    wav = out_dir / f"{path.stem}.decoded.wav"
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-i", str(path),
         "-c:a", "pcm_s16le", str(wav)],
        check=True, capture_output=True, timeout=60,
    )
    with wave.open(str(wav), "rb") as w:
        rate, channels, frames = w.getframerate(), w.getnchannels(), w.getnframes()
        data = np.frombuffer(w.readframes(frames), dtype="<i2").astype(np.float64) / 32768.0
    return data.reshape(-1, channels), rate


@pytest.fixture
def decoded(tmp_path: Path) -> Callable[[Path], tuple[np.ndarray, int]]:
    return lambda path: decode(path, tmp_path)


def integrated_lufs(samples: np.ndarray, rate: int) -> float:
    """BS.1770-4 integrated loudness by pyloudnorm (independent of ffmpeg's meters)."""
    import pyloudnorm

    return float(pyloudnorm.Meter(rate).integrated_loudness(samples))


def true_peak_dbtp(samples: np.ndarray) -> float:
    """True peak by 4x oversampling (BS.1770 annex 2), in dBTP."""
    from scipy.signal import resample_poly

    upsampled = resample_poly(samples, 4, 1, axis=0)
    return float(20 * np.log10(np.max(np.abs(upsampled))))
