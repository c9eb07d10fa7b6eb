"""The live sessions' loudness chain (no look-ahead): a phone's voice, quiet or loud, comes out near the
-16 LUFS target under the -1.5 dBTP ceiling, measured with pyloudnorm (independent of ffmpeg's meters)."""

import subprocess
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from engines.icecast import Encoding, live_loudness_chain
from tests.engines.conftest import integrated_lufs, true_peak_dbtp

SPEECH = ("Kính thưa bà con nhân dân. Ủy ban nhân dân xã thông báo lịch tiêm chủng cho trẻ em vào sáng thứ bảy "
          "tuần này tại trạm y tế xã. Đề nghị các gia đình đưa trẻ đến đúng giờ và mang theo sổ tiêm chủng.")


@pytest.fixture(scope="module")
def voice(espeak_bin: str, ffmpeg_bin: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("live-voice")
    raw = out / "voice.wav"
    subprocess.run([espeak_bin, "-v", "vi", "-w", str(raw), SPEECH], check=True, capture_output=True, timeout=60)
    return raw


@pytest.mark.parametrize("mic_gain_db", [-20.0, -5.0, 0.0])  # a phone held far away, at arm's length, close
def test_a_live_voice_reaches_the_target_without_look_ahead(voice: Path, tmp_path: Path, mic_gain_db: float,
                                                            decoded: Callable[[Path], tuple[np.ndarray, int]]) -> None:
    heard = tmp_path / "mic.wav"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(voice), "-af", f"volume={mic_gain_db}dB", "-ar",
                    "48000", str(heard)], check=True, timeout=60)
    before = integrated_lufs(*decoded(heard))
    aired = tmp_path / "aired.wav"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(heard), "-af", live_loudness_chain(Encoding()),
                    "-c:a", "pcm_s16le", str(aired)], check=True, timeout=60)
    samples, rate = decoded(aired)
    assert abs(before - (-16.0)) > 3.0 or mic_gain_db == 0.0  # the quiet inputs really are off target
    assert -19.0 <= integrated_lufs(samples, rate) <= -13.0
    assert true_peak_dbtp(samples) <= -1.0  # the -1.5 dBTP ceiling, with the meter's oversampling margin
