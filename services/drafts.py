"""Submitting and revising drafts: validation first, then the source file and the revision are stored.

Audio drafts are transcribed outside any database transaction (transcription takes seconds to minutes
and must not hold a lock): metadata is checked in one short session, the recording is stored and
transcribed, and the draft is written in a second short session.
"""

import json
import tempfile
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.orm import Session

from domain.approvals import Role
from domain.drafts import (
    Channel,
    DraftContent,
    DraftRevision,
    SourceKind,
    check_schedule,
    check_storable,
    clean_text,
    decode_text,
    editor_revision_note,
    is_unreviewed_transcript,
    machine_transcript_note,
    split_title_body,
    transcript_body,
    validate_content,
    validate_metadata,
)
from domain.editions import check_languages_heard
from domain.errors import Forbidden, InvalidInput
from domain.intake import IntakeResult
from domain.intake_policy import apply_intake, kept_lines_note, kept_lines_of
from domain.languages import SOURCE_LANGUAGE, draft_languages
from domain.priority import parse_priority
from engines import asr, ffmpeg
from services import auth, intake
from storage.models import UserRecord
from storage.objects import ObjectStore, StoredObject
from storage.repositories import areas, audit, drafts, users

SessionFactory = Callable[[], AbstractContextManager[Session]]
Transcriber = Callable[..., asr.Transcript]

MAX_TEXT_FILE_BYTES = 2 * 1024 * 1024
AUDIO_MEDIA_TYPES = {".mp3": "audio/mpeg", ".wav": "audio/wav", ".m4a": "audio/mp4", ".ogg": "audio/ogg",
                     ".oga": "audio/ogg", ".opus": "audio/ogg", ".flac": "audio/flac", ".aac": "audio/aac",
                     ".amr": "audio/amr", ".wma": "audio/x-ms-wma"}
AUDIO_SUFFIXES = set(AUDIO_MEDIA_TYPES)
MAX_AUDIO_FILE_BYTES = 500 * 1024 * 1024
# A draft body holds at most 30 000 characters, about 30 minutes of speech; longer recordings belong to
# the archive, whose ingest transcribes in bounded memory without making a draft.
MAX_AUDIO_DRAFT_SECONDS = 30 * 60


@dataclass(frozen=True, slots=True)
class DraftRequest:
    """A draft as an entry point receives it: raw strings, validated by :func:`submit_text_draft`."""

    body: str
    area_codes: list[str]
    languages: str | list[str]
    priority: str
    author: str
    title: str = ""
    channels: tuple[Channel, ...] = (Channel.LOUDSPEAKER, Channel.BOARD)
    source_ref: str = ""
    requesting_unit: str = ""
    embargo_at: datetime | None = None
    expires_at: datetime | None = None
    confirm_cleaning: bool = False  # the editor accepts that cleaning removed more than half of the lines
    keep_lines: tuple[int, ...] = ()  # lines (from 1) kept although a cleaning rule matched them


def read_text_file(path: Path) -> str:
    """Read a draft file as UTF-8 text, with clear errors for the ways that goes wrong.

    Raises:
        InvalidInput: missing, a directory, too big, an audio file, or not UTF-8.
    """
    if not path.exists():
        raise InvalidInput(f"file not found: {path}")
    if not path.is_file():
        raise InvalidInput(f"not a regular file: {path}")
    if is_audio(path):
        raise InvalidInput(f"{path.name} is an audio recording, not a text file")
    size = path.stat().st_size
    if size > MAX_TEXT_FILE_BYTES:
        raise InvalidInput(f"{path.name} is {size} bytes; a text draft may be at most {MAX_TEXT_FILE_BYTES}")
    return decode_text(path.read_bytes(), source=path.name)


def submit_text_draft(session: Session, store: ObjectStore, req: DraftRequest,
                      *, now: datetime | None = None) -> DraftRevision:
    """Validate and store a text draft as revision 1 of a new draft (see :func:`submit_cleaned_text_draft`)."""
    return submit_cleaned_text_draft(session, store, req, now=now)[0]


