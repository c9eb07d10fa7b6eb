"""Citizens' feedback: handling rules, permissions and audit entries (CLI, web and API call these).

Who handles an item: an active editor, approver or admin whose membership subtree covers the item's
current unit (an area code) or the area it came from; system-wide members handle everything. Only they
see contact data (name, phone), the photo and the voice message. Every state change is compare-and-set
(a concurrent change fails cleanly) and appends an audit entry that never carries contact data.

Intake (public page, API, Open311) is in ``services.feedback_intake``; the configuration (categories,
routing rules, calendar, retention) in ``services.feedback_config``. ``figures`` (below) is the one
function reports call.
"""

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from domain.approvals import Role
from domain.areas import is_within
from domain.errors import NotFound
from domain.feedback import (
    DUPLICATE_THRESHOLD,
    MAX_ANSWER_CHARS,
    MAX_REASON_CHARS,
    FeedbackError,
    FeedbackState,
    RejectReason,
    answer_bulletin_text,
    check_feedback_transition,
    clean,
    is_overdue,
    may_transfer,
    similarity,
)
from domain.feedback_figures import Figures, ItemTimes, compute_figures
from domain.priority import Priority
from services import auth
from services.feedback_config import FeedbackConfig, load_config
from storage.models import UserRecord
from storage.models_feedback import FeedbackRecord
from storage.objects import ObjectStore
from storage.repositories import audit, users
from storage.repositories import feedback as repo

HANDLER_ROLES = frozenset({Role.EDITOR, Role.APPROVER, Role.ADMIN})
ENTITY = "feedback"


def _now(now: datetime | None) -> datetime:
    return now if now is not None else datetime.now(UTC)


# --- permissions --------------------------------------------------------------------------------------

def handles(session: Session, user: UserRecord, rec: FeedbackRecord) -> bool:
    """Whether ``user`` is a handler of this item (its unit's or its area's subtree)."""
    if not user.active:
        return False
    grants = [m for m in users.memberships_of(user) if m.role in HANDLER_ROLES]
    if any(m.area_code is None for m in grants):
        return True
    tree = auth.area_tree(session)
    return any(m.area_code in tree and code in tree and is_within(code, m.area_code, tree)
               for m in grants for code in (rec.unit_code, rec.area_code))


def handled_units(session: Session, user: UserRecord) -> set[str] | None:
    """Area codes whose items ``user`` handles: every area inside their handler memberships' subtrees
    (None: all areas; an empty set: none, e.g. a translator)."""
    grants = [m for m in users.memberships_of(user) if m.role in HANDLER_ROLES] if user.active else []
    if any(m.area_code is None for m in grants):
        return None
    tree = auth.area_tree(session)
    return {code for code in tree if any(m.area_code in tree and is_within(code, m.area_code, tree) for m in grants)}


def _handler(session: Session, username: str, rec: FeedbackRecord) -> UserRecord:
    user = users.get_user(session, username)
    if not handles(session, user, rec):
        raise FeedbackError("forbidden", f"Tài khoản '{username}' không xử lý phản ánh của địa bàn {rec.unit_code}.")
    return user


def get_for(session: Session, username: str, feedback_id: int) -> FeedbackRecord:
    """The item, for one of its handlers. Raises NotFound or FeedbackError(forbidden)."""
    rec = repo.get(session, feedback_id)
    _handler(session, username, rec)
    return rec


# --- state changes ------------------------------------------------------------------------------------

def _move(session: Session, rec: FeedbackRecord, target: FeedbackState, *, actor: str, action: str,
          detail: dict[str, object] | None = None, **values: object) -> FeedbackRecord:
    current = FeedbackState(rec.state)
    check_feedback_transition(current, target)
    repo.compare_and_set(session, rec, expected=current, state=target.value, **values)
    audit.record(session, actor=actor, action=f"feedback.{action}", entity=ENTITY, entity_id=rec.id,
                 state_from=current.value, state_to=target.value, unit=rec.unit_code, **(detail or {}))
    return rec


