"""Production tasks: from a draft revision to a package awaiting review.

Each task does one step for one package (and language), reads its inputs from the database and the
object store, and records what it produced. Steps whose output is already recorded and stored are
skipped, so a rerun after a failure resumes where it stopped and produces identical keys.
"""

import hashlib
import tempfile
from dataclasses import dataclass
from pathlib import Path

from prefect import get_run_logger, task
from prefect.runtime import flow_run
from sqlalchemy.orm import Session

from domain.drafts import Channel, DraftRevision
from domain.errors import DomainError, InvalidInput
from domain.faithfulness import check_faithfulness
from domain.framing import spoken_title
from domain.keys import manifest_key, sha256_of_key
from domain.languages import LANGUAGES, SOURCE_LANGUAGE
from domain.packages import AssetKind, PackageStatus, VariantStatus, build_manifest
from domain.priority import Priority
from engines import audio, slides, textnorm, translate, voices
from engines.errors import SummaryError, VoiceUnavailable
from engines.registry import Task, load_registry
from engines.speaking_rate import speaking_rate
from prompts import load_prompt
from services import framing
from services.emergency import base_url
from services.feedback_intake import feedback_link
from services.runtime import object_store, session
from settings import get_settings
from storage.models import AssetRecord, RecordingRecord, TranslationRecord
from storage.objects import StoredObject
from storage.repositories import areas, audit, drafts, packages, translations
from tasks.retry import retry_if_transient
from tasks.translating import machine_translate

SCRIPT_PROMPT = ("loudspeaker_script", 1)
URGENT_PROMPT = ("loudspeaker_script/urgent", 1)  # "Thông báo khẩn!" twice, the key instruction repeated
OPENING = "Kính thưa bà con nhân dân!"
CLOSING = "Trân trọng thông báo!"

_RETRY = dict(retries=2, retry_delay_seconds=[1, 5], retry_condition_fn=retry_if_transient)


def _revision_of(package_id: int) -> DraftRevision:
    with session() as s:
        return drafts.revision_by_id(s, packages.get_package(s, package_id).revision_id)


def _stored(asset: AssetRecord | None) -> bool:
    return asset is not None and object_store().exists(asset.key)


def _asset(package_id: int, language: str, kind: AssetKind, position: int = 0) -> AssetRecord | None:
    with session() as s:
        return packages.get_asset(s, package_id=package_id, language=language, kind=kind, position=position)


def _variant_ready(package_id: int, language: str) -> bool:
    with session() as s:
        return any(v.language == language and v.status is VariantStatus.READY
                   for v in packages.variants_of(s, package_id))


@dataclass(frozen=True)
class ProductionStart:
    """What the flow needs to wire the steps: small and serialisable."""

    package_id: int
    status: str
    languages: tuple[str, ...]


@task(**_RETRY)
def start_production(draft_id: int) -> ProductionStart:
    """Create the package for the draft's latest revision, or resume the one that exists.

    Packages of older revisions that were never published are superseded: their approvals no longer
    describe what would air. A revision whose package was rejected is not produced again: the editor
    must submit a corrected revision.

    Args:
        draft_id: the draft to produce.

    Returns:
        The package and its status; the flow does nothing more unless it is ``producing``.

    Raises:
        InvalidInput: the latest revision was rejected.
    """
    logger = get_run_logger()
    with session() as s:
        rev = drafts.latest_revision_record(s, draft_id)
        for old in packages.packages_of_draft(s, draft_id):
            if old.revision_id != rev.id and old.status in (
                PackageStatus.IN_REVIEW, PackageStatus.FAILED, PackageStatus.APPROVED, PackageStatus.SCHEDULED
            ):
                packages.set_status(s, old, PackageStatus.SUPERSEDED, actor="system", by_revision=rev.number)
        pkg = packages.live_package_for_revision(s, rev.id)
        if pkg is None:
            if packages.rejected_package_for_revision(s, rev.id) is not None:
                raise InvalidInput(f"revision {rev.number} of draft {draft_id} was rejected; "
                                   "submit a corrected revision before producing again")
            pkg = packages.create_package(s, draft_id=draft_id, revision_id=rev.id, actor="system")
            logger.info("draft %s revision %s: new package %s", draft_id, rev.number, pkg.id)
        elif pkg.status == PackageStatus.FAILED:
            packages.set_status(s, pkg, PackageStatus.PRODUCING, actor="system", resumed=True)
            logger.info("resuming failed package %s", pkg.id)
        if pkg.status == PackageStatus.PRODUCING:
            audit.record(s, actor="system", action="flow.produce", entity="package", entity_id=pkg.id,
                         flow_run_id=str(flow_run.id or ""))
        return ProductionStart(pkg.id, pkg.status, tuple(rev.languages))