def submit_cleaned_text_draft(session: Session, store: ObjectStore, req: DraftRequest,
                              *, now: datetime | None = None) -> tuple[DraftRevision, IntakeResult]:
    """Clean, validate and store a text draft as revision 1 of a new draft.

    Web boilerplate is removed by the intake rules and reported (see :mod:`domain.intake`). If ``req.title``
    is empty, the headline is taken from the cleaned text. The original text is kept in the object store
    (content-addressed, the revision's ``source_key``) so what the editor sent can always be recovered.

    Returns:
        The revision and the cleaning result (removed lines, the article's date).

    Raises:
        InvalidInput: with the first problem found; nothing is stored in that case. Its subclasses
            ``DraftAllBoilerplate``, ``TitleNeeded`` and ``CleaningNeedsConfirmation`` carry the cleaning result.
        NotFound: the author does not exist.
    """
    author = _editor(session, req.author, req.area_codes)
    check_storable(req.title, "title")
    check_storable(req.body, "body")
    title, body, cleaning = apply_intake(req.body, req.title, intake.rules(), keep=frozenset(req.keep_lines),
                                         confirmed=req.confirm_cleaning)
    content = validate_content(
        DraftContent(
            title=title,
            body=body,
            area_codes=tuple(c.strip() for c in req.area_codes if c.strip()),
            languages=draft_languages(req.languages),
            priority=parse_priority(req.priority),
            channels=req.channels,
            source_ref=req.source_ref,
            requesting_unit=req.requesting_unit,
            embargo_at=req.embargo_at,
            expires_at=req.expires_at,
        ),
        known_areas=areas.existing_codes(session, [c.strip() for c in req.area_codes]),
    )
    check_schedule(content, now or datetime.now(UTC))
    check_languages_heard(content.languages, content.area_codes, auth.area_tree(session))
    source = store.put_bytes(req.body.encode("utf-8"), ext="txt", media_type="text/plain; charset=utf-8")
    revision = drafts.create_draft(session, content=content, author=author.username,
                                   source_kind=SourceKind.TEXT, source_key=source.key,
                                   note=kept_lines_note(req.keep_lines))
    audit.record(session, actor=author.username, action="draft.submitted", entity="draft",
                 entity_id=revision.draft_id, revision=revision.number, content_hash=content.content_hash(),
                 source_key=source.key, cleaning_rules=cleaning.rules_version,
                 removed_lines=[r.number for r in cleaning.removed], kept_lines=list(req.keep_lines),
                 article_date=cleaning.article_date.isoformat() if cleaning.article_date else None)
    return revision, cleaning


def is_audio(path: Path) -> bool:
    """Audio drafts are recognised by the file's extension."""
    return path.suffix.lower() in AUDIO_SUFFIXES


def _editor(session: Session, username: str, area_codes: Sequence[str]) -> UserRecord:
    """The author, if they may write drafts for every target area (an editor of another commune may not:
    the web, the API, the CLI and templates all come through here). Unknown codes are left to validation,
    which names them.

    Raises:
        InvalidInput: nobody named.
        NotFound: unknown or disabled user.
        Forbidden: no editor role, or not for these areas.
    """
    author = auth.acting_user(session, username, what="submit or edit drafts")
    if not ({Role.EDITOR, Role.ADMIN} & users.roles_of(author)):
        raise Forbidden(f"user '{username}' may not submit or edit drafts (needs the editor role)")
    tree = auth.area_tree(session)
    known = [c.strip() for c in area_codes if c.strip() in tree]
    if known and not auth.can(session, author, "draft.create", area_codes=known):
        raise Forbidden(f"user '{username}' may not submit or edit drafts for {', '.join(known)} "
                        "(an editor of another area)")
    return author


