"""Production decisions: from a draft revision to a package awaiting review (start, texts, manifest, failure).

Each function does one step for one package (and language), reads its inputs from the database and the
object store, records what it produced and writes the audit entries. Steps whose output is already
recorded and stored are skipped, so a rerun after a failure resumes where it stopped and produces
identical keys. The Prefect tasks in ``tasks/production.py`` wrap one function each; nothing here needs
Prefect. Speech, loudness and slides are in ``services.production_media``.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from domain.drafts import DraftRevision
from domain.errors import DomainError, InvalidInput
from domain.faithfulness import check_faithfulness
from domain.framing import spoken_title
from domain.keys import manifest_key
from domain.languages import LANGUAGES, SOURCE_LANGUAGE
from domain.packages import AssetKind, PackageStatus, VariantStatus, build_manifest
from domain.priority import Priority
from engines import textnorm, translate
from engines.errors import SummaryError
from engines.registry import Task, load_registry
from engines.speaking_rate import speaking_rate
from prompts import load_prompt
from services import framing
from services.machine_translation import machine_translate
from services.runtime import object_store, session
from settings import get_settings
from storage.models import TranslationRecord
from storage.objects import StoredObject
from storage.repositories import audit, drafts, packages, translations

SCRIPT_PROMPT = ("loudspeaker_script", 1)
URGENT_PROMPT = ("loudspeaker_script/urgent", 1)  # "Thông báo khẩn!" twice, the key instruction repeated
OPENING = "Kính thưa bà con nhân dân!"
CLOSING = "Trân trọng thông báo!"
TEXT = "text/plain; charset=utf-8"

LOG = logging.getLogger(__name__)
Logger = logging.Logger | logging.LoggerAdapter[Any]

# Packages of an older revision in these states are superseded when a newer revision is produced.
SUPERSEDABLE = (PackageStatus.IN_REVIEW, PackageStatus.FAILED, PackageStatus.APPROVED, PackageStatus.SCHEDULED)


@dataclass(frozen=True)
class ProductionStart:
    """What the flow needs to wire the steps: small and serialisable."""

    package_id: int
    status: str
    languages: tuple[str, ...]


def revision_of(s: Session, package_id: int) -> DraftRevision:
    """The draft revision a package was made from."""
    return drafts.revision_by_id(s, packages.get_package(s, package_id).revision_id)


def start(draft_id: int, *, flow_run_id: str = "", log: Logger = LOG) -> ProductionStart:
    """Create the package for the draft's latest revision, or resume the one that exists.

    Packages of older revisions that were never published are superseded: their approvals no longer
    describe what would air. A revision whose package was rejected is not produced again: the editor
    must submit a corrected revision.

    Returns:
        The package and its status; nothing more is produced unless it is ``producing``.

    Raises:
        InvalidInput: the latest revision was rejected.
    """
    with session() as s:
        rev = drafts.latest_revision_record(s, draft_id)
        for old in packages.packages_of_draft(s, draft_id):
            if old.revision_id != rev.id and old.status in SUPERSEDABLE:
                packages.set_status(s, old, PackageStatus.SUPERSEDED, actor="system", by_revision=rev.number)
        pkg = packages.live_package_for_revision(s, rev.id)
        if pkg is None:
            if packages.rejected_package_for_revision(s, rev.id) is not None:
                raise InvalidInput(f"revision {rev.number} of draft {draft_id} was rejected; "
                                   "submit a corrected revision before producing again")
            pkg = packages.create_package(s, draft_id=draft_id, revision_id=rev.id, actor="system")
            log.info("draft %s revision %s: new package %s", draft_id, rev.number, pkg.id)
        elif pkg.status == PackageStatus.FAILED:
            packages.set_status(s, pkg, PackageStatus.PRODUCING, actor="system", resumed=True)
            log.info("resuming failed package %s", pkg.id)
        if pkg.status == PackageStatus.PRODUCING:
            audit.record(s, actor="system", action="flow.produce", entity="package", entity_id=pkg.id,
                         flow_run_id=flow_run_id)
        return ProductionStart(pkg.id, pkg.status, tuple(rev.languages))


def _block(s: Session, package_id: int, language: str, reason: str) -> None:
    packages.set_variant(s, package_id=package_id, language=language, status=VariantStatus.BLOCKED,
                         blocked_reason=reason)


def write_texts(package_id: int, language: str, *, log: Logger = LOG) -> bool:
    """Write the loudspeaker script and the board text for one language.

    The source language is summarised to the configured speech length (by the registry's summariser:
    extractive by default, or a seq2seq or instruction model) and framed by the versioned loudspeaker
    prompt. Other languages use a person's translation of this revision when one exists, else a machine
    translation when the registry has a model for the pair (glossary and faithfulness checked), and are
    blocked until a person translates them otherwise: source text is never copied into another
    language's slot.

    Returns:
        True when the variant is ready.
    """
    announcer = ""
    with session() as s:  # a person's text (a translation, or an edit of any variant) wins over the machine's
        revision_id = packages.get_package(s, package_id).revision_id
        rev = drafts.revision_by_id(s, revision_id)
        supplied = translations.latest_translation(s, revision_id, language)
        if supplied is not None:
            _record_translation(s, package_id, language, supplied)
            log.info("variant %s: text %s by %s", language, supplied.id, supplied.translator)
            return True
        if language == SOURCE_LANGUAGE:  # the station of the target area opens the bulletin
            announcer = framing.announcer(s, list(rev.content.area_codes),
                                          requesting_unit=rev.content.requesting_unit)
    if language != SOURCE_LANGUAGE:
        entry = translate.translator_for(language, source=SOURCE_LANGUAGE)
        if entry is not None:
            return machine_translate(package_id, language, entry, log, title=rev.content.title)
        name = LANGUAGES[language].name_en
        reason = (f"awaiting a translation into {name} ({language}): no machine translation is configured "
                  "for it, so a translator must provide the text")
        with session() as s:
            _block(s, package_id, language, reason)
        log.info("variant %s blocked: %s", language, reason)
        return False
    return _summarise_source(package_id, rev, announcer, log)


def _summarise_source(package_id: int, rev: DraftRevision, announcer: str, log: Logger) -> bool:
    language = SOURCE_LANGUAGE
    settings = get_settings()
    urgent = rev.content.priority is Priority.KHAN_CAP
    prompt = load_prompt(*(URGENT_PROMPT if urgent else SCRIPT_PROMPT))
    frame = dict(opening=OPENING, announcer=announcer, title=spoken_title(rev.content.title), closing=CLOSING)
    if urgent:
        frame["key"] = ""
    rate = speaking_rate(settings)
    model = load_registry().pick(Task.SUMMARIZE, SOURCE_LANGUAGE)
    try:
        summary = framing.framed_summary(model, rev.content.body, prompt, frame, settings)
    except SummaryError as exc:
        if model.backend == "extractive":
            raise
        # A generative model that produced nothing usable blocks the variant, with its reason.
        with session() as s:
            _block(s, package_id, language, f"summary by '{model.name}': {exc}")
            audit.record(s, actor="system", action="summary.failed", entity="package", entity_id=package_id,
                         language=language, model=model.name, engine=model.backend, error=str(exc))
        log.warning("%s blocked: summary by %s failed: %s", language, model.name, exc)
        return False
    # Every number, date, time, phone and name in what will air must come from the draft (or the frame we add).
    frame_text = prompt.render(body="", **frame)
    for label, text in (("script", summary.script), ("board text", summary.board_text)):
        report = check_faithfulness(text, rev.content.body, allowed_extra=frame_text)
        if not report.ok:
            with session() as s:
                _block(s, package_id, language, f"{label}: {report.reason()}")
                audit.record(s, actor="system", action="faithfulness.violation", entity="package",
                             entity_id=package_id, language=language, output=label, **summary.meta(),
                             missing=[f"{f.kind}:{f.text}" for f in report.missing])
            log.warning("%s %s blocked: %s", language, label, report.reason())
            return False
    script = prompt.render(body=summary.script, **frame)
    spoken = textnorm.normalize_for_speech(script)  # what the voice will read, and what the length is taken on
    estimated = round(rate.seconds(spoken), 1)
    generated = {**summary.meta(), "estimated_seconds": estimated, "target_seconds": settings.script_seconds,
                 **rate.to_meta(), "prompt": prompt.ref, "prompt_sha256": prompt.sha256}
    store = object_store()
    script_obj = store.put_bytes(script.encode("utf-8"), ext="txt", media_type=TEXT)
    spoken_obj = store.put_bytes(spoken.encode("utf-8"), ext="txt", media_type=TEXT)
    board_obj = store.put_bytes(summary.board_text.encode("utf-8"), ext="txt", media_type=TEXT)
    with session() as s:
        packages.record_asset(s, package_id=package_id, language=language, kind=AssetKind.SCRIPT,
                              stored=script_obj, meta=generated)
        packages.record_asset(s, package_id=package_id, language=language, kind=AssetKind.SPEECH_TEXT,
                              stored=spoken_obj, meta={"text_normalization": "textnorm",
                                                       "script_sha256": script_obj.sha256,
                                                       "estimated_seconds": estimated,
                                                       "target_seconds": settings.script_seconds,
                                                       **rate.to_meta()})
        packages.record_asset(s, package_id=package_id, language=language, kind=AssetKind.BOARD_TEXT,
                              stored=board_obj, meta={**generated, "lines": summary.board_text.count("\n") + 1})
        packages.set_variant(s, package_id=package_id, language=language, status=VariantStatus.READY)
        audit.record(s, actor="system", action="asset.produced", entity="package", entity_id=package_id,
                     language=language, kinds=["script", "speech_text", "board_text"], **generated)
    log.info("%s script: %.0f s estimated, sentences %s", language, estimated, list(summary.sentence_indexes))
    return True


def _record_translation(s: Session, package_id: int, language: str, supplied: TranslationRecord) -> None:
    store = object_store()
    meta = {"engine": "human", "translator": supplied.translator, "translation_id": supplied.id}
    titled = {"title": supplied.title} if supplied.title and language != SOURCE_LANGUAGE else {}
    for kind, key in ((AssetKind.SCRIPT, supplied.script_key), (AssetKind.BOARD_TEXT, supplied.board_key)):
        data = store.get_bytes(key)  # verified against its key
        stored = StoredObject(key, hashlib.sha256(data).hexdigest(), len(data), TEXT)
        packages.record_asset(s, package_id=package_id, language=language, kind=kind, stored=stored,
                              meta={**meta, **(titled if kind is AssetKind.BOARD_TEXT else {})})
    packages.set_variant(s, package_id=package_id, language=language, status=VariantStatus.READY,
                         translated_by=supplied.translator)
    audit.record(s, actor="system", action="asset.produced", entity="package", entity_id=package_id,
                 language=language, kinds=["script", "board_text"], **meta)


def finalize(package_id: int, *, log: Logger = LOG) -> str:
    """Write the manifest, store it, and put the package up for review.

    Returns:
        The manifest hash, the package's identity.
    """
    with session() as s:
        pkg = packages.get_package(s, package_id)
        rev = drafts.revision_by_id(s, pkg.revision_id)
        c = rev.content
        manifest = build_manifest(
            draft_id=rev.draft_id, revision=rev.number, content_hash=c.content_hash(), title=c.title,
            priority=c.priority.value, areas=list(c.area_codes), channels=[ch.value for ch in c.channels],
            embargo_at=c.embargo_at.isoformat() if c.embargo_at else None,
            expires_at=c.expires_at.isoformat() if c.expires_at else None,
            source_ref=c.source_ref, requesting_unit=c.requesting_unit,
            variants=packages.variants_of(s, package_id),
        )
    key = manifest_key(manifest.hash)
    object_store().put_at(key, manifest.data, media_type="application/json")
    with session() as s:
        pkg = packages.get_package(s, package_id)
        pkg.manifest_hash, pkg.manifest_key = manifest.hash, key
        packages.set_status(s, pkg, PackageStatus.IN_REVIEW, actor="system", manifest_hash=manifest.hash)
    log.info("package %s in review, manifest %s", package_id, manifest.hash[:12])
    return manifest.hash


def mark_failed(package_id: int, error: str) -> None:
    """Record why production stopped; everything produced so far stays for the rerun."""
    with session() as s:
        pkg = packages.get_package(s, package_id)
        if pkg.status == PackageStatus.PRODUCING:
            packages.set_status(s, pkg, PackageStatus.FAILED, actor="system", error=error)


def describe_error(exc: BaseException) -> str:
    """One line for the package's error field: domain errors are already worded for operators."""
    if isinstance(exc, DomainError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"
