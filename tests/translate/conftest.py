"""Session fixtures for the translation and abstractive-summary tier: tiny random models built once.

The models need the ``ml`` extra (torch, transformers, sentencepiece) and ctranslate2; ``make test``
installs them, so under CI a missing package fails instead of skipping. Every test gets its own registry
file and short decoding limits (a random model never stops on its own before the token cap).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from settings import get_settings
from tests.translate import tiny_models
from tests.translate.tiny_models import require_ml


@pytest.fixture(scope="session")
def tiny_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    require_ml()
    return tmp_path_factory.getbasetemp() / "tiny-models"


@pytest.fixture(scope="session")
def nllb_dir(tiny_root: Path) -> Path:
    return tiny_models.nllb(tiny_root)


@pytest.fixture(scope="session")
def nllb_ct2_dir(tiny_root: Path) -> Path:
    return tiny_models.nllb_ct2(tiny_root)


@pytest.fixture(scope="session")
def marian_dir(tiny_root: Path) -> Path:
    return tiny_models.marian(tiny_root)


@pytest.fixture(scope="session")
def nllb_echo_dir(tiny_root: Path) -> Path:
    """An NLLB that writes Vietnamese pieces only: the model that failed to switch language."""
    return tiny_models.nllb(tiny_root, "nllb-echo", tiny_models.latin)


@pytest.fixture(scope="session")
def instruct_dir(tiny_root: Path) -> Path:
    return tiny_models.instruct(tiny_root)


@pytest.fixture(scope="session")
def instruct_km_dir(tiny_root: Path) -> Path:
    """The instruction model's shape, writing Khmer only (a translator into Khmer)."""
    return tiny_models.instruct(tiny_root, "instruct-km", tiny_models.khmer)


@pytest.fixture(scope="session")
def clean_summarizer(tiny_root: Path) -> Path:
    return tiny_models.t5_summarizer(tiny_root, "t5-clean", tiny_models.VIETNAMESE)


@pytest.fixture(scope="session")
def inventive_summarizer(tiny_root: Path) -> Path:
    return tiny_models.t5_summarizer(tiny_root, "t5-inventive", tiny_models.INVENTED)


@pytest.fixture(autouse=True)
def _short_decoding(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("BANTIN_MODEL_REGISTRY", str(tmp_path / "models.toml"))
    monkeypatch.setenv("BANTIN_MODEL_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("BANTIN_MT_MAX_TOKENS", "16")
    monkeypatch.setenv("BANTIN_MT_BEAM_SIZE", "2")
    monkeypatch.setenv("BANTIN_SUMMARY_MAX_TOKENS", "24")
    monkeypatch.delenv("BANTIN_GLOSSARY_DIR", raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()
