"""A person in the loop after production: corrected text for one variant, or their own voice for it.

Either makes a new package of the same revision: the other variants' assets are carried over unchanged,
the old package is superseded (its approvals were bound to its manifest hash, so they do not carry over),
and the caller starts the ``revise`` flow, which speaks, normalises and renders only the changed variant and
writes the new manifest. Nothing already stored is touched by a refusal: every check runs before any write.

Who may: an editor or a translator of the language (``variant.edit``) or an approver of the areas
(``package.approve``: a correction before approving). Whoever changes the words or reads them becomes one of
the package's authors, so another approver signs off (four eyes).
When: while the package is in review, approved or scheduled; never once it is published, withdrawn,
rejected, superseded or still being produced.
"""

import mimetypes
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from domain.drafts import clean_text
from domain.errors import ApprovalRefused, InvalidInput, NotFound
from domain.languages import SOURCE_LANGUAGE
from domain.packages import AssetKind, PackageStatus, VariantStatus
from domain.variant_text import TextBudget, budget, text_diff
from engines import recording_check, textnorm
from engines.speaking_rate import speaking_rate
from services import auth
from settings import get_settings
from storage.models import PackageRecord, UserRecord
from storage.objects import ObjectStore, StoredObject
from storage.repositories import audit, drafts, packages, translations, users

MAX_SCRIPT_CHARS = 10_000
MAX_BOARD_CHARS = 2_000
EDITABLE = (PackageStatus.IN_REVIEW, PackageStatus.APPROVED, PackageStatus.SCHEDULED)
TEXT = "text/plain; charset=utf-8"
# A recording is refused when it is quieter than this (RMS) or its peak never rises above -40 dBFS ...
SILENT_RMS_DBFS = -50.0
SILENT_PEAK_DBFS = -40.0
CLIPPED_RATIO = 0.001  # ... or more than 0.1% of its samples sit at the converter's ceiling ...
LONG_FACTOR = 2.0  # ... or it lasts more than twice the script's time budget.
MIN_VOICE_SECONDS = 1.0


@dataclass(frozen=True, slots=True)
class TextEdit:
    package_id: int
    language: str
    script: str
    board_text: str
    editor: str


@dataclass(frozen=True, slots=True)
class VoiceRecording:
    package_id: int
    language: str
    path: Path
    recorded_by: str


@dataclass(frozen=True, slots=True)
class Revision:
    """The new package to revise (the caller starts the ``revise`` flow for it) and the edit's budget."""

    package_id: int
    language: str
    budget: TextBudget | None = None


def _editable(session: Session, package_id: int, language: str, username: str) -> tuple[PackageRecord, UserRecord]:
    pkg = packages.get_package(session, package_id)
    rev = drafts.revision_by_id(session, pkg.revision_id)
    if language not in rev.content.languages:
        raise NotFound(f"this bulletin has no '{language}' variant")
    user = users.get_user(session, username)
    areas = list(rev.content.area_codes)
    if not (auth.can(session, user, "variant.edit", area_codes=areas, language=language)
            or auth.can(session, user, "package.approve", area_codes=areas)):
        raise ApprovalRefused(f"user '{username}' may not change the {language} variant for these areas")
    if PackageStatus(pkg.status) not in EDITABLE:
        raise ApprovalRefused(f"the package is '{pkg.status}'; it can be changed only while in review, approved "
                              "or scheduled")
    variant = packages.variant_record(session, pkg.id, language)
    if variant is None or variant.status != VariantStatus.READY.value:
        raise ApprovalRefused(f"the {language} variant has no text yet: translate it first")
    return pkg, user


def check_editable(session: Session, package_id: int, language: str, username: str) -> None:
    """Refuse before anyone types (same rules as saving). Raises NotFound or ApprovalRefused."""
    _editable(session, package_id, language, username)


def edit_forfeits_approval(session: Session, package_id: int, username: str) -> bool:
    """Whether the user may approve this package but would not after changing one of its variants (the changed
    package counts them among its authors, so another approver signs it off): to warn them before they save."""
    user = users.get_user(session, username)
    return auth.can(session, user, "package.approve", area_codes=auth.package_area_codes(session, package_id))