def check_recording(path: Path) -> ffmpeg.MediaInfo:
    """Check an uploaded recording before anything is stored.

    Raises:
        InvalidInput: missing, not a file, too big or too long for a draft.
        MediaError: empty (0 bytes), corrupt, or without an audio stream.
    """
    if not path.exists():
        raise InvalidInput(f"file not found: {path}")
    if not path.is_file():
        raise InvalidInput(f"not a regular file: {path}")
    size = path.stat().st_size
    if size > MAX_AUDIO_FILE_BYTES:
        raise InvalidInput(f"{path.name} is {size} bytes; a recording may be at most {MAX_AUDIO_FILE_BYTES}")
    info = ffmpeg.probe(path)
    if info.duration_s > MAX_AUDIO_DRAFT_SECONDS:
        raise InvalidInput(f"{path.name} lasts {info.duration_s / 60:.0f} minutes; an audio draft may last at "
                           f"most {MAX_AUDIO_DRAFT_SECONDS // 60} minutes (cut it into separate bulletins)")
    return info


def _store_transcript(store: ObjectStore, transcript: asr.Transcript) -> StoredObject:
    data = json.dumps(transcript.to_dict(), ensure_ascii=False, sort_keys=True, indent=1).encode("utf-8")
    return store.put_bytes(data, ext="json", media_type="application/json")


def _transcript_text(transcript: asr.Transcript, source: str) -> str:
    body = transcript_body([(s.start, s.end, s.text) for s in transcript.segments])
    if len(body) < MIN_TRANSCRIPT_CHARS:
        raise InvalidInput(f"the transcript of {source} is too short ({len(body)} characters: '{body}'); "
                           "record the whole announcement, or submit it as text")
    return body


MIN_TRANSCRIPT_CHARS = 20


def submit_audio_draft(
    open_session: SessionFactory, store: ObjectStore, req: DraftRequest, recording: Path,
    *, transcribe: Transcriber = asr.transcribe,
) -> tuple[DraftRevision, asr.Transcript]:
    """Store a recording, transcribe it, and create a draft whose revision 1 is the machine transcript.

    The revision's source is the recording (kept, content-addressed) and its note marks the text as an
    unreviewed machine transcript for the editor to correct (``edit_draft``). The timed segments are
    stored as JSON next to it. ``req.body`` is ignored; ``req.title`` defaults to the file name.

    Raises:
        InvalidInput: bad metadata, user, file or duration; nothing is stored in that case.
        MediaError: corrupt, empty or speechless audio (a speechless recording stays stored).
        NotFound: the author does not exist.
        ModelUnavailable, ModelChecksumMismatch: the ASR model cannot be used.
    """
    with open_session() as s:
        _editor(s, req.author, req.area_codes)
        metadata = validate_metadata(_content(req, title="", body=""),
                                     known_areas=areas.existing_codes(s, [c.strip() for c in req.area_codes]))
        check_schedule(metadata, datetime.now(UTC))
        check_languages_heard(metadata.languages, metadata.area_codes, auth.area_tree(s))
    check_recording(recording)
    stored = store.put_file(recording, ext=recording.suffix.lstrip(".").lower(),
                            media_type=AUDIO_MEDIA_TYPES[recording.suffix.lower()])
    transcript = transcribe(recording, language=SOURCE_LANGUAGE)
    title = req.title or f"Ghi âm {recording.stem}"[:200]
    content = validate_content(replace(metadata, title=title, body=_transcript_text(transcript, recording.name)),
                               known_areas=set(metadata.area_codes))
    segments = _store_transcript(store, transcript)
    note = machine_transcript_note(engine=transcript.engine, model=transcript.model, language=transcript.language,
                                   transcript_key=segments.key)
    with open_session() as s:
        author = _editor(s, req.author, req.area_codes)
        revision = drafts.create_draft(s, content=content, author=author.username, source_kind=SourceKind.AUDIO,
                                       source_key=stored.key, note=note)
        audit.record(s, actor=author.username, action="draft.submitted", entity="draft",
                     entity_id=revision.draft_id, revision=revision.number, content_hash=content.content_hash(),
                     source_key=stored.key, **_provenance(transcript, segments.key))
    return revision, transcript


