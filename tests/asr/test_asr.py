"""The ASR engine on the real bundled whisper-base: natural Vietnamese speech and every bad input."""

from __future__ import annotations

import dataclasses
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from domain.errors import InvalidInput
from engines import asr
from engines.errors import MediaError
from engines.registry import ModelChecksumMismatch, ModelEntry, ModelUnavailable, Task
from tests.asr.conftest import Speech, cer, write_wav

pytestmark = pytest.mark.integration


@pytest.mark.slow
def test_natural_vietnamese_speech_is_transcribed_with_language_and_timestamps(
    whisper: ModelEntry, speech: Speech
) -> None:
    result = asr.transcribe(speech.path, model=whisper)  # language detected, not given

    assert result.language == "vi" and result.language_probability > 0.8
    error = cer(speech.reference, result.text)
    assert error < 0.20, f"CER {error:.3f}: {result.text}"
    assert (result.engine, result.model) == ("faster-whisper", "whisper-base")
    assert result.model_sha256 == whisper.sha256
    assert result.duration_s == pytest.approx(speech.seconds, abs=0.1)
    starts = [s.start for s in result.segments]
    assert starts == sorted(starts) and len(result.segments) >= 3
    assert all(0 <= s.start < s.end <= speech.seconds + 0.5 for s in result.segments)
    assert result.segments[-1].end > speech.seconds - 3  # the last clip is heard, not dropped
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.text = "x"  # type: ignore[misc]


@pytest.mark.slow
def test_windows_carry_their_offsets_into_segment_times(whisper: ModelEntry, speech: Speech) -> None:
    result = asr.transcribe(speech.path, language="vi", model=whisper, window_s=10)

    assert result.language == "vi" and result.language_probability == 1.0
    assert cer(speech.reference, result.text) < 0.25, result.text
    ends = [s.end for s in result.segments]
    assert ends == sorted(ends)
    assert ends[-1] > 20  # later windows are shifted by their offset, not restarted at 0


def test_windows_hold_bounded_memory_on_a_long_recording(long_recording: Path) -> None:
    tracemalloc.start()
    try:
        total, longest, count = 0, 0, 0
        for offset, audio in asr.windows(long_recording, window_s=120):
            assert offset == pytest.approx(total / asr.SAMPLE_RATE)
            assert audio.dtype == np.float32
            total += len(audio)
            longest = max(longest, len(audio))
            count += 1
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total / asr.SAMPLE_RATE == pytest.approx(2400, abs=0.2)  # every sample, once
    assert count >= 20 and longest <= 120 * asr.SAMPLE_RATE
    whole_file = 2400 * asr.SAMPLE_RATE * 4
    assert peak < whole_file / 5, f"peak {peak / 1e6:.0f} MB"  # ~2 windows (15 MB), not 154 MB


def test_windows_cut_in_pauses(long_recording: Path) -> None:
    # The tone pauses for 1 s every 7 s; the cut must land in a pause, i.e. on a silent sample.
    for _, audio in asr.windows(long_recording, window_s=60):
        if len(audio) >= 50 * asr.SAMPLE_RATE:
            assert np.abs(audio[-400:]).max() < 0.02


def test_zero_byte_file(whisper: ModelEntry, tmp_path: Path) -> None:
    empty = tmp_path / "empty.mp3"
    empty.write_bytes(b"")
    with pytest.raises(MediaError, match="empty"):
        asr.transcribe(empty, model=whisper)


def test_corrupt_audio(whisper: ModelEntry, tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt.mp3"
    corrupt.write_bytes(b"ID3\x03\x00" + bytes(range(256)) * 40)
    with pytest.raises(MediaError, match="not a readable media file|no audio"):
        asr.transcribe(corrupt, model=whisper)


def test_missing_file(whisper: ModelEntry, tmp_path: Path) -> None:
    with pytest.raises(MediaError, match="not found"):
        asr.transcribe(tmp_path / "nowhere.wav", model=whisper)


def test_silence_only_says_no_speech(whisper: ModelEntry, tmp_path: Path) -> None:
    silent = write_wav(tmp_path / "silent.wav", np.zeros(16000 * 8), 16000)
    with pytest.raises(MediaError, match="no speech found in 8.0 s"):
        asr.transcribe(silent, model=whisper)


def test_unknown_language_code(whisper: ModelEntry, speech: Speech) -> None:
    with pytest.raises(InvalidInput, match="unknown language 'xx'"):
        asr.transcribe(speech.path, language="xx", model=whisper)


def test_language_without_an_asr_model(speech: Speech, ffmpeg_ok: None) -> None:
    with pytest.raises(ModelUnavailable, match="no asr model for language 'jra' \\(Jrai\\)"):
        asr.transcribe(speech.path, language="jra")


def test_missing_model_path(speech: Speech, tmp_path: Path) -> None:
    entry = ModelEntry(name="gone", task=Task.ASR, languages=("vi",), backend="faster-whisper",
                       path=tmp_path / "no-such-model", sha256="0" * 64, file="model.bin")
    with pytest.raises(ModelUnavailable, match="gone.*does not exist"):
        asr.transcribe(speech.path, language="vi", model=entry)


def test_checksum_mismatch_refuses_to_load(whisper: ModelEntry, speech: Speech) -> None:
    tampered = dataclasses.replace(whisper, name="tampered", bundled=False, sha256="f" * 64)
    with pytest.raises(ModelChecksumMismatch, match="tampered.*refusing to load"):
        asr.transcribe(speech.path, language="vi", model=tampered)


def test_ct2_directory_registered_for_another_backend(whisper: ModelEntry, speech: Speech) -> None:
    other = dataclasses.replace(whisper, backend="openai-whisper")
    with pytest.raises(ModelUnavailable, match="is a directory; openai-whisper needs a .pt checkpoint file"):
        asr.transcribe(speech.path, language="vi", model=other)


def test_unknown_backend(whisper: ModelEntry, speech: Speech) -> None:
    other = dataclasses.replace(whisper, backend="kaldi")
    with pytest.raises(ModelUnavailable, match="backend 'kaldi'"):
        asr.transcribe(speech.path, language="vi", model=other)


def test_unreadable_weights(speech: Speech, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "model.bin").write_bytes(b"not a ctranslate2 model")
    entry = ModelEntry(name="broken", task=Task.ASR, languages=("vi",), backend="faster-whisper", path=broken)
    with pytest.raises(ModelUnavailable, match="cannot load Whisper model"):
        asr.transcribe(speech.path, language="vi", model=entry)
