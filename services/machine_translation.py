"""The machine-translation step of ``write_texts``: the Vietnamese variant's texts into another language.

Called only when the model registry has a translator for the pair and no person has supplied a
translation of this revision (a person's work always wins). The glossary is applied before and checked
after translation; the faithfulness checks make sure the translation states no number, date, time or name
the Vietnamese text does not, and drops none of its numbers; the engine refuses an output still in the
source language. Any failure (no usable model, a lost term, an invented or dropped fact, an empty or
untranslated output) blocks this variant with the reason, and it then waits for a person: the rest of the
package goes on. Source text is never copied into the target slot.
"""

from __future__ import annotations

import logging
from typing import Any

from domain.errors import InvalidInput
from domain.faithfulness import check_faithfulness, lost_numbers
from domain.glossary import Glossary
from domain.languages import LANGUAGES, SOURCE_LANGUAGE
from domain.packages import AssetKind, VariantStatus
from engines import glossary as glossaries
from engines import translate
from engines.errors import EngineError
from engines.registry import ModelEntry
from services.runtime import object_store, session
from storage.repositories import audit, packages

TEXT = "text/plain; charset=utf-8"


def machine_actor(entry: ModelEntry) -> str:
    """The variant's ``translated_by`` for a machine translation (usernames cannot contain ':')."""
    return f"machine:{entry.name}"[:64]


def _block(package_id: int, language: str, reason: str, **detail: Any) -> bool:
    with session() as s:
        packages.set_variant(s, package_id=package_id, language=language, status=VariantStatus.BLOCKED,
                             blocked_reason=reason)
        audit.record(s, actor="system", action="translation.blocked", entity="package", entity_id=package_id,
                     language=language, reason=reason, **detail)
    return False


def _source_texts(package_id: int) -> tuple[str, str, str, str] | None:
    """The Vietnamese script and board text with their digests, or None when that variant is not ready."""
    with session() as s:
        ready = any(v.language == SOURCE_LANGUAGE and v.status is VariantStatus.READY
                    for v in packages.variants_of(s, package_id))
        script = packages.get_asset(s, package_id=package_id, language=SOURCE_LANGUAGE, kind=AssetKind.SCRIPT)
        board = packages.get_asset(s, package_id=package_id, language=SOURCE_LANGUAGE, kind=AssetKind.BOARD_TEXT)
    if not ready or script is None or board is None:
        return None
    store = object_store()
    return (store.get_bytes(script.key).decode("utf-8"), script.sha256,
            store.get_bytes(board.key).decode("utf-8"), board.sha256)


def _already_done(package_id: int, language: str, entry: ModelEntry, script_sha: str, board_sha: str,
                  glossary_version: str) -> bool:
    with session() as s:
        rec = packages.variant_record(s, package_id, language)
        script = packages.get_asset(s, package_id=package_id, language=language, kind=AssetKind.SCRIPT)
        board = packages.get_asset(s, package_id=package_id, language=language, kind=AssetKind.BOARD_TEXT)
    if rec is None or rec.status != VariantStatus.READY.value or script is None or board is None:
        return False
    meta = script.meta
    return (meta.get("model") == entry.name and meta.get("model_sha256", "") == entry.sha256
            and meta.get("source_sha256") == script_sha and board.meta.get("source_sha256") == board_sha
            and meta.get("glossary_sha256") == glossary_version
            and object_store().exists(script.key) and object_store().exists(board.key))


def _translated_title(title: str, language: str, entry: ModelEntry, glossary: Glossary,
                      logger: logging.Logger | Any) -> dict[str, str]:
    """``{"title": ...}`` for the board text's metadata, or ``{}`` when there is none or it fails a check."""
    if not title.strip():
        return {}
    try:
        out = translate.translate(title, target=language, entry=entry, glossary=glossary).text.strip()
    except Exception as exc:  # noqa: BLE001 - the title is optional: any model failure only leaves it out
        logger.warning("variant %s: title not translated: %s", language, exc)
        return {}
    checks_ok = glossary.check(title, out).ok and check_faithfulness(out, title).ok and not lost_numbers(title, out)
    if not out or not checks_ok:
        logger.warning("variant %s: machine-translated title rejected; slides show no title", language)
        return {}
    return {"title": out}


