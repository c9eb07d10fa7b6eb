"""Loading the per-language glossaries (the pure rules live in :mod:`domain.glossary`).

Glossaries ship in ``prompts/glossaries/<language>.tsv``; an operator points ``BANTIN_GLOSSARY_DIR`` at a
directory of their own files (a province's approved spellings), which then replaces the shipped ones
language by language. A language without a file has an empty glossary.
"""

from __future__ import annotations

import hashlib
from importlib import resources
from pathlib import Path

from domain.glossary import Glossary, parse_glossary


def _shipped(language: str) -> tuple[str, str] | None:
    path = resources.files("prompts").joinpath("glossaries", f"{language}.tsv")
    if not path.is_file():
        return None
    return path.read_text(encoding="utf-8"), f"prompts/glossaries/{language}.tsv"


def load_glossary(language: str, directory: Path | None = None) -> Glossary:
    """The glossary for translations into ``language``.

    Args:
        language: Target language code (``km``).
        directory: Operator glossary directory; default ``settings.glossary_dir``; when it has no file for
            the language, the shipped file is used.

    Raises:
        InvalidInput: the file is malformed (naming the file and line).
    """
    if directory is None:
        from settings import get_settings  # read only when the caller passes nothing

        directory = get_settings().glossary_dir
    found: tuple[str, str] | None = None
    if directory is not None and (Path(directory) / f"{language}.tsv").is_file():
        path = Path(directory) / f"{language}.tsv"
        found = path.read_text(encoding="utf-8"), str(path)
    else:
        found = _shipped(language)
    if found is None:
        return Glossary(language=language)
    text, where = found
    return parse_glossary(text, language=language, where=where,
                          version=hashlib.sha256(text.encode("utf-8")).hexdigest())
