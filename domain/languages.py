"""Languages bulletins are produced in.

Codes are ISO 639-1 where one exists (vi, km) and ISO 639-3 otherwise. Vietnamese Hmong uses the
Vietnamese-style orthography, not RPA, which matters to translators and to any future model.
"""

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