def assign(session: Session, feedback_id: int, *, actor: str, assignee: str | None = None) -> FeedbackRecord:
    """Give the item to ``assignee`` (default: the actor), a handler of it too."""
    rec = repo.get(session, feedback_id)
    _handler(session, actor, rec)
    who = assignee or actor
    _handler(session, who, rec)
    return _move(session, rec, FeedbackState.ASSIGNED, actor=actor, action="assigned", detail={"assignee": who},
                 assignee=who)


def start(session: Session, feedback_id: int, *, actor: str) -> FeedbackRecord:
    rec = repo.get(session, feedback_id)
    _handler(session, actor, rec)
    return _move(session, rec, FeedbackState.IN_PROGRESS, actor=actor, action="started")


def answer(session: Session, feedback_id: int, *, actor: str, text: str, now: datetime | None = None) -> FeedbackRecord:
    """Record the authority's answer (public: the citizen's status page shows it)."""
    rec = repo.get(session, feedback_id)
    _handler(session, actor, rec)
    body = clean(text)
    if len(body) < 10:
        raise FeedbackError("answer_short", "Nội dung trả lời quá ngắn (ít nhất 10 ký tự).")
    if len(body) > MAX_ANSWER_CHARS:
        raise FeedbackError("answer_long", f"Nội dung trả lời quá dài (tối đa {MAX_ANSWER_CHARS} ký tự).")
    at = _now(now)
    return _move(session, rec, FeedbackState.ANSWERED, actor=actor, action="answered",
                 detail={"chars": len(body), "answered_at": at.isoformat()},
                 answer=body, answered_at=at, answered_by=actor, assignee=rec.assignee or actor)


def reopen(session: Session, feedback_id: int, *, actor: str) -> FeedbackRecord:
    rec = repo.get(session, feedback_id)
    _handler(session, actor, rec)
    return _move(session, rec, FeedbackState.IN_PROGRESS, actor=actor, action="reopened", answered_at=None)


def close(session: Session, feedback_id: int, *, actor: str, now: datetime | None = None) -> FeedbackRecord:
    rec = repo.get(session, feedback_id)
    _handler(session, actor, rec)
    return _move(session, rec, FeedbackState.CLOSED, actor=actor, action="closed", closed_at=_now(now))


def reject(session: Session, feedback_id: int, *, actor: str, reason: str, note: str = "",
           duplicate_of: int | None = None, now: datetime | None = None) -> FeedbackRecord:
    """Reject as spam, duplicate (naming the original), out of scope or other (with a note)."""
    rec = repo.get(session, feedback_id)
    _handler(session, actor, rec)
    try:
        why = RejectReason(reason)
    except ValueError:
        raise FeedbackError("bad_reason", "Lý do từ chối phải là: spam, duplicate, out_of_scope, other.") from None
    text = clean(note)
    if len(text) > MAX_REASON_CHARS:
        raise FeedbackError("field_too_long", f"Ghi chú quá dài (tối đa {MAX_REASON_CHARS} ký tự).")
    if why is RejectReason.DUPLICATE:
        if duplicate_of is None or duplicate_of == rec.id:
            raise FeedbackError("duplicate_needs_original", "Hãy ghi số của phản ánh gốc mà phản ánh này trùng.")
        repo.get(session, duplicate_of)
    elif why is RejectReason.OTHER and not text:
        raise FeedbackError("reason_needs_note", "Hãy ghi rõ lý do từ chối.")
    return _move(session, rec, FeedbackState.REJECTED, actor=actor, action="rejected",
                 detail={"reason": why.value, "duplicate_of": duplicate_of},
                 reject_reason=why.value, reject_note=text, duplicate_of=duplicate_of, closed_at=_now(now))


def transfer(session: Session, feedback_id: int, *, actor: str, to_unit: str, note: str = "") -> FeedbackRecord:
    """Send an open item to another unit (up to the province, or across); it starts there as received.

    The due date stays: the citizen waits no longer because the item moved.
    """
    rec = repo.get(session, feedback_id)
    _handler(session, actor, rec)
    parents = {a.code: a.parent_code for a in auth.area_tree(session).values()}
    may_transfer(rec.unit_code, to_unit, parents)
    from_unit = rec.unit_code
    _move(session, rec, FeedbackState.RECEIVED, actor=actor, action="transferred",
          detail={"from_unit": from_unit, "to_unit": to_unit}, unit_code=to_unit, assignee=None)
    if clean(note):
        add_note(session, rec.id, actor=actor, text=f"Chuyển từ {from_unit} đến {to_unit}: {clean(note)}")
    return rec