@task(task_run_name="texts-{language}", **_RETRY)
def write_texts(package_id: int, language: str) -> bool:
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
    logger = get_run_logger()
    settings = get_settings()
    rev = _revision_of(package_id)
    with session() as s:  # a person's text (a translation, or an edit of any variant) wins over the machine's
        pkg = packages.get_package(s, package_id)
        supplied = translations.latest_translation(s, pkg.revision_id, language)
        if supplied is not None:
            _record_translation(s, package_id, language, supplied)
            logger.info("variant %s: text %s by %s", language, supplied.id, supplied.translator)
            return True
    if language != SOURCE_LANGUAGE:
        entry = translate.translator_for(language, source=SOURCE_LANGUAGE)
        if entry is not None:
            return machine_translate(package_id, language, entry, logger, title=rev.content.title)
        name = LANGUAGES[language].name_en
        reason = (f"awaiting a translation into {name} ({language}): no machine translation is configured "
                  "for it, so a translator must provide the text")
        with session() as s:
            packages.set_variant(s, package_id=package_id, language=language, status=VariantStatus.BLOCKED,
                                 blocked_reason=reason)
        logger.info("variant %s blocked: %s", language, reason)
        return False

    urgent = rev.content.priority is Priority.KHAN_CAP
    prompt = load_prompt(*(URGENT_PROMPT if urgent else SCRIPT_PROMPT))
    with session() as s:  # the station of the target area opens the bulletin
        announcer = framing.announcer(s, list(rev.content.area_codes), requesting_unit=rev.content.requesting_unit)
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
            packages.set_variant(s, package_id=package_id, language=language, status=VariantStatus.BLOCKED,
                                 blocked_reason=f"summary by '{model.name}': {exc}")
            audit.record(s, actor="system", action="summary.failed", entity="package", entity_id=package_id,
                         language=language, model=model.name, engine=model.backend, error=str(exc))
        logger.warning("%s blocked: summary by %s failed: %s", language, model.name, exc)
        return False
    # Every number, date, time, phone and name in what will air must come from the draft (or the frame we add).
    frame_text = prompt.render(body="", **frame)
    for label, text in (("script", summary.script), ("board text", summary.board_text)):
        report = check_faithfulness(text, rev.content.body, allowed_extra=frame_text)
        if not report.ok:
            with session() as s:
                packages.set_variant(s, package_id=package_id, language=language, status=VariantStatus.BLOCKED,
                                     blocked_reason=f"{label}: {report.reason()}")
                audit.record(s, actor="system", action="faithfulness.violation", entity="package",
                             entity_id=package_id, language=language, output=label, **summary.meta(),
                             missing=[f"{f.kind}:{f.text}" for f in report.missing])
            logger.warning("%s %s blocked: %s", language, label, report.reason())
            return False
    script = prompt.render(body=summary.script, **frame)
    spoken = textnorm.normalize_for_speech(script)  # what the voice will read, and what the length is taken on
    generated = {**summary.meta(), "estimated_seconds": round(rate.seconds(spoken), 1),
                 "target_seconds": settings.script_seconds, **rate.to_meta(),
                 "prompt": prompt.ref, "prompt_sha256": prompt.sha256}
    store = object_store()
    script_obj = store.put_bytes(script.encode("utf-8"), ext="txt", media_type="text/plain; charset=utf-8")
    spoken_obj = store.put_bytes(spoken.encode("utf-8"), ext="txt", media_type="text/plain; charset=utf-8")
    board_obj = store.put_bytes(summary.board_text.encode("utf-8"), ext="txt",
                                media_type="text/plain; charset=utf-8")
    with session() as s:
        packages.record_asset(s, package_id=package_id, language=language, kind=AssetKind.SCRIPT,
                              stored=script_obj, meta=generated)
        packages.record_asset(s, package_id=package_id, language=language, kind=AssetKind.SPEECH_TEXT,
                              stored=spoken_obj, meta={"text_normalization": "textnorm",
                                                       "script_sha256": script_obj.sha256,
                                                       "estimated_seconds": generated["estimated_seconds"],
                                                       "target_seconds": settings.script_seconds,
                                                       **rate.to_meta()})
        packages.record_asset(s, package_id=package_id, language=language, kind=AssetKind.BOARD_TEXT,
                              stored=board_obj, meta={**generated, "lines": summary.board_text.count("\n") + 1})
        packages.set_variant(s, package_id=package_id, language=language, status=VariantStatus.READY)
        audit.record(s, actor="system", action="asset.produced", entity="package", entity_id=package_id,
                     language=language, kinds=["script", "speech_text", "board_text"], **generated)
    logger.info("%s script: %.0f s estimated, sentences %s", language, generated["estimated_seconds"],
                list(summary.sentence_indexes))
    return True


