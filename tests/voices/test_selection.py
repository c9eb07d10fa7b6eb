"""Choosing a voice per language from the model registry (engines/voices.py), and speech from the chosen
voice normalised like every loudspeaker asset."""

from __future__ import annotations

from pathlib import Path

import pytest

from engines import audio, voices
from engines.errors import VoiceUnavailable
from engines.registry import ModelEntry, ModelUnavailable, Registry, Task, load_registry
from engines.tts import EspeakTTS
from engines.tts_mms import MmsTTS
from engines.tts_piper import PiperTTS


def registry(tmp_path: Path, *entries: ModelEntry) -> Registry:
    reg = load_registry(tmp_path / "models.toml", tmp_path / "cache")
    for entry in entries:
        reg = reg.with_entry(entry)
    return reg


def tts(name: str, backend: str, path: Path | None, languages: tuple[str, ...]) -> ModelEntry:
    return ModelEntry(name=name, task=Task.TTS, languages=languages, backend=backend, path=path, licence="MIT")


def test_espeak_stays_the_vietnamese_default(tmp_path: Path) -> None:
    engine = voices.engine_for("vi-VN", registry(tmp_path), espeak_voice="vi-vn-x-south")
    assert isinstance(engine, EspeakTTS) and engine.voice == "vi-vn-x-south"


def test_operator_voices_win_per_language(tmp_path: Path) -> None:
    reg = registry(tmp_path, tts("vais1000", "piper", tmp_path / "vi.onnx", ("vi",)),
                   tts("mms-khm", "mms-tts", tmp_path / "khm", ("km",)))
    assert isinstance(voices.engine_for("vi", reg), PiperTTS)
    assert isinstance(voices.engine_for("km", reg), MmsTTS)
    assert [(code, e.name) for code, e in voices.voices(reg)] == [("km", "mms-khm"), ("vi", "vais1000")]


def test_a_language_without_a_voice_is_refused_when_spoken(tmp_path: Path) -> None:
    engine = voices.engine_for("jra", registry(tmp_path))
    assert isinstance(engine, voices.NoVoice)
    with pytest.raises(VoiceUnavailable, match="no voice for language jra.*bantin models add --task tts"):
        engine.synthesize("Tơlơi", "jra", tmp_path / "x.wav")
    assert not (tmp_path / "x.wav").exists()


def test_a_registered_voice_with_a_missing_path_fails_loudly(tmp_path: Path) -> None:
    reg = registry(tmp_path, tts("gone", "piper", tmp_path / "gone.onnx", ("km",)))
    with pytest.raises(ModelUnavailable, match="gone.*does not exist"):
        voices.engine_for("km", reg).synthesize("សួស្តី", "km", tmp_path / "x.wav")


def test_non_tts_entries_are_not_voices(tmp_path: Path) -> None:
    asr = ModelEntry(name="w", task=Task.ASR, languages=("vi",), backend="faster-whisper", path=tmp_path)
    with pytest.raises(ModelUnavailable, match="not a voice"):
        voices.engine_of(asr)


@pytest.mark.integration
def test_piper_speech_is_normalised_like_any_loudspeaker_audio(fake_piper: Path, tmp_path: Path) -> None:
    reg = registry(tmp_path, tts("fake", "piper", fake_piper, ("vi",)))
    speech = voices.engine_for("vi", reg).synthesize(
        "Kính thưa bà con nhân dân. Ủy ban nhân dân xã thông báo lịch tiêm chủng.", "vi", tmp_path / "raw.wav")
    target = audio.LoudnessTarget()
    report = audio.normalize_to_mp3(speech.path, tmp_path / "out.mp3", target=target)
    assert report.within(0.5), report
    assert report.duration_s == pytest.approx(speech.duration_s, abs=0.1)