def _provenance(transcript: asr.Transcript, segments_key: str) -> dict[str, object]:
    return {"transcript_key": segments_key, "engine": transcript.engine, "engine_version": transcript.engine_version,
            "model": transcript.model, "model_sha256": transcript.model_sha256, "language": transcript.language,
            "duration_s": transcript.duration_s}


def _content(req: DraftRequest, *, title: str, body: str) -> DraftContent:
    return DraftContent(
        title=title, body=body, area_codes=tuple(c.strip() for c in req.area_codes if c.strip()),
        languages=draft_languages(req.languages), priority=parse_priority(req.priority), channels=req.channels,
        source_ref=req.source_ref, requesting_unit=req.requesting_unit, embargo_at=req.embargo_at,
        expires_at=req.expires_at,
    )


def edit_draft(session: Session, store: ObjectStore, *, draft_id: int, text: str, author: str) -> DraftRevision:
    """Append a revision with new title and body (first line and the rest of ``text``).

    Targeting, languages and priority stay as in the latest revision. An audio draft's revision keeps the
    recording as its source, now marked as checked by the editor. The text as sent is kept in the store.

    Raises:
        InvalidInput: invalid text, an unchanged text, or a user without the editor role.
        NotFound: no such draft or user.
    """
    latest = drafts.latest_revision(session, draft_id)
    user = _editor(session, author, latest.content.area_codes)
    title, body = split_title_body(text)
    content = validate_content(replace(latest.content, title=title, body=body),
                               known_areas=areas.existing_codes(session, list(latest.content.area_codes)))
    if content.content_hash() == latest.content.content_hash():
        raise InvalidInput(f"nothing changed: the text is the same as revision {latest.number} of draft {draft_id}")
    sent = store.put_bytes(text.encode("utf-8"), ext="txt", media_type="text/plain; charset=utf-8")
    audio = latest.source_kind is SourceKind.AUDIO
    revision = drafts.add_revision(
        session, draft_id=draft_id, content=content, author=user.username,
        source_kind=latest.source_kind if audio else SourceKind.TEXT,
        source_key=latest.source_key if audio else sent.key,
        note=editor_revision_note(user.username, of_transcript=audio),
    )
    audit.record(session, actor=user.username, action="draft.revised", entity="draft", entity_id=draft_id,
                 revision=revision.number, content_hash=content.content_hash(), text_key=sent.key)
    return revision


def require_title(title: str) -> None:
    """A form with a title field must not leave it empty (a text file's title is its first line instead).

    Raises:
        InvalidInput: the title is blank.
    """
    if not clean_text(title):
        raise InvalidInput("the draft has no title")


def edit_draft_fields(session: Session, store: ObjectStore, *, draft_id: int, title: str, body: str,
                      author: str) -> DraftRevision:
    """:func:`edit_draft` from separate title and body fields: an empty title is named as such, rather than
    the body's first line silently becoming the title.

    Raises:
        InvalidInput: as :func:`edit_draft`, or a blank title.
    """
    require_title(title)
    return edit_draft(session, store, draft_id=draft_id, text=f"{clean_text(title)}\n{body}", author=author)


