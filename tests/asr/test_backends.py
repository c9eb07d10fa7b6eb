"""The openai-whisper, transformers Whisper, faster-whisper (tiny CT2) and viet-asr backends, by path.

Tiny random models (tests/asr/tiny_whisper.py) go through the real loading and decoding code; their
words are noise, so these tests check the typed result, timing, dispatch and every bad input. Accuracy is
checked only on real weights and natural speech (test_asr.py, and viet-asr below), never on espeak audio.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from engines import asr
from engines.errors import MediaError
from engines.registry import WHISPER_LANGUAGES, ModelChecksumMismatch, ModelEntry, ModelUnavailable, Task
from tests.asr.conftest import Speech, cer, need, write_wav

pytestmark = pytest.mark.integration

TINY = {"openai-whisper": "tiny_openai", "transformers-whisper": "tiny_transformers", "faster-whisper": "tiny_ct2"}


def entry(backend: str, path: Path | None, **fields: object) -> ModelEntry:
    return ModelEntry(name=f"tiny-{backend}", task=Task.ASR, languages=("*",), backend=backend, path=path,
                      **fields)  # type: ignore[arg-type]


@pytest.fixture(params=sorted(TINY))
def tiny(request: pytest.FixtureRequest) -> ModelEntry:
    """Each Whisper backend with its tiny random model."""
    return entry(request.param, request.getfixturevalue(TINY[request.param]))


def assert_well_formed(result: asr.Transcript, seconds: float) -> None:
    assert result.duration_s == pytest.approx(seconds, abs=0.05)
    assert 0 < result.speech_s <= result.duration_s + 0.01
    assert result.segments, "a transcript has at least one segment"
    assert all(0 <= s.start <= s.end <= result.duration_s + 0.01 for s in result.segments)
    assert [s.start for s in result.segments] == sorted(s.start for s in result.segments)
    assert result.text == " ".join(s.text for s in result.segments)
    assert result.to_dict()["segments"][0].keys() == {"start", "end", "text"}


def test_each_backend_gives_the_same_typed_result(tiny: ModelEntry, short_clip: Path) -> None:
    result = asr.transcribe(short_clip, language="vi", model=tiny)

    assert (result.engine, result.model, result.language) == (tiny.backend, tiny.name, "vi")
    assert result.language_probability == 1.0  # given, not detected
    assert result.engine_version and result.model_sha256 == ""  # no sha256 recorded: unchecked
    assert_well_formed(result, 2.65)


@pytest.mark.parametrize("backend", ["openai-whisper", "transformers-whisper"])
def test_language_is_detected_when_not_given(backend: str, request: pytest.FixtureRequest,
                                             short_clip: Path) -> None:
    model = entry(backend, request.getfixturevalue(TINY[backend]))
    result = asr.transcribe(short_clip, model=model)
    assert result.language in WHISPER_LANGUAGES
    assert 0 < result.language_probability <= 1


def test_windows_shift_segment_times(tiny_openai: Path, speech: Speech) -> None:
    result = asr.transcribe(speech.path, language="vi", model=entry("openai-whisper", tiny_openai), window_s=10)
    assert_well_formed(result, speech.seconds)
    assert result.segments[-1].end > 20  # chunks of later windows carry their offsets


def test_faster_whisper_levers_reach_the_engine(tiny_ct2: Path, speech: Speech) -> None:
    options = asr.FasterWhisperOptions(beam_size=1, without_timestamps=True, chunk_length=10, batch_size=4)
    result = asr.transcribe(speech.path, language="vi", model=entry("faster-whisper", tiny_ct2), options=options)
    assert_well_formed(result, speech.seconds)
    # Without timestamps the batched pipeline gives one segment per VAD chunk, and chunks are <= 10 s.
    assert len(result.segments) >= 3 and all(s.end - s.start <= 10.5 for s in result.segments)


def test_recorded_checksum_is_verified_and_reported(tiny_openai: Path, short_clip: Path) -> None:
    from engines.whisper_base import sha256_file

    model = entry("openai-whisper", tiny_openai, sha256=sha256_file(tiny_openai))
    assert asr.transcribe(short_clip, language="vi", model=model).model_sha256 == model.sha256


@pytest.mark.parametrize("backend", sorted(TINY) + ["viet-asr"])
def test_silence_only_says_no_speech(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    if backend == "viet-asr":
        need("vietasr", "pip install viet-asr==0.1.0.dev11")
        model = entry(backend, None)
    else:
        model = entry(backend, request.getfixturevalue(TINY[backend]))
    silent = write_wav(tmp_path / "silent.wav", np.zeros(16000 * 8), 16000)
    with pytest.raises(MediaError, match="no speech found in 8.0 s"):
        asr.transcribe(silent, language="vi", model=model)


@pytest.mark.parametrize("backend", ["openai-whisper", "transformers-whisper"])
def test_language_the_model_has_no_token_for(backend: str, request: pytest.FixtureRequest, short_clip: Path) -> None:
    model = entry(backend, request.getfixturevalue(TINY[backend]))
    with pytest.raises(ModelUnavailable, match="has no language token for 'jra'"):
        asr.transcribe(short_clip, language="jra", model=model)  # Jrai: a project language, not Whisper's


@pytest.mark.parametrize("backend", sorted(TINY) + ["viet-asr"])
def test_missing_model_path(backend: str, short_clip: Path, tmp_path: Path) -> None:
    model = entry(backend, tmp_path / "no-such-model", sha256="0" * 64)
    with pytest.raises(ModelUnavailable, match="no-such-model does not exist"):
        asr.transcribe(short_clip, language="vi", model=model)


def test_checksum_mismatch_refuses_to_load(tiny: ModelEntry, short_clip: Path) -> None:
    tampered = dataclasses.replace(tiny, sha256="f" * 64)
    with pytest.raises(ModelChecksumMismatch, match="refusing to load"):
        asr.transcribe(short_clip, language="vi", model=tampered)


def test_unreadable_openai_checkpoint(short_clip: Path, tmp_path: Path) -> None:
    need("whisper", "pip install --no-deps openai-whisper==20250625")
    bad = tmp_path / "broken.pt"
    bad.write_bytes(b"not a torch checkpoint")
    with pytest.raises(ModelUnavailable, match="cannot load openai-whisper checkpoint"):
        asr.transcribe(short_clip, language="vi", model=entry("openai-whisper", bad))
    with pytest.raises(ModelUnavailable, match="needs a .pt checkpoint file"):
        asr.transcribe(short_clip, language="vi", model=entry("openai-whisper", tmp_path))


def test_unreadable_transformers_directory(short_clip: Path, tmp_path: Path) -> None:
    need("transformers", "pip install -e '.[ml]'")
    (tmp_path / "config.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ModelUnavailable, match="cannot load transformers Whisper model"):
        asr.transcribe(short_clip, language="vi", model=entry("transformers-whisper", tmp_path))


def test_corrupt_audio_is_refused_before_a_model_loads(tmp_path: Path, ffmpeg_ok: None) -> None:
    corrupt = tmp_path / "corrupt.mp3"
    corrupt.write_bytes(b"ID3\x03\x00" + bytes(range(256)) * 40)
    with pytest.raises(MediaError, match="not a readable media file|no audio"):
        asr.transcribe(corrupt, model=entry("openai-whisper", tmp_path / "never-loaded.pt"))


def test_speech_chunks_respect_the_limit_and_keep_times(speech: Speech) -> None:
    chunks = list(asr.speech_chunks(speech.path, max_chunk_s=8.0))
    assert len(chunks) >= 4
    assert all(c.end - c.start <= 8.0 + 0.01 and len(c.audio) == pytest.approx((c.end - c.start) * 16000, abs=2)
               for c in chunks)
    assert [c.start for c in chunks] == sorted(c.start for c in chunks)
    assert 0.6 * speech.seconds < sum(c.speech_s for c in chunks) <= speech.seconds


# viet-asr: the real embedded model (no tiny stand-in exists), on natural speech.

@pytest.fixture(scope="module")
def vietasr_entry() -> ModelEntry:
    need("vietasr", "pip install viet-asr==0.1.0.dev11")
    return entry("viet-asr", None)


@pytest.fixture(scope="module")
def three_voices(vieneu_clips: list[tuple[Path, str]], tmp_path_factory: pytest.TempPathFactory) -> Speech:
    """Three clips (two northern voices, one southern) with pauses: 10 s, to keep the real model quick."""
    import wave

    parts: list[np.ndarray] = []
    chosen = [vieneu_clips[i] for i in (0, 1, 4)]
    for wav, _ in chosen:
        with wave.open(str(wav)) as w:
            rate = w.getframerate()
            parts += [np.frombuffer(w.readframes(w.getnframes()), "<i2"), np.zeros(int(0.7 * rate), "<i2")]
    audio = np.concatenate(parts)
    path = write_wav(tmp_path_factory.mktemp("three") / "three.wav", audio, rate)
    return Speech(path, " ".join(text for _, text in chosen), len(audio) / rate)


@pytest.mark.slow
def test_vietasr_transcribes_natural_vietnamese_accurately(vietasr_entry: ModelEntry, three_voices: Speech) -> None:
    result = asr.transcribe(three_voices.path, model=vietasr_entry)

    assert (result.engine, result.language, result.engine_version) == ("viet-asr", "vi", "0.1.0.dev11")
    error = cer(three_voices.reference, result.text)
    assert error < 0.12, f"CER {error:.3f}: {result.text}"  # whisper-base reaches ~0.15 on these voices
    assert_well_formed(result, three_voices.seconds)
    assert all(s.end - s.start <= 20 for s in result.segments)  # fed windows of <= 20 s


def test_vietasr_refuses_other_languages(vietasr_entry: ModelEntry, short_clip: Path) -> None:
    with pytest.raises(ModelUnavailable, match="speaks only Vietnamese, not 'km'"):
        asr.transcribe(short_clip, language="km", model=vietasr_entry)


def test_vietasr_path_pins_its_library(vietasr_entry: ModelEntry, short_clip: Path, tmp_path: Path) -> None:
    from engines import asr_vietasr

    with pytest.raises(ModelUnavailable, match="runs its embedded model only"):
        asr.transcribe(short_clip, language="vi", model=dataclasses.replace(vietasr_entry, path=tmp_path))
    other = tmp_path / "libvietasr.so"
    other.write_bytes(b"\x7fELF not the installed one")
    with pytest.raises(ModelUnavailable, match="is not the installed viet-asr library"):
        asr.transcribe(short_clip, language="vi", model=dataclasses.replace(vietasr_entry, path=other))
    pinned = dataclasses.replace(vietasr_entry, path=asr_vietasr.native_library(), sha256="e" * 64)
    with pytest.raises(ModelChecksumMismatch):
        asr.transcribe(short_clip, language="vi", model=pinned)


def test_speech_chunks_stream_window_by_window(speech: Speech, monkeypatch: pytest.MonkeyPatch) -> None:
    """The non-faster-whisper backends read long recordings lazily: one window decoded at a time."""
    real_windows = asr.windows
    requested: list[float] = []

    def counting(path: Path, *, window_s: float):  # type: ignore[no-untyped-def]
        for offset, audio in real_windows(path, window_s=window_s):
            requested.append(offset)
            yield offset, audio

    monkeypatch.setattr(asr, "windows", counting)
    chunks = asr.speech_chunks(speech.path, window_s=8.0)
    first = next(chunks)
    assert len(requested) == 1 and first.end <= 8.0 + 0.01
    rest = list(chunks)
    assert len(requested) >= 3 and rest[-1].end > 20
