"""The model registry: which model serves which (task, language), where its files are, and their licence.

Operators list models in a TOML file (``settings.model_registry``, default ``var/models.toml``)::

    [[model]]
    name = "phowhisper-small"
    task = "asr"
    languages = ["vi"]
    backend = "faster-whisper"
    path = "/srv/models/phowhisper-small-ct2"
    file = "model.bin"            # optional: the file whose SHA-256 is recorded
    sha256 = "…"
    licence = "BSD-3-Clause"

Entries in the file win over the embedded defaults (the bundled whisper-base, the extractive summariser,
espeak-ng), in file order. Models are only ever loaded from local paths; nothing here downloads.
"""

from __future__ import annotations

import hashlib
import json
import os
import tomllib
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path

from domain.errors import InvalidInput, NotFound
from domain.languages import LANGUAGES
from engines import whisper_base
from engines.whisper_base import ModelChecksumMismatch, ModelUnavailable, sha256_file

__all__ = ["ModelChecksumMismatch", "ModelUnavailable"]

# Whisper's multilingual language codes (whisper-base knows these 99).
WHISPER_LANGUAGES = tuple(
    "af am ar as az ba be bg bn bo br bs ca cs cy da de el en es et eu fa fi fo fr gl gu ha haw he hi hr ht hu hy "
    "id is it ja jw ka kk km kn ko la lb ln lo lt lv mg mi mk ml mn mr ms mt my ne nl nn no oc pa pl ps pt ro ru sa "
    "sd si sk sl sn so sq sr su sv sw ta te tg th tk tl tr tt uk ur uz vi yi yo zh".split()
)
ANY_LANGUAGE = "*"


class Task(StrEnum):
    ASR = "asr"
    SUMMARIZE = "summarize"
    TRANSLATE = "translate"
    TTS = "tts"


# Backends each task knows how to run (an entry naming another one is refused when it is added).
BACKENDS: dict[Task, frozenset[str]] = {
    Task.ASR: frozenset({"faster-whisper", "openai-whisper", "transformers-whisper", "viet-asr"}),
    Task.SUMMARIZE: frozenset({"extractive", "seq2seq", "instruct"}),
    Task.TRANSLATE: frozenset({"nllb-ct2", "nllb-transformers", "marian", "instruct"}),
    Task.TTS: frozenset({"espeak-ng", "piper", "mms-tts"}),
}
_NON_COMMERCIAL = ("cc-by-nc", "cc by-nc", "cc-by-nc-sa", "non-commercial", "noncommercial")


@dataclass(frozen=True, slots=True)
class ModelEntry:
    """One model the engines may use.

    Attributes:
        name: Unique name, e.g. ``whisper-base``.
        task: What it does.
        languages: Codes it covers (project codes or Whisper codes); ``("*",)`` for any.
        backend: Which engine code runs it (see :data:`BACKENDS`).
        path: Local file or directory; None for tools without model files (espeak-ng, extractive).
        sha256: Recorded SHA-256 of ``path / file`` (or of ``path`` if it is a file, or of the directory
            tree when ``file`` is empty); empty means unchecked.
        file: The file inside ``path`` whose hash is recorded.
        licence: SPDX-like licence name, shown to operators.
        bundled: True for the whisper-base assembled from installed packages.
    """

    name: str
    task: Task
    languages: tuple[str, ...]
    backend: str
    path: Path | None = None
    sha256: str = ""
    file: str = ""
    licence: str = ""
    bundled: bool = False

    @property
    def non_commercial(self) -> bool:
        """CC-BY-NC and similar: operators must not use it commercially (NLLB-200, MMS)."""
        return any(tag in self.licence.lower() for tag in _NON_COMMERCIAL)

    def covers(self, language: str | None) -> bool:
        return language is None or ANY_LANGUAGE in self.languages or language in self.languages


@dataclass(frozen=True, slots=True)
class Verification:
    """Outcome of checking a model's files. ``ok`` is False only for a problem an operator must fix."""

    name: str
    status: str  # verified | unchecked | no files | not assembled | missing | mismatch
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.status not in ("missing", "mismatch")


def default_entries(cache_dir: Path) -> tuple[ModelEntry, ...]:
    """The embedded defaults: what works on a fresh machine from pip and apt alone."""
    source = whisper_base.installed_source() or whisper_base.SOURCES[0]
    return (
        ModelEntry(name="whisper-base", task=Task.ASR, languages=WHISPER_LANGUAGES, backend="faster-whisper",
                   path=whisper_base.assembled_dir(cache_dir), sha256=source.sha256, file="model.bin",
                   licence="MIT", bundled=True),
        ModelEntry(name="extractive", task=Task.SUMMARIZE, languages=("vi",), backend="extractive",
                   licence="AGPL-3.0 (underthesea GPL-3.0)"),
        ModelEntry(name="espeak-ng", task=Task.TTS, languages=("vi",), backend="espeak-ng", licence="GPL-3.0"),
    )