def _record_translation(s: Session, package_id: int, language: str, supplied: TranslationRecord) -> None:
    store = object_store()
    meta = {"engine": "human", "translator": supplied.translator, "translation_id": supplied.id}
    titled = {"title": supplied.title} if supplied.title and language != SOURCE_LANGUAGE else {}
    for kind, key in ((AssetKind.SCRIPT, supplied.script_key), (AssetKind.BOARD_TEXT, supplied.board_key)):
        data = store.get_bytes(key)  # verified against its key
        stored = StoredObject(key, hashlib.sha256(data).hexdigest(), len(data), "text/plain; charset=utf-8")
        packages.record_asset(s, package_id=package_id, language=language, kind=kind, stored=stored,
                              meta={**meta, **(titled if kind is AssetKind.BOARD_TEXT else {})})
    packages.set_variant(s, package_id=package_id, language=language, status=VariantStatus.READY,
                         translated_by=supplied.translator)
    audit.record(s, actor="system", action="asset.produced", entity="package", entity_id=package_id,
                 language=language, kinds=["script", "board_text"], **meta)


def _record_recording(s: Session, package_id: int, language: str, recording: RecordingRecord) -> None:
    data_sha = sha256_of_key(recording.key) or ""
    size = len(object_store().get_bytes(recording.key))  # also verifies the bytes against the key
    meta = {"engine": "human", "recorded_by": recording.uploaded_by, "recording_id": recording.id,
            "synthetic": False, "duration_s": round(recording.duration_s, 2)}
    stored = StoredObject(recording.key, data_sha, size, "audio/*")
    packages.record_asset(s, package_id=package_id, language=language, kind=AssetKind.RAW_SPEECH, stored=stored,
                          meta=meta)
    rec = packages.variant_record(s, package_id, language)
    packages.set_variant(s, package_id=package_id, language=language, status=VariantStatus.READY,
                         translated_by=rec.translated_by if rec and rec.translated_by else recording.uploaded_by)
    audit.record(s, actor="system", action="asset.produced", entity="package", entity_id=package_id,
                 language=language, kinds=["raw_speech"], **meta)