def retranscribe_draft(
    open_session: SessionFactory, store: ObjectStore, draft_id: int,
    *, force: bool = False, transcribe: Transcriber = asr.transcribe,
) -> DraftRevision:
    """Transcribe an audio draft's recording again (e.g. with a newly registered model).

    A new revision is appended only if the text differs; running it twice changes nothing. An editor's
    corrected revision is never buried under a machine transcript unless ``force`` is given.

    Returns:
        The draft's latest revision afterwards.

    Raises:
        InvalidInput: a text draft, an editor's revision without ``force``, or a concurrent edit.
        MediaError, ModelUnavailable, ModelChecksumMismatch: as for :func:`submit_audio_draft`.
    """
    with open_session() as s:
        latest = drafts.latest_revision(s, draft_id)
    if latest.source_kind is not SourceKind.AUDIO or not latest.source_key:
        raise InvalidInput(f"draft {draft_id} has no recording to transcribe")
    if not force and not is_unreviewed_transcript(latest):
        raise InvalidInput(f"revision {latest.number} of draft {draft_id} holds an editor's corrections; "
                           "transcribing again would replace them (force it to do so anyway)")
    with tempfile.TemporaryDirectory(prefix="bantin-asr-") as tmp:
        local = store.download(latest.source_key, Path(tmp) / f"recording{Path(latest.source_key).suffix}")
        transcript = transcribe(local, language=SOURCE_LANGUAGE)
    content = validate_content(replace(latest.content, body=_transcript_text(transcript, f"draft {draft_id}")),
                               known_areas=set(latest.content.area_codes))
    with open_session() as s:
        current = drafts.latest_revision(s, draft_id)
        if current.number != latest.number:
            raise InvalidInput(f"draft {draft_id} changed while it was being transcribed; run it again")
        if content.content_hash() == current.content.content_hash() and is_unreviewed_transcript(current):
            return current  # same model, same text: nothing to add
        segments = _store_transcript(store, transcript)
        revision = drafts.add_revision(
            s, draft_id=draft_id, content=content, author="system", source_kind=SourceKind.AUDIO,
            source_key=latest.source_key,
            note=machine_transcript_note(engine=transcript.engine, model=transcript.model,
                                         language=transcript.language, transcript_key=segments.key),
        )
        audit.record(s, actor="system", action="draft.transcribed", entity="draft", entity_id=draft_id,
                     revision=revision.number, content_hash=content.content_hash(), source_key=latest.source_key,
                     **_provenance(transcript, segments.key))
    return revision


def keep_removed_lines(session: Session, store: ObjectStore, *, draft_id: int, lines: list[int],
                       author: str) -> DraftRevision:
    """Put back lines that cleaning removed ("keep this line"): a new revision cleaned again from the
    original text with those lines kept. The title and targeting stay as in the latest revision.

    Raises:
        InvalidInput: the latest revision has no cleaned original (an audio draft or an editor's edit),
            a line number that cleaning did not remove, or a user without the editor role.
        NotFound: no such draft or user.
    """
    latest = drafts.latest_revision(session, draft_id)
    user = _editor(session, author, latest.content.area_codes)
    report = intake.report_of(store, latest)
    if report is None:
        raise InvalidInput(f"revision {latest.number} of draft {draft_id} was not cleaned from a pasted text; "
                           "edit the text instead")
    removed = {r.number for r in report.removed}
    unknown = sorted(set(lines) - removed)
    if not lines or unknown:
        raise InvalidInput(f"line(s) {', '.join(map(str, unknown)) or '-'} were not removed by cleaning")
    keep = kept_lines_of(latest.note) | set(lines)
    assert latest.source_key is not None  # report_of returns None without one
    original = decode_text(store.get_bytes(latest.source_key), source="the original text")
    cleaned = intake.clean(original, keep=frozenset(keep))
    title_line = cleaned.title if cleaned.title.casefold() == latest.content.title.casefold() else ""
    body = cleaned.body if title_line else cleaned.text
    content = validate_content(replace(latest.content, body=body),
                               known_areas=areas.existing_codes(session, list(latest.content.area_codes)))
    revision = drafts.add_revision(session, draft_id=draft_id, content=content, author=user.username,
                                   source_kind=SourceKind.TEXT, source_key=latest.source_key,
                                   note=kept_lines_note(tuple(sorted(keep))))
    audit.record(session, actor=user.username, action="draft.lines_kept", entity="draft", entity_id=draft_id,
                 revision=revision.number, content_hash=content.content_hash(), kept_lines=sorted(keep))
    return revision
