"""Drafts and their immutable revisions.

A draft is an editor's request for a bulletin. Its content lives in revisions: each edit appends one,
nothing is overwritten, and every package names the revision it was produced from.
"""

import unicodedata
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum

from domain.canonical import canonical_json, sha256_hex
from domain.errors import InvalidInput
from domain.priority import Priority

MAX_TITLE_CHARS = 200
MAX_BODY_CHARS = 30_000
MIN_BODY_CHARS = 20


class Channel(StrEnum):
    LOUDSPEAKER = "loudspeaker"  # truyền thanh cơ sở
    BOARD = "board"  # bảng tin điện tử


class SourceKind(StrEnum):
    TEXT = "text"
    AUDIO = "audio"


@dataclass(frozen=True, slots=True)
class DraftContent:
    """What an editor submits; validated by :func:`validate_content` before anything is stored."""

    title: str
    body: str
    area_codes: tuple[str, ...]
    languages: tuple[str, ...]
    priority: Priority
    channels: tuple[Channel, ...] = (Channel.LOUDSPEAKER, Channel.BOARD)
    source_ref: str = ""  # số/ký hiệu văn bản nguồn, e.g. "125/TB-UBND"
    requesting_unit: str = ""  # đơn vị đề nghị
    embargo_at: datetime | None = None
    expires_at: datetime | None = None

    def content_hash(self) -> str:
        """SHA-256 of the canonical form; equal content gives an equal hash."""
        data = asdict(self)
        for key in ("embargo_at", "expires_at"):
            data[key] = data[key].isoformat() if data[key] else None
        return sha256_hex(canonical_json(data))


@dataclass(frozen=True, slots=True)
class DraftRevision:
    draft_id: int
    number: int
    content: DraftContent
    author: str
    created_at: datetime
    source_kind: SourceKind = SourceKind.TEXT
    source_key: str | None = None  # object key of an uploaded source file (audio recording, original text)
    note: str = ""
    extra: dict[str, str] = field(default_factory=dict)


def clean_text(text: str) -> str:
    """Normalise to NFC (Vietnamese diacritics arrive composed or decomposed), drop control characters,
    unify line ends and collapse runs of spaces; paragraph breaks are kept."""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch)[0] != "C")
    lines = [" ".join(line.replace("\t", " ").split()) for line in text.split("\n")]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip()


MAX_SCHEDULE_AHEAD = timedelta(days=366)  # embargoes and expiries further out are typing mistakes (year 9999)


def check_storable(value: str, field: str) -> str:
    """Refuse text no database stores faithfully: NUL characters and lone UTF-16 surrogates (JSON's
    ``"\\ud800"`` escapes), which UTF-8 cannot encode.

    Raises:
        InvalidInput: naming the field.
    """
    if "\x00" in value or any("\ud800" <= ch <= "\udfff" for ch in value):
        raise InvalidInput(f"{field} contains characters that cannot be stored (NUL or a lone surrogate)")
    return value


def check_schedule(content: "DraftContent", now: datetime) -> None:
    """At submission: the expiry must lie ahead, and neither time more than a year ahead.

    Raises:
        InvalidInput: a past expiry, or an embargo or expiry beyond :data:`MAX_SCHEDULE_AHEAD`.
    """
    if content.expires_at is not None and content.expires_at <= now:
        raise InvalidInput(f"the expiry {content.expires_at.isoformat()} is already past")
    for name, value in (("embargo", content.embargo_at), ("expiry", content.expires_at)):
        if value is not None and value > now + MAX_SCHEDULE_AHEAD:
            raise InvalidInput(f"the {name} {value.isoformat()} is more than a year ahead")


def decode_text(data: bytes, *, source: str = "input") -> str:
    """Decode UTF-8 (with or without BOM).

    Raises:
        InvalidInput: the bytes are not UTF-8, naming the offset so the editor can find it.
    """
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(
            f"{source} is not UTF-8 text (bad byte at offset {exc.start}); save it as UTF-8 and retry"
        ) from None


def split_title_body(text: str) -> tuple[str, str]:
    """A text file's first non-empty line is the title, the rest the body."""
    text = clean_text(text)
    if not text:
        return "", ""
    title, _, body = text.partition("\n")
    return title.strip(), body.strip()