def current_texts(session: Session, store: ObjectStore, package_id: int, language: str) -> tuple[str, str]:
    """The variant's loudspeaker script and board text as they are now. Raises NotFound: no such package."""
    packages.get_package(session, package_id)
    out = []
    for kind in (AssetKind.SCRIPT, AssetKind.BOARD_TEXT):
        asset = packages.get_asset(session, package_id=package_id, language=language, kind=kind)
        out.append(store.get_bytes(asset.key).decode("utf-8") if asset is not None else "")
    return out[0], out[1]


def spoken_text(script: str, language: str) -> str:
    """What the voice reads: numbers, dates, times and acronyms in words (Vietnamese only)."""
    return textnorm.normalize_for_speech(script) if language == SOURCE_LANGUAGE else script


def text_budget(script: str, board_text: str, language: str) -> TextBudget:
    s = get_settings()
    return budget(spoken_text(script, language), board_text, target_seconds=s.script_seconds,
                  target_lines=s.board_lines, rate=speaking_rate(s))


def _fork(session: Session, old: PackageRecord, language: str, keep: frozenset[AssetKind], *, actor: str,
          reason: str, **detail: object) -> PackageRecord:
    """Supersede ``old`` and open a new package of the same revision with every other variant as it was,
    and of ``language`` only the assets of the kinds in ``keep``."""
    packages.set_status(session, old, PackageStatus.SUPERSEDED, actor=actor, reason=reason, **detail)
    new = packages.create_package(session, draft_id=old.draft_id, revision_id=old.revision_id, actor=actor)
    for a in packages.assets_of(session, old.id):
        if a.language != language or AssetKind(a.kind) in keep:
            packages.record_asset(session, package_id=new.id, language=a.language, kind=AssetKind(a.kind),
                                  stored=StoredObject(a.key, a.sha256, a.size, a.media_type), meta=dict(a.meta),
                                  position=a.position)
    for v in packages.variants_of(session, old.id):
        rec = packages.variant_record(session, old.id, v.language)
        packages.set_variant(session, package_id=new.id, language=v.language, status=v.status,
                             blocked_reason=v.blocked_reason, translated_by=rec.translated_by if rec else None)
    audit.record(session, actor=actor, action="package.revising", entity="package", entity_id=new.id,
                 replaces=old.id, language=language, reason=reason)
    return new


def edit_text(session: Session, store: ObjectStore, req: TextEdit) -> Revision:
    """Replace a variant's loudspeaker script and board text with a person's version.

    Over-budget text is accepted and reported in the returned budget (and the audit entry), never cut.

    Raises:
        InvalidInput: an empty or oversized text, or nothing changed.
        NotFound: no such package or variant.
        ApprovalRefused: the user may not edit here, or the package is not in an editable state.
    """
    script, board = clean_text(req.script), clean_text(req.board_text)
    if not script or not board:
        raise InvalidInput("both the loudspeaker script and the board text are needed")
    if len(script) > MAX_SCRIPT_CHARS or len(board) > MAX_BOARD_CHARS:
        raise InvalidInput(f"the script may have {MAX_SCRIPT_CHARS} characters and the board text {MAX_BOARD_CHARS}")
    old, user = _editable(session, req.package_id, req.language, req.editor)
    before_script, before_board = current_texts(session, store, old.id, req.language)
    diff = "\n".join(d for d in (text_diff(before_script, script, label="script"),
                                 text_diff(before_board, board, label="board_text")) if d)
    if not diff:
        raise InvalidInput("nothing was changed")
    spoken = spoken_text(script, req.language)
    bud = text_budget(script, board, req.language)
    old_board = packages.get_asset(session, package_id=old.id, language=req.language, kind=AssetKind.BOARD_TEXT)
    title = str(old_board.meta.get("title") or "") if old_board is not None else ""  # a translation keeps its title
    script_obj = store.put_bytes(script.encode("utf-8"), ext="txt", media_type=TEXT)
    board_obj = store.put_bytes(board.encode("utf-8"), ext="txt", media_type=TEXT)
    spoken_obj = store.put_bytes(spoken.encode("utf-8"), ext="txt", media_type=TEXT)
    # Kept per revision like a translation, so a rerun of production keeps the person's words.
    supplied = translations.add_translation(session, revision_id=old.revision_id, language=req.language,
                                            script_key=script_obj.key, board_key=board_obj.key,
                                            translator=user.username, title=title)
    new = _fork(session, old, req.language, frozenset(), actor=user.username,
                reason=f"text of the {req.language} variant edited", translation_id=supplied.id)
    meta = {"engine": "human", "edited_by": user.username, "translator": user.username,
            "translation_id": supplied.id, **bud.to_meta()}
    packages.record_asset(session, package_id=new.id, language=req.language, kind=AssetKind.SCRIPT,
                          stored=script_obj, meta=meta)
    packages.record_asset(session, package_id=new.id, language=req.language, kind=AssetKind.BOARD_TEXT,
                          stored=board_obj,
                          meta={**meta, "lines": bud.board_lines} | ({"title": title} if title else {}))
    if req.language == SOURCE_LANGUAGE:
        packages.record_asset(session, package_id=new.id, language=req.language, kind=AssetKind.SPEECH_TEXT,
                              stored=spoken_obj, meta={"text_normalization": "textnorm",
                                                       "script_sha256": script_obj.sha256, **bud.to_meta()})
    packages.set_variant(session, package_id=new.id, language=req.language, status=VariantStatus.READY,
                         translated_by=user.username)
    audit.record(session, actor=user.username, action="variant.text_edited", entity="package", entity_id=new.id,
                 replaces=old.id, language=req.language, diff=diff, translation_id=supplied.id,
                 script_key=script_obj.key, board_key=board_obj.key, **bud.to_meta())
    return Revision(new.id, req.language, bud)


