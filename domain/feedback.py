"""Citizens' feedback (phản ánh, kiến nghị): states, categories, routing rules, due dates and figures.

Pure: no I/O. Clocks and calendars are passed in.

States (a transition table, checked by :func:`domain.statemachine.check_transition`)::

    received -> assigned -> in_progress -> answered -> closed
        \\________\\______________\\-> rejected (spam, duplicate...: with a reason)

A transfer (up to the province, or across to another unit) sends an open item back to ``received`` at
its new unit; an answer may be reopened (``answered -> in_progress``) before it is closed.

Due dates count *working days* (Monday to Friday, less Vietnam's public holidays and the extra days off
the government decides each year), starting the day after receipt in Vietnam's time zone. An item is
answered on time when it was answered on or before the end of its due date.
"""

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from domain.errors import InvalidInput
from domain.statemachine import check_transition

VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
MIN_TEXT_CHARS = 10
MAX_TEXT_CHARS = 4000
MAX_HAMLET_CHARS = 100
MAX_NAME_CHARS = 100
MAX_REASON_CHARS = 1000
MAX_ANSWER_CHARS = 4000
TRACKING_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud over the phone
TRACKING_LENGTH = 8
_PHONE = re.compile(r"^(?:\+?84|0)(?:\d{9}|\d{10})$")
_TRACKING = re.compile(rf"^[{TRACKING_ALPHABET}]{{{TRACKING_LENGTH}}}$")


class FeedbackError(InvalidInput):
    """Bad feedback input. ``code`` names the problem for translated messages (``fb_err_<code>``);
    ``str(err)`` is a Vietnamese sentence fit for a citizen or an officer."""

    def __init__(self, code: str, message: str, **params: object) -> None:
        super().__init__(message)
        self.code = code
        self.params = params


class FeedbackState(StrEnum):
    RECEIVED = "received"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    ANSWERED = "answered"
    CLOSED = "closed"
    REJECTED = "rejected"


S = FeedbackState
TRANSITIONS: Mapping[FeedbackState, frozenset[FeedbackState]] = {
    S.RECEIVED: frozenset({S.RECEIVED, S.ASSIGNED, S.REJECTED}),  # received -> received: transfer
    S.ASSIGNED: frozenset({S.RECEIVED, S.ASSIGNED, S.IN_PROGRESS, S.ANSWERED, S.REJECTED}),
    S.IN_PROGRESS: frozenset({S.RECEIVED, S.ANSWERED, S.REJECTED}),
    S.ANSWERED: frozenset({S.IN_PROGRESS, S.CLOSED}),
    S.CLOSED: frozenset(),
    S.REJECTED: frozenset(),
}
OPEN_STATES = frozenset({S.RECEIVED, S.ASSIGNED, S.IN_PROGRESS})


def check_feedback_transition(current: FeedbackState, target: FeedbackState) -> FeedbackState:
    """Raises InvalidTransition when the table has no ``current -> target`` edge."""
    return check_transition("feedback", TRANSITIONS, current, target)


class RejectReason(StrEnum):
    SPAM = "spam"
    DUPLICATE = "duplicate"
    OUT_OF_SCOPE = "out_of_scope"
    OTHER = "other"


class Channel(StrEnum):
    """How the item reached bantin."""

    WEB = "web"
    API = "api"
    OPEN311 = "open311"
    PHONE = "phone"  # entered by an officer
    IN_PERSON = "in_person"  # entered by an officer


@dataclass(frozen=True, slots=True)
class Category:
    """One feedback category; ``due_days`` working days to answer; ``service_code`` for Open311."""

    code: str
    name_vi: str
    name_en: str
    due_days: int
    group: str = "general"
    description_vi: str = ""

    def name(self, lang: str) -> str:
        return self.name_en if lang == "en" else self.name_vi


DEFAULT_CATEGORIES: tuple[Category, ...] = (
    Category("policy", "Chính sách, pháp luật", "Policy and law", 10),
    Category("infrastructure", "Hạ tầng (đường, điện, nước)", "Infrastructure (roads, power, water)", 10),
    Category("environment", "Môi trường, vệ sinh", "Environment and sanitation", 7),
    Category("security", "An ninh, trật tự", "Security and public order", 3),
    Category("public_services", "Dịch vụ công, thủ tục hành chính", "Public services and procedures", 7),
    Category("broadcast_loud", "Loa quá to", "The loudspeaker is too loud", 3, group="broadcast"),
    Category("broadcast_unclear", "Nghe không rõ", "The broadcast is unclear", 3, group="broadcast"),
    Category("broadcast_language", "Sai hoặc thiếu ngôn ngữ", "Wrong or missing language", 5, group="broadcast"),
    Category("broadcast_not_heard", "Không nghe được loa", "The broadcast is not heard", 3, group="broadcast"),
    Category("other", "Khác", "Other", 10),
)


