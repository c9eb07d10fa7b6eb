"""Receiving feedback (public page, JSON API, Open311, officers typing in a call) and the citizen's view.

Everything is validated before anything is stored: the photo and voice message are checked (and the
photo cleaned) first, then the item is written in one transaction, so a refusal leaves nothing behind.
Rate limits count per client and per area in memory, with an injected clock.
"""

import secrets
import tempfile
import threading
from collections import deque
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.errors import NotFound
from domain.feedback import (
    MAX_HAMLET_CHARS,
    MAX_NAME_CHARS,
    Channel,
    FeedbackError,
    FeedbackState,
    due_date,
    normalize_phone,
    parse_tracking_code,
    public_feedback_url,
    route,
    tracking_code,
    validate_short,
    validate_text,
)
from domain.packages import AssetKind, PackageStatus
from engines import asr, photos, qr
from engines.errors import MediaError
from services import auth
from services.devices import area_chain, area_map
from services.feedback_config import FeedbackConfig, load_config
from storage.models import AssetRecord, DraftRevisionRecord, PackageRecord
from storage.models_feedback import FeedbackRecord
from storage.objects import ObjectStore
from storage.repositories import audit, packages
from storage.repositories import feedback as repo

VOICE_TYPES = {".mp3": "audio/mpeg", ".m4a": "audio/mp4", ".ogg": "audio/ogg", ".oga": "audio/ogg",
               ".opus": "audio/ogg", ".webm": "audio/webm", ".wav": "audio/wav", ".amr": "audio/amr",
               ".aac": "audio/aac", ".3gp": "audio/3gpp"}
MAX_VOICE_BYTES = 5 * 1024 * 1024
MAX_VOICE_SECONDS = 120.0


@dataclass(frozen=True, slots=True)
class Submission:
    """Feedback as an entry point receives it (raw strings; validated by :func:`submit`)."""

    area_code: str
    category: str
    text: str
    channel: Channel = Channel.WEB
    hamlet: str = ""
    contact_name: str = ""
    contact_phone: str = ""
    contact_consent: bool = False
    cited_package_id: int | None = None
    photo: bytes | None = None
    photo_keep_location: bool = False
    voice: bytes | None = None
    voice_filename: str = ""
    lat: float | None = None
    long: float | None = None
    entered_by: str | None = None  # the officer typing in a phone call or a visit


@dataclass(frozen=True, slots=True)
class Receipt:
    feedback_id: int
    tracking_code: str
    due: date
    unit_code: str


class RateLimiter:
    """At most ``limit`` events per key within ``window_s`` seconds of ``clock()`` (thread-safe)."""

    def __init__(self, limit: int, window_s: float, clock: Callable[[], float]) -> None:
        self.limit, self.window_s, self.clock = limit, window_s, clock
        self._events: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str) -> bool:
        """Count one event for ``key`` unless the limit is reached (then count nothing)."""
        now = self.clock()
        with self._lock:
            if len(self._events) > 10_000:  # forget clients whose window has passed: memory stays bounded
                self._events = {k: q for k, q in self._events.items() if q and q[-1] > now - self.window_s}
            q = self._events.setdefault(key, deque())
            while q and q[0] <= now - self.window_s:
                q.popleft()
            if len(q) >= self.limit:
                return False
            q.append(now)
            return True


@dataclass
class IntakeLimits:
    """Per-client and per-area limits for public intake."""

    per_client: RateLimiter
    per_area: RateLimiter

    @classmethod
    def from_config(cls, cfg: FeedbackConfig, clock: Callable[[], float]) -> "IntakeLimits":
        return cls(RateLimiter(cfg.max_per_client, cfg.window_s, clock),
                   RateLimiter(cfg.max_per_area, cfg.window_s, clock))

    def check(self, client: str, area_code: str) -> None:
        """Raises FeedbackError(rate_limited) when the client or the area sent too much lately."""
        if not self.per_client.allow(client):
            raise FeedbackError("rate_limited", "Bạn đã gửi nhiều phản ánh trong thời gian ngắn. Vui lòng thử lại sau.")
        if not self.per_area.allow(area_code):
            raise FeedbackError("area_rate_limited", "Địa bàn này đang nhận quá nhiều phản ánh. Vui lòng thử lại sau.")


