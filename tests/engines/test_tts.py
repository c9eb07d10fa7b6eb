"""espeak-ng speech synthesis, run for real."""

from __future__ import annotations

import re
import wave
from pathlib import Path

import pytest

from domain.speech import count_syllables
from engines import tts
from engines.errors import EngineError, VoiceUnavailable
from engines.tts import EspeakTTS

pytestmark = pytest.mark.integration

SHORT = "Xin chào bà con."
LONG = (
    "Ủy ban nhân dân xã Tân Lập thông báo lịch tiêm chủng cho trẻ em dưới năm tuổi vào sáng thứ bảy tuần "
    "này tại trạm y tế xã. Đề nghị các gia đình đưa trẻ đến đúng giờ và mang theo sổ tiêm chủng."
)


def test_vietnamese_sentence_gives_plausible_audio(espeak_bin: str, tmp_path: Path) -> None:
    result = EspeakTTS().synthesize(LONG, "vi", tmp_path / "long.wav")
    syllables = count_syllables(LONG)
    # Announcers read ~3 syllables/s; espeak at 140 wpm is a little faster. Anything between
    # 1.5 and 8 syllables per second is speech; outside it the text was truncated or garbled.
    assert syllables / 8 < result.duration_s < syllables / 1.5
    with wave.open(str(result.path), "rb") as wav:
        assert wav.getnchannels() == 1
        assert wav.getframerate() == result.sample_rate == 22050
        assert wav.getnframes() / wav.getframerate() == pytest.approx(result.duration_s)
    assert (result.engine, result.voice, result.synthetic) == ("espeak-ng", "vi", True)


def test_longer_text_gives_longer_audio(espeak_bin: str, tmp_path: Path) -> None:
    engine = EspeakTTS()
    short = engine.synthesize(SHORT, "vi", tmp_path / "short.wav")
    long = engine.synthesize(LONG, "vi", tmp_path / "long.wav")
    assert long.duration_s > 3 * short.duration_s


def test_slower_rate_gives_longer_audio(espeak_bin: str, tmp_path: Path) -> None:
    slow = EspeakTTS(words_per_minute=100).synthesize(LONG, "vi", tmp_path / "slow.wav")
    fast = EspeakTTS(words_per_minute=200).synthesize(LONG, "vi", tmp_path / "fast.wav")
    assert slow.duration_s > 1.4 * fast.duration_s


@pytest.mark.parametrize("language", ["km", "bdq", "hmn", "tyz", "jra"])
def test_languages_without_a_voice_are_refused(espeak_bin: str, tmp_path: Path, language: str) -> None:
    with pytest.raises(VoiceUnavailable, match=f"no voice for language {language}"):
        EspeakTTS().synthesize("សួស្តី", language, tmp_path / "x.wav")
    assert not (tmp_path / "x.wav").exists()


def test_region_subtag_still_selects_vietnamese(espeak_bin: str, tmp_path: Path) -> None:
    assert EspeakTTS().synthesize(SHORT, "vi-VN", tmp_path / "x.wav").duration_s > 0.3


def test_unknown_configured_voice_is_reported(espeak_bin: str, tmp_path: Path) -> None:
    with pytest.raises(VoiceUnavailable, match="no voice 'zz-nope'"):
        EspeakTTS(voice="zz-nope").synthesize(SHORT, "vi", tmp_path / "x.wav")


def test_text_is_never_read_as_options(espeak_bin: str, tmp_path: Path) -> None:
    target = tmp_path / "hijacked.wav"
    result = EspeakTTS().synthesize(f"--version -w {target} xin chào", "vi", tmp_path / "ok.wav")
    assert result.duration_s > 1.0  # the whole line was spoken
    assert not target.exists()


def test_empty_text_is_refused(espeak_bin: str, tmp_path: Path) -> None:
    with pytest.raises(EngineError, match="empty"):
        EspeakTTS().synthesize("  \n ", "vi", tmp_path / "x.wav")


def test_missing_binary_gives_install_hint(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty folder: nothing on PATH
    with pytest.raises(EngineError, match="apt-get install espeak-ng"):
        EspeakTTS().synthesize(SHORT, "vi", tmp_path / "x.wav")


def test_version_is_a_version_number(espeak_bin: str) -> None:
    assert re.fullmatch(r"\d+\.\d+(\.\d+)?\S*", tts.version())


def test_result_names_model_and_licence_and_engine_reports_version(espeak_bin: str, tmp_path: Path) -> None:
    engine = EspeakTTS()
    result = engine.synthesize(SHORT, "vi", tmp_path / "x.wav")
    assert (result.model, result.licence) == ("espeak-ng", "GPL-3.0")
    assert engine.version() == tts.version()


def test_write_wav_is_16_bit_mono_and_refuses_nothing(tmp_path: Path) -> None:
    import numpy as np

    seconds = tts.write_wav(np.full(8000, 2.0, dtype=np.float32), 16000, tmp_path / "a.wav")  # clipped, not wrapped
    assert seconds == 0.5
    with wave.open(str(tmp_path / "a.wav"), "rb") as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, 16000)
        assert np.frombuffer(wav.readframes(10), "<i2").tolist() == [32767] * 10
    with pytest.raises(EngineError, match="no usable audio"):
        tts.write_wav(np.array([np.nan]), 16000, tmp_path / "b.wav")
    assert not (tmp_path / "b.wav").exists()