def category_map(categories: Iterable[Category]) -> dict[str, Category]:
    """Categories by code; raises InvalidInput on a duplicate code or a non-positive due time."""
    out: dict[str, Category] = {}
    for c in categories:
        if not re.fullmatch(r"[a-z][a-z0-9_]{1,39}", c.code):
            raise InvalidInput(f"feedback category code '{c.code}' must be lower-case letters, digits or _")
        if c.code in out:
            raise InvalidInput(f"feedback category '{c.code}' is listed twice")
        if not 1 <= c.due_days <= 90:
            raise InvalidInput(f"feedback category '{c.code}': due_days must be 1-90")
        out[c.code] = c
    return out


# --- routing -----------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class RoutingRule:
    """Send items of ``category`` (``*``: any) from inside ``within`` (an area code; ``*``: anywhere) to
    ``unit``: an area code, or ``@province`` (the province above the item's area) or ``@parent``."""

    category: str
    within: str
    unit: str


def route(area_code: str, category: str, rules: Sequence[RoutingRule], parents: Mapping[str, str | None]) -> str:
    """The unit (an area code) responsible for an item: the first matching rule, else the area itself.

    ``parents`` maps each area code to its parent's code (the tree is used generically: no level is
    assumed). A rule is checked in order; ``within`` matches the area or any ancestor.
    """
    chain = _chain(area_code, parents)
    for rule in rules:
        if rule.category not in ("*", category) or (rule.within != "*" and rule.within not in chain):
            continue
        if rule.unit == "@province":
            return chain[-1]
        if rule.unit == "@parent":
            return chain[1] if len(chain) > 1 else chain[0]
        return rule.unit
    return area_code


def _chain(code: str, parents: Mapping[str, str | None]) -> list[str]:
    chain = [code]
    seen = {code}
    nxt = parents.get(code)
    while nxt is not None and nxt not in seen:
        chain.append(nxt)
        seen.add(nxt)
        nxt = parents.get(nxt)
    return chain


def may_transfer(from_unit: str, to_unit: str, parents: Mapping[str, str | None]) -> None:
    """A transfer goes to another known unit: up the chain (to the province) or across.

    Raises:
        FeedbackError: same unit, or an unknown one.
    """
    if to_unit not in parents:
        raise FeedbackError("unknown_unit", f"Không có đơn vị (địa bàn) mã '{to_unit}'.", unit=to_unit)
    if to_unit == from_unit:
        raise FeedbackError("same_unit", "Phản ánh đang ở chính đơn vị này; hãy chọn đơn vị khác.")