def machine_translate(package_id: int, language: str, entry: ModelEntry, logger: logging.Logger | Any,
                      title: str = "") -> bool:
    """Translate the Vietnamese variant into ``language`` with ``entry`` and record the result.

    The draft's ``title`` is translated too and kept in the board text's metadata for the slides; a title
    translation that fails the same checks is left out (the slides then show no title, never Vietnamese).

    Returns:
        True when the variant is ready; False when it is blocked (the reason is on the variant and in the
        audit log).
    """
    name = LANGUAGES[language].name_en
    source = _source_texts(package_id)
    if source is None:
        return _block(package_id, language, f"the Vietnamese text is not ready, so there is nothing to translate "
                                            f"into {name} yet", model=entry.name)
    script_vi, script_sha, board_vi, board_sha = source
    try:
        glossary = glossaries.load_glossary(language)
    except InvalidInput as exc:
        return _block(package_id, language, f"the {name} glossary cannot be read: {exc}", model=entry.name)
    if _already_done(package_id, language, entry, script_sha, board_sha, glossary.version):
        logger.info("variant %s already translated by %s from this text; skipping", language, entry.name)
        return True
    board_paragraph = " ".join(board_vi.split())  # board lines are wrapping, not structure
    try:
        script = translate.translate(script_vi, target=language, entry=entry, glossary=glossary)
        board = translate.translate(board_paragraph, target=language, entry=entry, glossary=glossary)
    except (EngineError, InvalidInput) as exc:
        reason = f"machine translation into {name} with '{entry.name}' failed: {exc}; a translator must provide it"
        logger.warning("variant %s blocked: %s", language, reason)
        return _block(package_id, language, reason, model=entry.name, engine=entry.backend)
    except Exception as exc:  # noqa: BLE001 - model code (tokenizers, torch, CT2) raises anything; one variant pays
        reason = (f"machine translation into {name} with '{entry.name}' crashed ({type(exc).__name__}: {exc}); "
                  "a translator must provide it")
        logger.exception("variant %s blocked: %s", language, reason)
        return _block(package_id, language, reason, model=entry.name, engine=entry.backend)
    provenance = script.meta() | {"glossary_sha256": glossary.version}
    for label, src, out in (("script", script_vi, script.text), ("board text", board_paragraph, board.text)):
        terms = glossary.check(src, out)
        facts = check_faithfulness(out, src)
        lost = lost_numbers(src, out)
        if not terms.ok or not facts.ok or lost:
            why = (terms.reason() if not terms.ok else facts.reason() if not facts.ok else
                   "Bản dịch làm mất số: " + ", ".join(f"«{n}»" for n in lost)
                   + " / translation dropped numbers: " + ", ".join(f"«{n}»" for n in lost) + ".")
            reason = f"{label}: machine translation by '{entry.name}' rejected: {why} A translator must provide it."
            logger.warning("variant %s blocked: %s", language, reason)
            return _block(package_id, language, reason, output=label, **provenance,
                          missing_terms=[t.source for t in terms.missing],
                          missing_facts=[f"{f.kind}:{f.text}" for f in facts.missing], lost_numbers=list(lost))
    titled = _translated_title(title, language, entry, glossary, logger)
    store = object_store()
    script_obj = store.put_bytes(script.text.encode("utf-8"), ext="txt", media_type=TEXT)
    board_obj = store.put_bytes(board.text.encode("utf-8"), ext="txt", media_type=TEXT)
    with session() as s:
        packages.record_asset(s, package_id=package_id, language=language, kind=AssetKind.SCRIPT,
                              stored=script_obj, meta=provenance | {"source_sha256": script_sha})
        packages.record_asset(s, package_id=package_id, language=language, kind=AssetKind.BOARD_TEXT,
                              stored=board_obj, meta=provenance | {"source_sha256": board_sha,
                                                                   "parameters": board.parameters} | titled)
        packages.set_variant(s, package_id=package_id, language=language, status=VariantStatus.READY,
                             translated_by=machine_actor(entry))
        audit.record(s, actor="system", action="asset.produced", entity="package", entity_id=package_id,
                     language=language, kinds=["script", "board_text"], translated_by=machine_actor(entry),
                     **provenance)
    logger.info("variant %s: machine translation by %s (%s)", language, entry.name, script.engine)
    if entry.non_commercial:
        logger.warning("model %s is licensed %s: not for commercial use", entry.name, entry.licence)
    return True
