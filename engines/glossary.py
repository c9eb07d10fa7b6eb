"""Loading the per-language glossaries (the pure rules live in :mod:`domain.glossary`).

Glossaries ship in ``prompts/glossaries/<language>.tsv``; an operator points ``BANTIN_GLOSSARY_DIR`` at a
directory of their own files (a province's approved spellings), which then replaces the shipped ones
language by language. A language without a file has an empty glossary.
"""

from __future__ import annotations

import hashlib
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from domain.errors import InvalidInput
from domain.glossary import Glossary, parse_glossary


def _read(path: Path | Traversable, where: str) -> str:
    """The file's text; a file that is not UTF-8 or cannot be read is the operator's to fix, not a crash."""
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{where} is not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    except OSError as exc:
        raise InvalidInput(f"{where} cannot be read: {exc.strerror or exc}") from None


def _shipped(language: str) -> tuple[str, str] | None:
    path = resources.files("prompts").joinpath("glossaries", f"{language}.tsv")
    if not path.is_file():
        return None
    where = f"prompts/glossaries/{language}.tsv"
    return _read(path, where), where


def load_glossary(language: str, directory: Path | None = None) -> Glossary:
    """The glossary for translations into ``language``.

    Args:
        language: Target language code (``km``).
        directory: Operator glossary directory; default ``settings.glossary_dir``; when it has no file for
            the language, the shipped file is used.

    Raises:
        InvalidInput: the file is malformed (naming the file and line), not UTF-8, or unreadable.
    """
    if directory is None:
        from settings import get_settings  # read only when the caller passes nothing

        directory = get_settings().glossary_dir
    found: tuple[str, str] | None = None
    if directory is not None and (Path(directory) / f"{language}.tsv").is_file():
        path = Path(directory) / f"{language}.tsv"
        found = _read(path, str(path)), str(path)
    else:
        found = _shipped(language)
    if found is None:
        return Glossary(language=language)
    text, where = found
    return parse_glossary(text, language=language, where=where,
                          version=hashlib.sha256(text.encode("utf-8")).hexdigest())
