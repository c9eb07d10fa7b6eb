"""Languages bulletins are produced in.

Codes are ISO 639-1 where one exists (vi, km) and ISO 639-3 otherwise. Vietnamese Hmong uses the
Vietnamese-style orthography, not RPA, which matters to translators and to any future model.

Machine translation models name languages their own way: NLLB-200 uses FLORES-200 codes (ISO 639-3 plus
an ISO 15924 script, ``khm_Khmr``). Of the bulletin languages only Vietnamese and Khmer are among NLLB's
202 (checked against transformers' ``FAIRSEQ_LANGUAGE_CODES``): Bahnar, Jrai, Hmong, Tày, Dao, Rade and
Cham are not, so those variants go to people unless an operator registers another model for them.
"""

import unicodedata
from dataclasses import dataclass

from domain.errors import InvalidInput


@dataclass(frozen=True, slots=True)
class Language:
    code: str
    name_vi: str
    name_en: str
    script: str  # ISO 15924: which fonts a slide needs


LANGUAGES: dict[str, Language] = {
    lang.code: lang
    for lang in (
        Language("vi", "Tiếng Việt", "Vietnamese", "Latn"),
        Language("km", "Tiếng Khmer", "Khmer", "Khmr"),
        Language("bdq", "Tiếng Ba Na", "Bahnar", "Latn"),
        Language("jra", "Tiếng Gia Rai", "Jrai", "Latn"),
        Language("hmn", "Tiếng H'Mông", "Hmong", "Latn"),
        Language("tyz", "Tiếng Tày", "Tày", "Latn"),
        Language("ium", "Tiếng Dao", "Dao (Iu Mien)", "Latn"),
        Language("ede", "Tiếng Ê Đê", "Rade", "Latn"),
        Language("cjm", "Tiếng Chăm", "Cham", "Latn"),
    )
}

SOURCE_LANGUAGE = "vi"

# ISO 639-3 code of each project code (they differ only where ISO 639-1 has a two-letter code).
ISO639_3: dict[str, str] = {"vi": "vie", "km": "khm", "en": "eng"} | {
    code: code for code in LANGUAGES if len(code) == 3
}
# FLORES-200 codes NLLB-200 knows, for the languages that matter here (vie, khm, and English for tests and
# vi<->en models). None of Bahnar (bdq), Jrai (jra), Hmong (hmn, mww, hnj), Tày (tyz), Dao (ium), Rade (ede)
# or Cham (cjm) is an NLLB-200 language.
NLLB_CODES: dict[str, str] = {"vie": "vie_Latn", "khm": "khm_Khmr", "eng": "eng_Latn", "lao": "lao_Laoo",
                              "tha": "tha_Thai"}


# ISO 15924 code -> the prefix of its letters' Unicode names (what ``script_share`` counts).
_SCRIPT_NAMES: dict[str, str] = {"Latn": "LATIN", "Khmr": "KHMER", "Laoo": "LAO", "Thai": "THAI"}


def script_of(code: str) -> str:
    """The ISO 15924 script a language is written in (``km`` -> ``Khmr``); ``Latn`` for English."""
    return LANGUAGES[code].script if code in LANGUAGES else "Latn"


def script_share(text: str, script: str) -> float | None:
    """Share of the letters of ``text`` (with their combining marks) that belong to ``script``.

    Returns None when the text has no letters (only digits and punctuation), so nothing can be judged.
    A Khmer translation that came back in Vietnamese (a model that failed to switch language and copied
    its input) has a share near 0.
    """
    prefix = _SCRIPT_NAMES.get(script, script.upper())
    own = total = 0
    base = ""
    for ch in unicodedata.normalize("NFC", text):
        category = unicodedata.category(ch)[0]
        if category not in "LM":
            continue
        name = unicodedata.name(ch, "")
        if category == "L" or not name.startswith("COMBINING"):
            base = name  # a generic combining mark (U+0300..) belongs to the letter before it
        total += 1
        own += base.startswith(prefix)
    return own / total if total else None


def to_iso639_3(code: str) -> str:
    """The ISO 639-3 code of a project (or ISO 639-1) code: ``km`` -> ``khm``, ``jra`` -> ``jra``.

    Raises:
        InvalidInput: the code is neither a project language nor English.
    """
    key = code.strip().lower()
    if key not in ISO639_3:
        raise InvalidInput(f"unknown language '{code}'")
    return ISO639_3[key]


def nllb_code(code: str) -> str | None:
    """NLLB-200's FLORES-200 code for a project code (``km`` -> ``khm_Khmr``), or None when NLLB lacks it."""
    try:
        return NLLB_CODES.get(to_iso639_3(code))
    except InvalidInput:
        return None


def from_nllb_code(flores: str) -> str | None:
    """The project code for an NLLB code (``khm_Khmr`` -> ``km``), or None for a language we do not use."""
    iso3 = next((iso for iso, f in NLLB_CODES.items() if f == flores), None)
    return next((code for code, iso in ISO639_3.items() if iso == iso3), None) if iso3 else None


def parse_languages(value: str | list[str]) -> tuple[str, ...]:
    """Parse ``"vi,km"`` (or a list) into known codes, source language first, without duplicates.

    Raises:
        InvalidInput: a code is unknown, or the list is empty.
    """
    items = value.split(",") if isinstance(value, str) else list(value)
    codes: list[str] = []
    for raw in items:
        code = raw.strip().lower()
        if not code:
            continue
        if code not in LANGUAGES:
            known = ", ".join(sorted(LANGUAGES))
            raise InvalidInput(f"unknown language '{raw.strip()}' (known: {known})")
        if code not in codes:
            codes.append(code)
    if not codes:
        raise InvalidInput("no language given")
    codes.sort(key=lambda c: c != SOURCE_LANGUAGE)
    return tuple(codes)


def draft_languages(value: str | list[str]) -> tuple[str, ...]:
    """The languages of a bulletin: those asked for, always with the source language first.

    Drafts are written in Vietnamese and every other variant is translated from it; Vietnamese
    residents of the same commune hear the bulletin too.
    """
    codes = parse_languages(value)
    return codes if SOURCE_LANGUAGE in codes else (SOURCE_LANGUAGE, *codes)
