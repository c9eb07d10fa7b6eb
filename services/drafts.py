"""Submitting drafts: validation first, then the source file and the revision are stored together."""

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from domain.approvals import Role
from domain.drafts import (
    Channel,
    DraftContent,
    DraftRevision,
    SourceKind,
    decode_text,
    split_title_body,
    validate_content,
)
from domain.errors import InvalidInput
from domain.languages import parse_languages
from domain.priority import parse_priority
from storage.objects import ObjectStore
from storage.repositories import areas, audit, drafts, users

MAX_TEXT_FILE_BYTES = 2 * 1024 * 1024
AUDIO_SUFFIXES = {".mp3", ".wav", ".m4a", ".ogg", ".oga", ".opus", ".flac", ".aac", ".amr", ".wma"}


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


def read_text_file(path: Path) -> str:
    """Read a draft file as UTF-8 text, with clear errors for the ways that goes wrong.

    Raises:
        InvalidInput: missing, a directory, too big, an audio file, or not UTF-8.
    """
    if not path.exists():
        raise InvalidInput(f"file not found: {path}")
    if not path.is_file():
        raise InvalidInput(f"not a regular file: {path}")
    if path.suffix.lower() in AUDIO_SUFFIXES:
        raise InvalidInput(
            f"{path.name} is an audio recording; audio drafts need the transcription engine, "
            "which is not installed in this version — submit the text instead"
        )
    size = path.stat().st_size
    if size > MAX_TEXT_FILE_BYTES:
        raise InvalidInput(f"{path.name} is {size} bytes; a text draft may be at most {MAX_TEXT_FILE_BYTES}")
    return decode_text(path.read_bytes(), source=path.name)


def submit_text_draft(session: Session, store: ObjectStore, req: DraftRequest) -> DraftRevision:
    """Validate and store a text draft as revision 1 of a new draft.

    If ``req.title`` is empty, the first line of the body becomes the title. The original text is kept in
    the object store (content-addressed) so what the editor sent can always be recovered.

    Raises:
        InvalidInput: with the first problem found; nothing is stored in that case.
        NotFound: the author does not exist.
    """
    author = users.get_user(session, req.author)
    if not ({Role.EDITOR, Role.ADMIN} & users.roles_of(author)):
        raise InvalidInput(f"user '{req.author}' may not submit drafts (needs the editor role)")
    title, body = req.title, req.body
    if not title:
        title, body = split_title_body(req.body)
    content = validate_content(
        DraftContent(
            title=title,
            body=body,
            area_codes=tuple(c.strip() for c in req.area_codes if c.strip()),
            languages=parse_languages(req.languages),
            priority=parse_priority(req.priority),
            channels=req.channels,
            source_ref=req.source_ref,
            requesting_unit=req.requesting_unit,
            embargo_at=req.embargo_at,
            expires_at=req.expires_at,
        ),
        known_areas=areas.existing_codes(session, [c.strip() for c in req.area_codes]),
    )
    source = store.put_bytes(req.body.encode("utf-8"), ext="txt", media_type="text/plain; charset=utf-8")
    revision = drafts.create_draft(session, content=content, author=author.username,
                                   source_kind=SourceKind.TEXT, source_key=source.key)
    audit.record(session, actor=author.username, action="draft.submitted", entity="draft",
                 entity_id=revision.draft_id, revision=revision.number, content_hash=content.content_hash(),
                 source_key=source.key)
    return revision

