"""Move UI text kept in Python dictionaries (``web/messages/<module>.py`` with ``VI`` and ``EN``) into the
gettext catalogues ``web/locale/{vi,en}/LC_MESSAGES/messages.po`` that ``web.i18n`` reads (Babel format).

    python scripts/messages_to_po.py feedback reports     # fold those modules in, then delete them

A key already in a catalogue with another text is an error (nothing is written); the same text is fine, so
running it twice changes nothing. The message id is the key the templates and code pass to ``t()``.
"""

import argparse
import importlib
import sys
from collections.abc import Mapping
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[1]
LOCALE_DIR = ROOT / "web" / "locale"
LANGS = ("vi", "en")


def po_path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po"


def load(lang: str) -> Catalog:
    path = po_path(lang)
    if path.exists():
        with path.open("rb") as f:
            return read_po(f, locale=lang)
    return Catalog(locale=lang, project="bantin", version="1", copyright_holder="bantin",
                   msgid_bugs_address="", fuzzy=False)


def add(catalogs: Mapping[str, Catalog], tables: Mapping[str, Mapping[str, str]], origin: str) -> list[str]:
    """Add each key of ``tables`` (per language) to the catalogues; returns the clashes found."""
    clashes = []
    for key in tables["vi"]:
        for lang in LANGS:
            text = tables[lang].get(key, "")
            have = catalogs[lang].get(key)
            if have is not None and have.string and text and have.string != text:
                clashes.append(f"{origin}: '{key}' ({lang}) is already '{have.string}'")
            elif have is None or (text and not have.string):
                catalogs[lang].add(key, string=text, auto_comments=[origin])
    return clashes


def save(catalogs: Mapping[str, Catalog]) -> None:
    for lang, catalog in catalogs.items():
        path = po_path(lang)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as f:
            write_po(f, catalog, width=116, omit_header=False, sort_output=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="+", help="names under web/messages/ (e.g. feedback reports)")
    parser.add_argument("--keep", action="store_true", help="do not delete the modules afterwards")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    catalogs = {lang: load(lang) for lang in LANGS}
    clashes: list[str] = []
    for name in args.modules:
        module = importlib.import_module(f"web.messages.{name}")
        clashes += add(catalogs, {"vi": module.VI, "en": module.EN}, f"web/messages/{name}.py")
    if clashes:
        sys.stderr.write("\n".join(clashes) + "\n")
        return 1
    save(catalogs)
    if not args.keep:
        for name in args.modules:
            (ROOT / "web" / "messages" / f"{name}.py").unlink()
    sys.stdout.write(f"{len(args.modules)} module(s) moved into {LOCALE_DIR.relative_to(ROOT)}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