@task(task_run_name="speak-{language}", **_RETRY)
def synthesize_speech(package_id: int, language: str) -> bool:
    """Speak the loudspeaker script with the language's TTS voice (kept as an intermediate asset).

    Returns:
        True when speech exists for the variant; False when the variant is not ready, the draft has
        no loudspeaker channel, or no voice exists for the language (the variant is then blocked).
    """
    logger = get_run_logger()
    rev = _revision_of(package_id)
    if Channel.LOUDSPEAKER not in rev.content.channels or not _variant_ready(package_id, language):
        return False
    script_asset = _asset(package_id, language, AssetKind.SCRIPT)
    assert script_asset is not None  # a ready variant always has a script
    raw = _asset(package_id, language, AssetKind.RAW_SPEECH)
    with session() as s:
        revision_id = packages.get_package(s, package_id).revision_id
        recording = translations.latest_recording(s, revision_id, language)
        text = translations.latest_translation(s, revision_id, language)
        if text is not None and recording is not None and text.created_at > recording.created_at:
            recording = None  # the words changed after they were read: speak the new ones
        if recording is not None:  # a person's voice always wins over synthesis
            _record_recording(s, package_id, language, recording)
            logger.info("%s speech: recording %s by %s", language, recording.id, recording.uploaded_by)
            return True
    if _stored(raw) and raw is not None and raw.meta.get("script_sha256") == script_asset.sha256:
        logger.info("%s speech already produced from this script; skipping", language)
        return True
    store = object_store()
    script = store.get_bytes(script_asset.key).decode("utf-8")
    engine = voices.engine_for(language)  # the registry's voice for the language; espeak-ng for vi by default
    with tempfile.TemporaryDirectory(prefix="bantin-tts-") as tmp:
        try:
            # Read abbreviations, numbers, dates, times and units as words; the script itself is unchanged.
            spoken = textnorm.normalize_for_speech(script) if language == SOURCE_LANGUAGE else script
            result = engine.synthesize(spoken, language, Path(tmp) / "speech.wav")
        except VoiceUnavailable as exc:
            # The text still serves the e-boards; only the loudspeakers wait for a person's recording.
            with session() as s:
                rec = packages.variant_record(s, package_id, language)
                packages.set_variant(s, package_id=package_id, language=language, status=VariantStatus.READY,
                                     blocked_reason=f"{exc}: loudspeakers need a person's recording",
                                     translated_by=rec.translated_by if rec else None)
            logger.warning("variant %s has no synthetic voice: %s", language, exc)
            return False
        obj = store.put_file(result.path, ext="wav", media_type="audio/wav")
    meta = {"engine": engine.name, "engine_version": engine.version(), "voice": result.voice,
            "model": result.model, "licence": result.licence,
            "synthetic": result.synthetic, "duration_s": round(result.duration_s, 2),
            "script_sha256": script_asset.sha256, "text_normalization": "textnorm"}
    with session() as s:
        packages.record_asset(s, package_id=package_id, language=language, kind=AssetKind.RAW_SPEECH,
                              stored=obj, meta=meta)
        audit.record(s, actor="system", action="asset.produced", entity="package", entity_id=package_id,
                     language=language, kinds=["raw_speech"], **meta)
    logger.info("%s speech: %.1f s by %s (synthetic)", language, result.duration_s, engine.name)
    return True


