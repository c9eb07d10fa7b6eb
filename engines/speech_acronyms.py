"""The acronym dictionary that speech normalisation reads: shipped data plus an installation's own file.

The shipped list is ``prompts/speech/acronyms.tsv`` (``written<TAB>spoken<TAB>where``, see its header);
``BANTIN_SPEECH_ACRONYMS`` names an operator file of the same form whose entries are added over it (an
empty spoken form removes a shipped entry). ``where`` is ``word`` (read anywhere as a whole word) or
``doc`` (only as a code inside a document number such as ``215/KH-UBND``).
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from types import MappingProxyType

from domain.errors import InvalidInput
from engines.glossary import _read  # the same UTF-8 and unreadable-file errors as glossaries

SHIPPED = "prompts/speech/acronyms.tsv"
_KINDS = ("word", "doc")
_WRITTEN = re.compile(r"[A-Za-zĐđƯư][A-Za-zĐđƯư&-]*")


@dataclass(frozen=True, eq=False)
class Acronyms:
    """Acronyms to read as words.

    Attributes:
        words: Written form -> spoken form, read anywhere as a whole, case-sensitive word.
        doc_codes: Written form -> spoken form inside document numbers (every ``words`` entry as well).
        sha256: Digest of the texts the dictionary was read from, for asset metadata.
    """

    words: Mapping[str, str]
    doc_codes: Mapping[str, str]
    sha256: str = ""
    _cache: dict[str, object] = field(default_factory=dict, repr=False, compare=False)


def parse_acronyms(text: str, where: str, base: Mapping[str, tuple[str, str]] | None = None
                   ) -> dict[str, tuple[str, str]]:
    """Read ``written<TAB>spoken<TAB>where`` lines over ``base`` (written -> (spoken, kind)).

    Raises:
        InvalidInput: a line without three columns, an unknown ``where``, or a written form that is not
            letters (with ``&`` or ``-`` inside), naming the file and line.
    """
    entries = dict(base or {})
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip("\r")
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        cols = line.split("\t")
        if len(cols) != 3:
            raise InvalidInput(f"{where} line {number}: expected written<TAB>spoken<TAB>where, got {len(cols)} "
                               "column(s)")
        written, spoken, kind = (c.strip() for c in cols)
        if kind not in _KINDS:
            raise InvalidInput(f"{where} line {number}: where must be word or doc, not {kind!r}")
        if not _WRITTEN.fullmatch(written):
            raise InvalidInput(f"{where} line {number}: {written!r} is not an acronym (letters, & and - only)")
        if spoken:
            entries[written] = (spoken, kind)
        else:
            entries.pop(written, None)  # an operator's empty reading: spell it as written
    return entries


def load_acronyms(extra: Path | None = None) -> Acronyms:
    """The shipped dictionary, with an installation's file added over it.

    Args:
        extra: Operator file (same form as the shipped one), or None for the shipped list alone.

    Raises:
        InvalidInput: a file is malformed, not UTF-8, or unreadable.
    """
    shipped = resources.files("prompts").joinpath("speech", "acronyms.tsv").read_text(encoding="utf-8")
    digest = hashlib.sha256(shipped.encode("utf-8"))
    entries = parse_acronyms(shipped, SHIPPED)
    if extra is not None:
        text = _read(Path(extra), str(extra))
        digest.update(text.encode("utf-8"))
        entries = parse_acronyms(text, str(extra), entries)
    words = {w: s for w, (s, kind) in entries.items() if kind == "word"}
    docs = {w: s for w, (s, kind) in entries.items() if kind == "doc"}
    return Acronyms(MappingProxyType(words), MappingProxyType({**docs, **words}), digest.hexdigest())


@functools.lru_cache(maxsize=4)
def _cached(extra: Path | None, mtime: float) -> Acronyms:
    return load_acronyms(extra)


def default_acronyms() -> Acronyms:
    """The installation's dictionary (``settings.speech_acronyms`` over the shipped list), cached until the
    operator's file changes."""
    from settings import get_settings  # read only when the caller passes no dictionary

    extra = get_settings().speech_acronyms
    mtime = Path(extra).stat().st_mtime if extra is not None and Path(extra).is_file() else 0.0
    return _cached(extra, mtime)