def check_voice(data: bytes, filename: str) -> tuple[str, str]:
    """The voice message's extension and media type, after checking size, type and length with ffprobe.

    Raises:
        FeedbackError: too big, unsupported type, unreadable or longer than two minutes.
    """
    from engines import ffmpeg

    ext = Path(filename or "").suffix.lower()
    if ext not in VOICE_TYPES:
        raise FeedbackError("voice_type", "Tin nhắn thoại phải là tệp âm thanh (mp3, m4a, ogg, webm, wav, amr).")
    if not data or len(data) > MAX_VOICE_BYTES:
        raise FeedbackError("voice_size", "Tin nhắn thoại rỗng hoặc quá lớn "
                            f"(tối đa {MAX_VOICE_BYTES // 1024 // 1024} MB).")
    with tempfile.TemporaryDirectory(prefix="bantin-fb-") as tmp:
        path = Path(tmp) / f"voice{ext}"
        path.write_bytes(data)
        try:
            info = ffmpeg.probe(path)
        except MediaError:
            raise FeedbackError("voice_corrupt",
                                "Không đọc được tin nhắn thoại (tệp hỏng hoặc không có âm thanh).") from None
    if info.duration_s > MAX_VOICE_SECONDS:
        raise FeedbackError("voice_long", f"Tin nhắn thoại dài {info.duration_s / 60:.0f} phút; tối đa "
                            f"{int(MAX_VOICE_SECONDS)} giây.")
    return ext, VOICE_TYPES[ext]


def submit(session: Session, store: ObjectStore, sub: Submission, *, now: datetime | None = None,
           config: FeedbackConfig | None = None, random_bytes: Callable[[int], bytes] = secrets.token_bytes) -> Receipt:
    """Validate and store one feedback item; route it; set its due date; audit it (without contact data).

    Raises:
        FeedbackError: any invalid field (message in Vietnamese; ``code`` for translations).
        NotFound: unknown area.
    """
    cfg = config or load_config()
    at = now or datetime.now(UTC)
    tree = auth.area_tree(session)
    area = tree.get(sub.area_code.strip())
    if area is None:
        raise FeedbackError("unknown_area", f"Không có địa bàn mã '{sub.area_code.strip()[:20]}'.")
    category = cfg.category(sub.category.strip())
    text = validate_text(sub.text)
    hamlet = validate_short(sub.hamlet, limit=MAX_HAMLET_CHARS, what="Thôn, ấp")
    name = validate_short(sub.contact_name, limit=MAX_NAME_CHARS, what="Họ tên")
    phone = normalize_phone(sub.contact_phone)
    if (name or phone) and not sub.contact_consent:
        raise FeedbackError("consent", "Hãy đánh dấu đồng ý để cán bộ được dùng số điện thoại, họ tên của bạn "
                            "để liên hệ (hoặc bỏ trống các ô đó).")
    for value, lo, hi in ((sub.lat, -90, 90), (sub.long, -180, 180)):
        if value is not None and not lo <= value <= hi:
            raise FeedbackError("bad_location", "Tọa độ không hợp lệ.")
    photo = None
    if sub.photo:
        try:
            photo = photos.clean_photo(sub.photo, keep_location=sub.photo_keep_location)
        except MediaError as exc:
            raise FeedbackError("photo", str(exc)) from None
    voice = check_voice(sub.voice, sub.voice_filename) if sub.voice else None
    cited = sub.cited_package_id if sub.cited_package_id and session.get(PackageRecord, sub.cited_package_id) else None
    parents = {a.code: a.parent_code for a in tree.values()}
    unit = route(area.code, category.code, cfg.rules, parents)
    due = due_date(at, category.due_days, cfg.calendar())
    photo_key = store.put_bytes(photo.data, ext=photo.ext, media_type=photo.media_type).key if photo else None
    voice_key = (store.put_bytes(sub.voice, ext=voice[0].lstrip("."), media_type=voice[1]).key
                 if voice and sub.voice else None)
    code = _new_code(session, random_bytes)
    rec = repo.add(session, tracking_code=code, area_code=area.code, unit_code=unit, hamlet=hamlet,
                   category=category.code, text=text, channel=sub.channel.value, state=FeedbackState.RECEIVED.value,
                   received_at=at, due_date=due.isoformat(), contact_name=name or None, contact_phone=phone or None,
                   contact_consent=bool(name or phone) and sub.contact_consent, cited_package_id=cited,
                   photo_key=photo_key, photo_type=photo.media_type if photo else None,
                   photo_location_kept=bool(photo and photo.location_kept), voice_key=voice_key,
                   voice_type=voice[1] if voice else None, lat=sub.lat, long=sub.long, entered_by=sub.entered_by,
                   answer="", reject_reason="", reject_note="", voice_transcript="", version=1)
    audit.record(session, actor=sub.entered_by or "public", action="feedback.received", entity="feedback",
                 entity_id=rec.id, channel=sub.channel.value, area=area.code, unit=unit, category=category.code,
                 due=due.isoformat(), photo=bool(photo), voice=bool(voice), contact=bool(name or phone),
                 cited_package_id=cited)
    return Receipt(rec.id, code, due, unit)