@task(task_run_name="loudness-{language}", **_RETRY)
def normalize_audio(package_id: int, language: str) -> bool:
    """Two-pass loudness normalisation to the speech target and MP3 encoding, verified after encoding.

    Returns:
        True when the broadcast audio exists.
    """
    logger = get_run_logger()
    settings = get_settings()
    raw = _asset(package_id, language, AssetKind.RAW_SPEECH)
    if raw is None:
        return False
    existing = _asset(package_id, language, AssetKind.AUDIO)
    if _stored(existing) and existing is not None and existing.meta.get("source_sha256") == raw.sha256:
        logger.info("%s audio already normalised; skipping", language)
        return True
    target = audio.LoudnessTarget(i=settings.loudness_i, tp=settings.loudness_tp, lra=settings.loudness_lra)
    store = object_store()
    with tempfile.TemporaryDirectory(prefix="bantin-loud-") as tmp:
        src = store.download(raw.key, Path(tmp) / "raw.wav")
        report = audio.normalize_to_mp3(src, Path(tmp) / "out.mp3", target=target,
                                        sample_rate=settings.audio_sample_rate, bitrate=settings.audio_bitrate)
        obj = store.put_file(Path(tmp) / "out.mp3", ext="mp3", media_type="audio/mpeg")
    meta = {**report.to_meta(), "engine": f"ffmpeg-{report.method}", "source_sha256": raw.sha256,
            "synthetic": bool(raw.meta.get("synthetic")), "on_target": report.within(0.5)}
    with session() as s:
        packages.record_asset(s, package_id=package_id, language=language, kind=AssetKind.AUDIO, stored=obj,
                              meta=meta)
        audit.record(s, actor="system", action="asset.produced", entity="package", entity_id=package_id,
                     language=language, kinds=["audio"], **meta)
    if not report.within(0.5):
        logger.warning("%s audio measured %.2f LUFS, target %.1f", language, report.output_i, target.i)
    logger.info("%s audio: %.2f LUFS integrated, %.2f dBTP", language, report.output_i, report.output_tp)
    return True


@task(task_run_name="slides-{language}", **_RETRY)
def render_board_slides(package_id: int, language: str) -> int:
    """Render the board text as 1920x1080 slides for e-boards, each with the QR code of the feedback page.

    Returns:
        The number of slides (0 when the draft has no board channel or the variant is not ready).
    """
    logger = get_run_logger()
    settings = get_settings()
    rev = _revision_of(package_id)
    if Channel.BOARD not in rev.content.channels or not _variant_ready(package_id, language):
        return 0
    board = _asset(package_id, language, AssetKind.BOARD_TEXT)
    assert board is not None
    store = object_store()
    body = store.get_bytes(board.key).decode("utf-8")
    priority = rev.content.priority
    # A translated variant shows its own title (kept with its board text), never the Vietnamese one.
    title = rev.content.title if language == SOURCE_LANGUAGE else str(board.meta.get("title") or "")
    with session() as s:
        known = areas.existing_codes(s, list(rev.content.area_codes))
        area = ", ".join(areas.get_area(s, code).name for code in rev.content.area_codes if code in known)
        feedback_url = feedback_link(s, base_url(), list(rev.content.area_codes), package_id)
    with tempfile.TemporaryDirectory(prefix="bantin-slides-") as tmp:
        paths = slides.render_slides(
            title=title, body=body, language_script=LANGUAGES[language].script,
            priority_label=priority.label_vi.upper(), emergency=priority is Priority.KHAN_CAP,
            issuer=rev.content.requesting_unit, area=area, footer=rev.content.source_ref,
            valid_until=rev.content.expires_at, out_dir=Path(tmp), font_dir=settings.font_dir,
            feedback_url=feedback_url,
        )
        stored = [store.put_file(p, ext="png", media_type="image/png") for p in paths]
    meta = {"engine": "pillow-raqm", "width": 1920, "height": 1080, "board_text_sha256": board.sha256,
            "feedback_url": feedback_url}
    with session() as s:
        for n, obj in enumerate(stored):
            packages.record_asset(s, package_id=package_id, language=language, kind=AssetKind.SLIDE,
                                  stored=obj, meta={**meta, "page": n + 1, "pages": len(stored)}, position=n)
        packages.drop_assets_from(s, package_id=package_id, language=language, kind=AssetKind.SLIDE,
                                  position=len(stored))
    logger.info("%s: %d slide(s)", language, len(stored))
    return len(stored)


@task(**_RETRY)
def finalize_package(package_id: int) -> str:
    """Write the manifest, store it, and put the package up for review.

    Returns:
        The manifest hash, the package's identity.
    """
    logger = get_run_logger()
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
    logger.info("package %s in review, manifest %s", package_id, manifest.hash[:12])
    return manifest.hash


@task
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