def add_note(session: Session, feedback_id: int, *, actor: str, text: str) -> None:
    rec = repo.get(session, feedback_id)
    _handler(session, actor, rec)
    body = clean(text)
    if not body:
        raise FeedbackError("empty_note", "Ghi chú đang trống.")
    if len(body) > MAX_REASON_CHARS:
        raise FeedbackError("field_too_long", f"Ghi chú quá dài (tối đa {MAX_REASON_CHARS} ký tự).")
    note = repo.add_note(session, rec.id, actor, body)
    audit.record(session, actor=actor, action="feedback.noted", entity=ENTITY, entity_id=rec.id, note_id=note.id)


# --- reading ------------------------------------------------------------------------------------------

def queue(session: Session, username: str, *, states: list[str] | None = None, category: str | None = None,
          limit: int = 200) -> list[FeedbackRecord]:
    """The items a handler sees: those of the units and areas they handle, open ones by default."""
    user = users.get_user(session, username)
    codes = handled_units(session, user)
    wanted = states if states is not None else [s.value for s in FeedbackState
                                                if s not in (FeedbackState.CLOSED, FeedbackState.REJECTED)]
    if codes is not None and not codes:
        return []
    by_unit = repo.query(session, units=codes, states=wanted, category=category, limit=limit)
    if codes is None:
        return by_unit
    by_area = repo.query(session, area_codes=codes, states=wanted, category=category, limit=limit)
    merged = {r.id: r for r in by_unit + by_area}
    return sorted(merged.values(), key=lambda r: (r.due_date, r.id))[:limit]


def overdue(rec: FeedbackRecord, now: datetime | None = None) -> bool:
    from datetime import date

    return is_overdue(FeedbackState(rec.state), date.fromisoformat(rec.due_date), _now(now))


@dataclass(frozen=True, slots=True)
class DuplicateHint:
    feedback_id: int
    tracking_code: str
    score: float
    state: str


def suggest_duplicates(session: Session, feedback_id: int, *, days: int = 30, limit: int = 5) -> list[DuplicateHint]:
    """Items of the same area in the ``days`` before this one whose text is similar (best first)."""
    rec = repo.get(session, feedback_id)
    since = rec.received_at - timedelta(days=days)
    hints = [DuplicateHint(o.id, o.tracking_code, round(similarity(rec.text, o.text), 2), o.state)
             for o in repo.recent_in_area(session, rec.area_code, since, rec.id) if o.received_at <= rec.received_at]
    return sorted((h for h in hints if h.score >= DUPLICATE_THRESHOLD), key=lambda h: -h.score)[:limit]


def notes(session: Session, username: str, feedback_id: int) -> list[tuple[str, str, datetime]]:
    get_for(session, username, feedback_id)
    return [(n.author, n.text, n.created_at) for n in repo.notes(session, feedback_id)]


# --- figures (the reports issue calls this) -----------------------------------------------------------

def figures(session: Session, area_code: str | None, start: datetime, end: datetime,
            *, now: datetime | None = None) -> Figures:
    """Feedback figures for items *received* in ``[start, end)`` in ``area_code``'s subtree (None: all).

    Counts by state, category and area (the area the citizen wrote from), the median hours from receipt
    to answer, and the share answered by the end of the due date (the QĐ 135 indicator; see
    :class:`domain.feedback_figures.Figures` for exactly what counts). ``now`` (default: the clock) decides which
    unanswered items are already late. Times must be timezone-aware.

    Raises:
        NotFound: unknown area.
    """
    from datetime import date

    codes: set[str] | None = None
    if area_code is not None:
        tree = auth.area_tree(session)
        if area_code not in tree:
            raise NotFound(f"Không có địa bàn mã '{area_code}'.")
        codes = {c for c in tree if is_within(c, area_code, tree)}
    rows = repo.received_between(session, start, end, codes)
    items = (ItemTimes(FeedbackState(r.state), r.category, r.area_code, r.received_at, date.fromisoformat(r.due_date),
                       r.answered_at) for r in rows)
    return compute_figures(items, _now(now))