def validate_content(content: DraftContent, *, known_areas: set[str]) -> DraftContent:
    """Check a draft before it is stored; returns it with title and body cleaned.

    Raises:
        InvalidInput: with the first problem found.
    """
    title = clean_text(content.title)
    body = clean_text(content.body)
    if not body:
        raise InvalidInput("the draft is empty: write the announcement's text")
    if len(body) < MIN_BODY_CHARS:
        raise InvalidInput(f"the draft body is too short ({len(body)} characters; at least {MIN_BODY_CHARS})")
    if len(body) > MAX_BODY_CHARS:
        raise InvalidInput(f"the draft body is too long ({len(body)} characters; at most {MAX_BODY_CHARS})")
    if not title:
        raise InvalidInput("the draft has no title")
    if "\n" in title or len(title) > MAX_TITLE_CHARS:
        raise InvalidInput(f"the title must be one line of at most {MAX_TITLE_CHARS} characters")
    return validate_metadata(replace(content, title=title, body=body), known_areas=known_areas)


def validate_metadata(content: DraftContent, *, known_areas: set[str]) -> DraftContent:
    """Check everything but the title and body (an audio draft's text exists only after transcription).

    Returns the content with areas and channels de-duplicated and references trimmed.

    Raises:
        InvalidInput: with the first problem found.
    """
    if not content.area_codes:
        raise InvalidInput("no target area given")
    check_storable(content.source_ref, "source_ref")
    check_storable(content.requesting_unit, "requesting_unit")
    unknown = [code for code in content.area_codes if code not in known_areas]
    if unknown:
        raise InvalidInput(f"unknown area code(s): {', '.join(unknown)} (see 'bantin areas list')")
    if not content.languages:
        raise InvalidInput("no language given")
    if not content.channels:
        raise InvalidInput("no channel given")
    if content.embargo_at and content.embargo_at.tzinfo is None:
        raise InvalidInput("embargo time needs a time zone")
    if content.expires_at and content.expires_at.tzinfo is None:
        raise InvalidInput("expiry time needs a time zone")
    if content.embargo_at and content.expires_at and content.expires_at <= content.embargo_at:
        raise InvalidInput("the bulletin expires before its embargo ends")
    return replace(
        content,
        area_codes=tuple(dict.fromkeys(content.area_codes)),
        channels=tuple(dict.fromkeys(content.channels)),
        source_ref=content.source_ref.strip(),
        requesting_unit=content.requesting_unit.strip(),
    )


# Audio drafts. Revision notes say who made the text: a machine transcript stays marked as unreviewed
# until an editor saves a corrected revision, so nobody mistakes ASR output for checked copy.
MACHINE_TRANSCRIPT_MARK = "[bản chép lời tự động, chưa kiểm tra / unreviewed machine transcript]"
EDITOR_REVISION_MARK = "[biên tập viên sửa / edited by]"


def machine_transcript_note(*, engine: str, model: str, language: str, transcript_key: str) -> str:
    """The note on a revision whose text is ASR output, telling the editor what to do next."""
    return (f"{MACHINE_TRANSCRIPT_MARK} Máy nghe có thể sai dấu, số và tên riêng: hãy đối chiếu với bản ghi âm "
            f"và sửa bằng 'bantin draft edit'. Machine transcript ({engine}, model {model}, language {language}); "
            f"the editor must check it against the recording and correct it with 'bantin draft edit'. "
            f"Timed segments: {transcript_key}")


def editor_revision_note(author: str, *, of_transcript: bool) -> str:
    what = "corrected the machine transcript" if of_transcript else "edited the text"
    return f"{EDITOR_REVISION_MARK} {author} {what}"


def is_unreviewed_transcript(revision: DraftRevision) -> bool:
    """True while a revision's text is still the machine's."""
    return revision.source_kind is SourceKind.AUDIO and revision.note.startswith(MACHINE_TRANSCRIPT_MARK)


def transcript_body(segments: list[tuple[float, float, str]], *, paragraph_gap_s: float = 2.0) -> str:
    """Join timed segments ``(start, end, text)`` into a draft body; a long pause starts a new paragraph."""
    paragraphs: list[list[str]] = []
    last_end: float | None = None
    for start, end, text in segments:
        if not text.strip():
            continue
        if last_end is None or start - last_end >= paragraph_gap_s:
            paragraphs.append([])
        paragraphs[-1].append(text.strip())
        last_end = end
    return "\n".join(" ".join(p) for p in paragraphs)