def check_voice(levels: recording_check.RecordingLevels, max_seconds: float) -> None:
    """Refuse a recording that would not serve on air. Raises InvalidInput with the reason."""
    if levels.duration_s < MIN_VOICE_SECONDS:
        raise InvalidInput("the recording is too short: nothing was recorded")
    if levels.rms_dbfs < SILENT_RMS_DBFS or levels.peak_dbfs < SILENT_PEAK_DBFS:
        raise InvalidInput("the recording is silent: check the microphone and record again")
    if levels.clipped_ratio > CLIPPED_RATIO:
        raise InvalidInput("the recording is clipped (too loud, distorted): hold the phone further away "
                           "and record again")
    if levels.duration_s > max_seconds:
        raise InvalidInput(f"the recording lasts {levels.duration_s:.0f} s; at most {max_seconds:.0f} s "
                           "are accepted for this script")


def record_voice(session: Session, store: ObjectStore, req: VoiceRecording) -> Revision:
    """Replace a variant's synthetic voice with a person's recording (normalised like any recording by the
    ``revise`` flow).

    Raises:
        InvalidInput: silent, clipped, too short or too long (for the script's time budget).
        MediaError: not readable audio.
        NotFound, ApprovalRefused: as for :func:`edit_text`.
    """
    old, user = _editable(session, req.package_id, req.language, req.recorded_by)
    levels = recording_check.measure(req.path)  # MediaError for empty or corrupt files
    script, _ = current_texts(session, store, old.id, req.language)
    target = get_settings().script_seconds
    estimate = text_budget(script, "", req.language).script_seconds
    check_voice(levels, LONG_FACTOR * max(target, estimate))
    ext = req.path.suffix.lstrip(".").lower()
    obj = store.put_file(req.path, ext=ext if ext.isalnum() and len(ext) <= 8 else "bin",
                         media_type=mimetypes.guess_type(req.path.name)[0] or "application/octet-stream")
    rec = translations.add_recording(session, revision_id=old.revision_id, language=req.language, key=obj.key,
                                     duration_s=levels.duration_s, uploaded_by=user.username)
    keep = frozenset({AssetKind.SCRIPT, AssetKind.BOARD_TEXT, AssetKind.SPEECH_TEXT, AssetKind.SLIDE})
    new = _fork(session, old, req.language, keep, actor=user.username,
                reason=f"recording of the {req.language} variant supplied", recording_id=rec.id)
    audit.record(session, actor=user.username, action="recording.submitted", entity="package", entity_id=new.id,
                 replaces=old.id, language=req.language, recording_id=rec.id, key=obj.key, **levels.to_meta())
    return Revision(new.id, req.language)


def start_revision(session: Session, package_id: int, language: str, *, flow_run_id: str) -> bool:
    """Whether the revise flow should go on: true (and audited as ``flow.revise`` run ``flow_run_id``) while
    the package made by :func:`edit_text` or :func:`record_voice` is being produced; a package already in
    review or replaced is left as it is, so a second run of the flow changes nothing."""
    if packages.get_package(session, package_id).status != PackageStatus.PRODUCING:
        return False
    audit.record(session, actor="system", action="flow.revise", entity="package", entity_id=package_id,
                 language=language, flow_run_id=flow_run_id)
    return True