# --- the answer on air --------------------------------------------------------------------------------

def answer_on_air(session: Session, store: ObjectStore, feedback_id: int, *, actor: str,
                  config: FeedbackConfig | None = None) -> int:
    """Create the draft bulletin that broadcasts an answered item's answer; returns the draft id.

    The draft holds the category, the area and the answer only (no name, phone or citizen's words); it
    then follows the normal produce -> approve -> publish path. Running it again returns the same draft.

    Raises:
        FeedbackError: not answered yet, or the actor may not handle it.
        InvalidInput: the actor may not write drafts (needs the editor role).
    """
    from services import drafts as draft_service
    from services.devices import area_languages
    from storage.repositories import areas as area_repo

    cfg = config or load_config()
    rec = repo.get(session, feedback_id)
    _handler(session, actor, rec)
    if rec.bulletin_draft_id is not None:
        return rec.bulletin_draft_id
    if FeedbackState(rec.state) not in (FeedbackState.ANSWERED, FeedbackState.CLOSED):
        raise FeedbackError("not_answered", "Chỉ đưa lên sóng được phản ánh đã có câu trả lời.")
    area = area_repo.get_area(session, rec.area_code)
    unit = area_repo.get_area(session, rec.unit_code)
    title, body = answer_bulletin_text(cfg.category(rec.category), rec.answer, unit.name)
    languages = list(area_languages(area.code, auth.area_tree(session)))
    revision = draft_service.submit_text_draft(session, store, draft_service.DraftRequest(
        body=body, title=title, area_codes=[area.code], languages=languages,
        priority=Priority.THUONG, author=actor, source_ref=f"Phản ánh {rec.tracking_code}", requesting_unit=unit.name))
    repo.update_fields(session, rec, bulletin_draft_id=revision.draft_id)
    audit.record(session, actor=actor, action="feedback.on_air", entity=ENTITY, entity_id=rec.id,
                 draft_id=revision.draft_id)
    return revision.draft_id


# --- privacy ------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Erasure:
    items: int  # items whose contact data was erased
    voice_keys: tuple[str, ...]  # voice recordings no item links any more (deleted by erase_expired)


def erase_expired_contacts(session: Session, *, now: datetime | None = None, retention_days: int | None = None,
                           actor: str = "system") -> Erasure:
    """Erase name, phone and the voice recording's link of items received more than ``retention_days`` ago
    (default: the configured period). Texts, answers and photos (location already stripped) stay for the
    figures and the archive. The voice recordings no item refers to any more are returned for the caller to
    delete from the store *after* the transaction commits (see :func:`erase_expired`). Safe to rerun."""
    days = retention_days if retention_days is not None else load_config().retention_days
    at = _now(now)
    voices: set[str] = set()
    items = 0
    for rec in repo.contacts_older_than(session, at - timedelta(days=days)):
        voice = rec.voice_key
        if not repo.erase_contact(session, rec, at):  # an overlapping run erased it first: its entry, not ours
            continue
        if voice:
            voices.add(voice)
        audit.record(session, actor=actor, action="feedback.contact_erased", entity=ENTITY, entity_id=rec.id,
                     retention_days=days)
        items += 1
    return Erasure(items, tuple(sorted(k for k in voices if not repo.voice_in_use(session, k))))


def erase_expired(open_session: Callable[[], AbstractContextManager[Session]], store: ObjectStore, *,
                  now: datetime | None = None, retention_days: int | None = None) -> Erasure:
    """Run :func:`erase_expired_contacts` in its own transaction, then delete the freed voice recordings
    (a failed commit deletes nothing)."""
    with open_session() as s:
        done = erase_expired_contacts(s, now=now, retention_days=retention_days)
    for key in done.voice_keys:
        store.delete(key)
    return done