def tree_sha256(root: Path) -> str:
    """Digest of a directory: SHA-256 over ``relative path NUL file SHA-256`` lines in sorted order."""
    digest = hashlib.sha256()
    for path in sorted(p for p in Path(root).rglob("*") if p.is_file()):
        digest.update(f"{path.relative_to(root).as_posix()}\0{sha256_file(path)}\n".encode())
    return digest.hexdigest()


# Hashing weights takes ~2 s per GB; remember results per (path, size, mtime) for the process's life.
_HASHES: dict[tuple[str, tuple[tuple[str, int, int], ...]], str] = {}


def _hash_target(entry: ModelEntry) -> Path:
    assert entry.path is not None
    return entry.path / entry.file if entry.file and entry.path.is_dir() else entry.path


def content_sha256(entry: ModelEntry) -> str:
    """SHA-256 of what the entry's checksum covers (cached while the file is unchanged)."""
    target = _hash_target(entry)
    # Key on every file's size and mtime: overwriting a file inside a model directory changes neither the
    # directory's size nor its mtime, and a long-running worker must not keep trusting the old checksum.
    files = sorted(p for p in target.rglob("*") if p.is_file()) if target.is_dir() else [target]
    key = (str(target.resolve()), tuple((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in files))
    if key not in _HASHES:
        _HASHES[key] = tree_sha256(target) if target.is_dir() else sha256_file(target)
    return _HASHES[key]


def verify(entry: ModelEntry) -> Verification:
    """Check an entry's files against its recorded SHA-256, without assembling or loading anything."""
    if entry.path is None:
        return Verification(entry.name, "no files", "a system tool or built-in code")
    if entry.bundled and not whisper_base.is_assembled(entry.path.parent):
        return Verification(entry.name, "not assembled", "assembled from the installed packages on first use")
    if not entry.path.exists() or (entry.file and entry.path.is_dir() and not (entry.path / entry.file).exists()):
        return Verification(entry.name, "missing", f"{_hash_target(entry)} does not exist")
    if not entry.sha256:
        return Verification(entry.name, "unchecked", "no sha256 recorded")
    actual = content_sha256(entry)
    expected = whisper_base.KNOWN_SHA256 if entry.bundled else {entry.sha256}
    if actual not in expected:
        return Verification(entry.name, "mismatch", f"{_hash_target(entry)} hashes to {actual[:12]}…, "
                                                    f"registry says {entry.sha256[:12]}…")
    return Verification(entry.name, "verified", f"sha256 {actual[:12]}…")


def require(entry: ModelEntry) -> Path:
    """The entry's local path, ready to load: assembled if bundled, present, checksum verified.

    Raises:
        ModelUnavailable: The entry has no path, or it does not exist.
        ModelChecksumMismatch: The files do not match the recorded SHA-256.
    """
    if entry.path is None:
        raise ModelUnavailable(f"model '{entry.name}' has no local path")
    if entry.bundled:
        whisper_base.assemble(entry.path.parent)
    result = verify(entry)
    if result.status == "missing":
        raise ModelUnavailable(f"model '{entry.name}': {result.detail}")
    if result.status == "mismatch":
        raise ModelChecksumMismatch(f"model '{entry.name}': {result.detail}; refusing to load it")
    return entry.path


@dataclass(frozen=True, slots=True)
class Registry:
    """The operator's entries (from the TOML file) in front of the embedded defaults."""

    path: Path
    cache_dir: Path
    entries: tuple[ModelEntry, ...]

    def all(self) -> tuple[ModelEntry, ...]:
        """Every model, operator entries first; a default whose name an operator reused is hidden."""
        names = {e.name for e in self.entries}
        return self.entries + tuple(e for e in default_entries(self.cache_dir) if e.name not in names)

    def get(self, name: str) -> ModelEntry:
        for entry in self.all():
            if entry.name == name:
                return entry
        raise NotFound(f"no model named '{name}' (see 'bantin models list')")

    def pick(self, task: Task, language: str | None) -> ModelEntry:
        """The first model for ``task`` covering ``language`` (None: any model for the task).

        Raises:
            ModelUnavailable: No configured or embedded model covers the pair.
        """
        for entry in self.all():
            if entry.task is task and entry.covers(language):
                return entry
        lang = LANGUAGES[language].name_en if language in LANGUAGES else language
        raise ModelUnavailable(f"no {task.value} model for language '{language}' ({lang}); "
                               "register one with 'bantin models add'")

    def with_entry(self, entry: ModelEntry, *, replace_existing: bool = False) -> Registry:
        """A registry with ``entry`` added (or replacing the operator entry of the same name)."""
        if any(e.name == entry.name for e in self.entries) and not replace_existing:
            raise InvalidInput(f"model '{entry.name}' is already registered (pass --replace to change it)")
        kept = tuple(e for e in self.entries if e.name != entry.name)
        return replace(self, entries=kept + (entry,))

    def save(self) -> None:
        """Write the operator's entries back to the TOML file, atomically."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.tmp")
        tmp.write_text(dumps(self.entries), encoding="utf-8")
        os.replace(tmp, self.path)


def _toml_str(value: str) -> str:
    # JSON's string escapes are a subset of TOML basic-string escapes, so json.dumps is valid TOML.
    return json.dumps(value, ensure_ascii=False)


def dumps(entries: tuple[ModelEntry, ...]) -> str:
    """Serialise entries as ``[[model]]`` tables."""
    out = ["# bantin model registry: see 'bantin models --help'. Entries here win over the embedded defaults.\n"]
    for e in entries:
        out.append("\n[[model]]\n")
        out.append(f"name = {_toml_str(e.name)}\ntask = {_toml_str(e.task.value)}\n")
        out.append(f"languages = [{', '.join(_toml_str(code) for code in e.languages)}]\n")
        out.append(f"backend = {_toml_str(e.backend)}\n")
        if e.path is not None:
            out.append(f"path = {_toml_str(str(e.path))}\n")
        for key in ("file", "sha256", "licence"):
            if getattr(e, key):
                out.append(f"{key} = {_toml_str(getattr(e, key))}\n")
    return "".join(out)


def validate_languages(codes: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """Project codes (vi, km, jra…), Whisper codes, or ``*``; lower-cased, without duplicates.

    Raises:
        InvalidInput: an unknown code or an empty list.
    """
    out: list[str] = []
    for raw in codes:
        code = raw.strip().lower()
        if not code:
            continue
        if code != ANY_LANGUAGE and code not in LANGUAGES and code not in WHISPER_LANGUAGES:
            raise InvalidInput(f"unknown language '{raw.strip()}' (project codes such as vi, km, jra, "
                               "Whisper codes, or *)")
        if code not in out:
            out.append(code)
    if not out:
        raise InvalidInput("a model needs at least one language (or *)")
    return tuple(out)


def make_entry(raw: dict[str, object], *, where: str, base: Path | None = None) -> ModelEntry:
    """Build an entry from one TOML table (or CLI options), checking every field.

    Raises:
        InvalidInput: a field is missing or wrong, naming ``where`` so the operator finds it.
    """
    def text(key: str, required: bool = True) -> str:
        value = raw.get(key, "")
        if not isinstance(value, str) or (required and not value.strip()):
            raise InvalidInput(f"{where}: '{key}' must be a non-empty string")
        return value.strip()

    name = text("name")
    try:
        task = Task(text("task"))
    except ValueError:
        raise InvalidInput(f"{where}: task must be one of {', '.join(t.value for t in Task)}") from None
    backend = text("backend")
    if backend not in BACKENDS[task]:
        raise InvalidInput(f"{where}: backend '{backend}' cannot run {task.value} "
                           f"(known: {', '.join(sorted(BACKENDS[task]))})")
    langs = raw.get("languages", [])
    if not isinstance(langs, list) or not all(isinstance(c, str) for c in langs):
        raise InvalidInput(f"{where}: 'languages' must be a list of codes")
    sha = text("sha256", required=False).lower()
    if sha and (len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha)):
        raise InvalidInput(f"{where}: 'sha256' must be 64 hex digits")
    path_text = text("path", required=False)
    path = Path(path_text).expanduser() if path_text else None
    if path is not None and not path.is_absolute() and base is not None:
        path = base / path  # relative paths are relative to the registry file
    try:
        languages = validate_languages(langs)
    except InvalidInput as exc:
        raise InvalidInput(f"{where}: {exc}") from None
    return ModelEntry(name=name, task=task, languages=languages, backend=backend, path=path, sha256=sha,
                      file=text("file", required=False), licence=text("licence", required=False))


def load_registry(path: Path | None = None, cache_dir: Path | None = None) -> Registry:
    """Read the registry file (a missing file means: defaults only).

    Args:
        path: The TOML file; default ``settings.model_registry``.
        cache_dir: Where bundled weights are assembled; default ``settings.model_cache``.

    Raises:
        InvalidInput: The file is not valid TOML or an entry is malformed (one line, naming the entry).
    """
    if path is None or cache_dir is None:
        from settings import get_settings  # engines read settings only when the caller passes nothing

        settings = get_settings()
        path = path or settings.model_registry
        cache_dir = cache_dir or settings.model_cache
    assert path is not None and cache_dir is not None
    entries: list[ModelEntry] = []
    if path.exists():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise InvalidInput(f"model registry {path} is not valid TOML: {exc}") from None
        tables = data.get("model", [])
        if not isinstance(tables, list):
            raise InvalidInput(f"model registry {path}: use [[model]] tables")
        for i, table in enumerate(tables, 1):
            entry = make_entry(table, where=f"{path} model #{i}", base=path.parent)
            if any(e.name == entry.name for e in entries):
                raise InvalidInput(f"{path}: model name '{entry.name}' appears twice")
            entries.append(entry)
    return Registry(path=path, cache_dir=cache_dir, entries=tuple(entries))