def _new_code(session: Session, random_bytes: Callable[[int], bytes]) -> str:
    for _ in range(8):
        code = tracking_code(random_bytes(5))
        if not repo.code_exists(session, code):
            return code
    raise FeedbackError("conflict", "Không tạo được mã theo dõi; vui lòng gửi lại.")


def submit_by_officer(session: Session, store: ObjectStore, sub: Submission, *, officer: str,
                      now: datetime | None = None, config: FeedbackConfig | None = None) -> Receipt:
    """An officer enters feedback received by phone or in person, for an area they handle."""
    from services.feedback import handled_units
    from storage.repositories import users

    if sub.channel not in (Channel.PHONE, Channel.IN_PERSON):
        raise FeedbackError("bad_channel", "Kênh tiếp nhận phải là điện thoại (phone) hoặc trực tiếp (in_person).")
    codes = handled_units(session, users.get_user(session, officer))
    if codes is not None and sub.area_code not in codes:
        raise FeedbackError("forbidden", f"Tài khoản '{officer}' không tiếp nhận phản ánh của địa bàn {sub.area_code}.")
    return submit(session, store, replace(sub, entered_by=officer), now=now, config=config)


# --- the citizen's view -------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class PublicStatus:
    """What anyone holding the tracking code may see: never contact data, notes or who handled it."""

    tracking_code: str
    area_code: str
    area_name: str
    category: str
    state: FeedbackState
    received_at: datetime
    due: date
    answered_at: datetime | None
    answer: str
    reject_reason: str
    bulletin_draft_id: int | None
    bulletin_package_id: int | None
    bulletin_audio_sha256: str | None
    text: str


def public_status(session: Session, code: str) -> PublicStatus:
    """The status of one item by its tracking code.

    Raises:
        FeedbackError: a malformed code. NotFound: no such item.
    """
    rec = repo.by_code(session, parse_tracking_code(code))
    tree = auth.area_tree(session)
    pkg_id, sha = _published_bulletin(session, rec)
    state = FeedbackState(rec.state)
    shown_answer = rec.answer if state in (FeedbackState.ANSWERED, FeedbackState.CLOSED) else ""
    return PublicStatus(rec.tracking_code, rec.area_code, tree[rec.area_code].name if rec.area_code in tree else "",
                        rec.category, state, rec.received_at, date.fromisoformat(rec.due_date), rec.answered_at,
                        shown_answer, rec.reject_reason, rec.bulletin_draft_id, pkg_id, sha, rec.text)


