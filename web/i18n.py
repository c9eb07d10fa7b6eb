"""User-facing text in Vietnamese (default) and English, from gettext catalogues managed with Babel.

The catalogues are ``web/locale/{vi,en}/LC_MESSAGES/messages.po`` (committed; edit them, or fold a module of
dictionaries in with ``scripts/messages_to_po.py``). Message ids are the short keys that templates and code
pass to ``t()``/:func:`translate`. Each ``.po`` is compiled to its ``.mo`` on first import when the ``.mo``
is missing or older (in memory when the package directory is read-only), then read with :mod:`gettext`.

A key missing in English falls back to Vietnamese, then to the key itself, so a forgotten translation shows
up as readable text rather than an error (and the catalogue test names it).

Feature text not yet moved into the catalogues (``web/messages/<module>.py`` with ``VI`` and ``EN``
dictionaries, e.g. from a branch merged later) is still folded in, under the same one-definition rule.
"""

import gettext
import io
import os
import tempfile
from pathlib import Path
from zoneinfo import ZoneInfo

LANGS = ("vi", "en")
VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "messages"


def compile_catalogue(po: Path) -> bytes:
    """The ``.mo`` bytes of a ``.po`` catalogue (Babel's compiler: fuzzy and empty entries are left out)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with po.open("rb") as f:
        catalog = read_po(f)
    out = io.BytesIO()
    write_mo(out, catalog)
    return out.getvalue()


def load_translations(lang: str, locale_dir: Path = LOCALE_DIR) -> gettext.GNUTranslations:
    """The compiled catalogue of ``lang``, compiling its ``.po`` first when the ``.mo`` is missing or stale."""
    po = locale_dir / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    mo = po.with_suffix(".mo")
    if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
        data = compile_catalogue(po)
        try:  # atomically: test workers and web processes may import at the same moment
            fd, tmp = tempfile.mkstemp(dir=mo.parent, suffix=".mo.tmp")
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, mo)
        except OSError:  # a read-only installation: use it from memory
            return gettext.GNUTranslations(io.BytesIO(data))
    with mo.open("rb") as f:
        return gettext.GNUTranslations(f)


TRANSLATIONS: dict[str, gettext.GNUTranslations] = {lang: load_translations(lang) for lang in LANGS}


def _catalogue(lang: str) -> dict[str, str]:
    # GNUTranslations keeps its messages in ``_catalog``; the header entry has the empty id.
    catalog: dict[object, object] = TRANSLATIONS[lang]._catalog  # type: ignore[attr-defined]  # noqa: SLF001
    return {str(k): str(v) for k, v in catalog.items() if k and isinstance(k, str)}


# Every message per language (read-only use: which texts are the UI's own, tests over the catalogues).
MESSAGES: dict[str, dict[str, str]] = {lang: _catalogue(lang) for lang in LANGS}
_EXTRA: dict[str, dict[str, str]] = {lang: {} for lang in LANGS}


def _merge_feature_messages() -> None:
    """Fold feature text still kept as dictionaries (web/messages/*.py) in; a key defined twice is a bug."""
    import importlib
    import pkgutil

    from web import messages

    for info in pkgutil.iter_modules(messages.__path__):
        module = importlib.import_module(f"web.messages.{info.name}")
        for lang, table in (("vi", module.VI), ("en", module.EN)):
            clash = set(table) & (set(MESSAGES[lang]) | set(_EXTRA[lang]))
            if clash:
                raise RuntimeError(f"UI text keys defined twice ({info.name}): {sorted(clash)}")
            _EXTRA[lang].update(table)
            MESSAGES[lang].update(table)


_merge_feature_messages()


def translate(lang: str, key: str) -> str:
    """The text of ``key`` in ``lang`` (``vi`` or ``en``), else in Vietnamese, else the key."""
    for code in (lang, "vi"):
        tr = TRANSLATIONS.get(code)
        if tr is not None:
            text = tr.gettext(key)
            if text != key:
                return text
        extra = _EXTRA.get(code, {}).get(key)
        if extra:
            return extra
    return key