# --- validation ----------------------------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean(text: str) -> str:
    """NFC, no control characters, trimmed lines, at most one blank line in a row."""
    text = _CONTROL.sub("", unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n")))
    lines = [ln.strip() for ln in text.split("\n")]
    out: list[str] = []
    for ln in lines:
        if ln or (out and out[-1]):
            out.append(ln)
    return "\n".join(out).strip()


def validate_text(text: str) -> str:
    """The cleaned feedback text. Raises FeedbackError when empty, too short or too long."""
    t = clean(text)
    if not t:
        raise FeedbackError("empty", "Nội dung phản ánh đang trống. Vui lòng viết nội dung.")
    if len(t) < MIN_TEXT_CHARS:
        raise FeedbackError("too_short", f"Nội dung quá ngắn (ít nhất {MIN_TEXT_CHARS} ký tự).", min=MIN_TEXT_CHARS)
    if len(t) > MAX_TEXT_CHARS:
        raise FeedbackError("too_long", f"Nội dung quá dài ({len(t)} ký tự; tối đa {MAX_TEXT_CHARS}).",
                            max=MAX_TEXT_CHARS)
    return t


def validate_short(value: str, *, limit: int, what: str) -> str:
    v = " ".join(clean(value).split())
    if len(v) > limit:
        raise FeedbackError("field_too_long", f"{what} quá dài (tối đa {limit} ký tự).", max=limit)
    return v


def normalize_phone(phone: str) -> str:
    """A Vietnamese phone number as digits (``0`` prefix); empty stays empty.

    Raises:
        FeedbackError: not a Vietnamese phone number.
    """
    p = re.sub(r"[\s.\-()]", "", phone or "")
    if not p:
        return ""
    if not _PHONE.match(p):
        raise FeedbackError("bad_phone", "Số điện thoại không hợp lệ (ví dụ: 0912 345 678).")
    if p.startswith("+84"):
        p = "0" + p[3:]
    elif p.startswith("84") and len(p) >= 11:
        p = "0" + p[2:]
    return p


def mask_phone(phone: str) -> str:
    """``0912345678`` -> ``091*****78`` (shown to people who may not see contact data)."""
    return phone[:3] + "*" * max(len(phone) - 5, 0) + phone[-2:] if len(phone) > 5 else "*" * len(phone)


def tracking_code(random_bytes: bytes) -> str:
    """An 8-character code from ``TRACKING_ALPHABET`` (32 symbols: 40 bits from 5 random bytes)."""
    if len(random_bytes) < 5:
        raise ValueError("a tracking code needs 5 random bytes")
    n = int.from_bytes(random_bytes[:5], "big")
    return "".join(TRACKING_ALPHABET[(n >> (5 * i)) & 31] for i in range(TRACKING_LENGTH))


def parse_tracking_code(value: str) -> str:
    """Upper-cased, spaces and dashes removed. Raises FeedbackError when it cannot be a code."""
    code = re.sub(r"[\s\-]", "", value or "").upper()
    if not _TRACKING.match(code):
        raise FeedbackError("bad_code", "Mã theo dõi không đúng (8 ký tự, ví dụ: K7M2QX9P).")
    return code


# --- time ---------------------------------------------------------------------------------------------

def local_date(at: datetime) -> date:
    return at.astimezone(VN_TZ).date()


@dataclass(frozen=True, slots=True)
class WorkCalendar:
    """Working days: Monday-Friday, less ``holidays`` (a predicate: Vietnam's public holidays and the
    government's extra days off) plus extra working ``makeup_days`` (compensatory Saturdays)."""

    is_holiday: Callable[[date], bool]
    makeup_days: frozenset[date] = field(default_factory=frozenset)

    def is_working_day(self, d: date) -> bool:
        if d in self.makeup_days:
            return True
        return d.weekday() < 5 and not self.is_holiday(d)

    def add_working_days(self, start: date, days: int) -> date:
        """The ``days``-th working day after ``start`` (``start`` itself not counted)."""
        d, left = start, days
        while left > 0:
            d += timedelta(days=1)
            if self.is_working_day(d):
                left -= 1
        return d


def due_date(received_at: datetime, due_days: int, calendar: WorkCalendar) -> date:
    """The last day (Vietnam calendar) on which an answer counts as on time."""
    return calendar.add_working_days(local_date(received_at), due_days)


def due_deadline(due: date) -> datetime:
    """The end of the due date in Vietnam's time zone, as UTC."""
    return datetime.combine(due + timedelta(days=1), datetime.min.time(), VN_TZ).astimezone(UTC)


def is_overdue(state: FeedbackState, due: date, now: datetime) -> bool:
    return state in OPEN_STATES and now >= due_deadline(due)


# --- duplicates ---------------------------------------------------------------------------------------

def fold(text: str) -> str:
    """Lower case without diacritics (đ -> d), for matching."""
    t = unicodedata.normalize("NFD", text.lower().replace("đ", "d"))
    return "".join(ch for ch in t if unicodedata.category(ch) != "Mn")


def _shingles(text: str) -> set[str]:
    words = re.findall(r"\w+", fold(text))
    return {" ".join(words[i:i + 2]) for i in range(len(words) - 1)} or set(words)


def similarity(a: str, b: str) -> float:
    """Jaccard similarity of the two texts' word pairs, diacritics folded (0..1)."""
    sa, sb = _shingles(a), _shingles(b)
    if not sa or not sb:
        return 0.0
    return len(sa & sb) / len(sa | sb)


DUPLICATE_THRESHOLD = 0.35


# --- public links -------------------------------------------------------------------------------------

def public_feedback_url(base_url: str, area_code: str, package_id: int | None = None) -> str:
    """The public intake page of an area, citing a bulletin (package) when given: what the QR codes on
    board slides and feed items point to."""
    url = f"{base_url.rstrip('/')}/phan-anh/{area_code}"
    return f"{url}?ban-tin={package_id}" if package_id is not None else url


def public_feedback_qr_url(base_url: str, area_code: str, package_id: int | None = None) -> str:
    """A PNG QR code of :func:`public_feedback_url` (served by the web app; feed items show it)."""
    url = f"{base_url.rstrip('/')}/phan-anh/{area_code}/ma-qr.png"
    return f"{url}?ban-tin={package_id}" if package_id is not None else url


def answer_bulletin_text(category: Category, answer: str, area_name: str) -> tuple[str, str]:
    """Title and body of the bulletin that puts an answer on air. Only the category, the area and the
    officer's answer go in: never the citizen's name, phone or own words."""
    title = f"Trả lời phản ánh của người dân: {category.name_vi}"[:200]
    unit = area_name[:1].lower() + area_name[1:]
    body = (f"Ủy ban nhân dân {unit} trả lời ý kiến phản ánh, kiến nghị của người dân về "
            f"{category.name_vi.lower()}.\n{clean(answer)}")
    return title, body