def _published_bulletin(session: Session, rec: FeedbackRecord) -> tuple[int | None, str | None]:
    """The published package of the answer's bulletin and its Vietnamese audio, when on air."""
    if rec.bulletin_draft_id is None:
        return None, None
    pkg = session.scalar(select(PackageRecord).where(PackageRecord.draft_id == rec.bulletin_draft_id,
                                                     PackageRecord.status == PackageStatus.PUBLISHED.value)
                         .order_by(PackageRecord.id.desc()))
    if pkg is None:
        return None, None
    sha = session.scalar(select(AssetRecord.sha256).where(
        AssetRecord.package_id == pkg.id, AssetRecord.kind == AssetKind.AUDIO.value, AssetRecord.language == "vi"))
    return pkg.id, sha


def feedback_link(session: Session, base_url: str, area_codes: list[str], package_id: int | None) -> str:
    """The public feedback page a bulletin's QR code opens, citing the bulletin: the page of its one area,
    or for several areas the nearest area above them all (the first area when they share none). Empty
    when no target area is known."""
    all_areas = area_map(session)
    known = [code for code in area_codes if code in all_areas]
    if not known:
        return ""
    chains = [area_chain(code, all_areas) for code in known]
    common = next((code for code in chains[0] if all(code in chain for chain in chains[1:])), known[0])
    return public_feedback_url(base_url, common, package_id)


def cited_bulletin_title(session: Session, package_id: int) -> str | None:
    """The title of the bulletin a QR code cites, when it is published (nothing about any other package).

    A slide kept from an earlier package of the same draft (a voice replaced after approval re-renders only that
    language's slides) cites that earlier package: the draft's package on air stands for it.
    """
    pkg = session.get(PackageRecord, package_id)
    if pkg is not None and pkg.status != PackageStatus.PUBLISHED.value:
        pkg = next((p for p in reversed(packages.packages_of_draft(session, pkg.draft_id))
                    if p.status == PackageStatus.PUBLISHED.value), None)
    if pkg is None:
        return None
    rev = session.get(DraftRevisionRecord, pkg.revision_id)
    return rev.title if rev is not None else None


def feedback_qr_png(session: Session, base_url: str, area_code: str, package_id: int | None) -> bytes:
    """The QR code (PNG) of an area's public feedback page, as feed items show it.

    Raises:
        NotFound: unknown area.
    """
    if area_code not in area_map(session):
        raise NotFound("Không có địa bàn này.")
    return qr.qr_png(public_feedback_url(base_url, area_code, package_id), scale=6, border=4)


def get_by_id(session: Session, feedback_id: int) -> FeedbackRecord:
    """For the Open311 reader: NotFound when missing."""
    rec = session.get(FeedbackRecord, feedback_id)
    if rec is None:
        raise NotFound(f"Không có phản ánh số {feedback_id}.")
    return rec


def transcribe_voice(open_session: Callable[[], AbstractContextManager[Session]], store: ObjectStore,
                     feedback_id: int, *, transcribe: Callable[..., asr.Transcript] | None = None) -> str:
    """Transcribe an item's voice message with Whisper (``engines.asr``) for the officer; the recording is
    kept. Runs outside any transaction (seconds to minutes); the text is written in a short one. Returns
    the transcript ('' when the item has no voice message). Safe to rerun.

    Raises:
        NotFound: no such item. MediaError, ModelUnavailable: the recording or the model cannot be used.
    """
    with open_session() as s:
        rec = get_by_id(s, feedback_id)
        key, suffix = rec.voice_key, Path(rec.voice_key or "").suffix
    if not key:
        return ""
    with tempfile.TemporaryDirectory(prefix="bantin-fb-asr-") as tmp:
        local = store.download(key, Path(tmp) / f"voice{suffix}")
        transcript = (transcribe or asr.transcribe)(local, language="vi")  # late-bound: the configured model
    text = transcript.text.strip()
    with open_session() as s:
        rec = get_by_id(s, feedback_id)
        if rec.voice_key != key:
            return rec.voice_transcript  # erased or replaced meanwhile: keep what is there
        repo.update_fields(s, rec, voice_transcript=text)
        audit.record(s, actor="system", action="feedback.voice_transcribed", entity="feedback", entity_id=rec.id,
                     engine=transcript.engine, model=transcript.model, chars=len(text))
    return text
