"""The dashboard's panels per role, for one area: what concerns the person looking.

- An **editor** sees their own bulletins reaching into the area (last 30 days): where each stands and, once
  published, how many of the devices it targets there have played it.
- An **approver** sees the packages waiting for their decision that target the area, emergencies first, with
  how long each has waited.
- On a **commune** (an area without children), an officer who handles it (editor, approver or admin) sees the
  citizen feedback open there (overdue first), today's programme editions already due that no device has played,
  and the bulletins of the last day aimed at the commune that no device there has played yet.
- A **provincial admin** (or any admin over an area with children) sees the communes whose devices played
  nothing in the last 7 days and the periodic reports due within 15 days, with whether each is made.

Which panels apply follows the user's memberships at this area or above it (a system-wide membership counts
everywhere); the figures come from the same rollups and services as the rest of the dashboard.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.approvals import Role
from domain.areas import Area, is_within
from domain.clock import as_utc
from domain.devices import DeviceStatus
from domain.feedback import FeedbackState
from domain.packages import PackageStatus
from domain.reports import descendants, leaves, periods_due
from services import approvals, feedback
from services.devices import area_map
from storage.models import DraftRecord, DraftRevisionRecord, PackageRecord, UserRecord
from storage.models_devices import DeviceRecord
from storage.repositories import reports as repo
from storage.repositories import users

RECENT = timedelta(days=30)
QUIET_DAYS = 7
REPORT_LEAD_DAYS = 15
LIVE = ("published", "scheduled", "corrected")


@dataclass(frozen=True, slots=True)
class MyBulletin:
    package_id: int
    title: str
    status: str
    priority: str
    devices: int  # the area's devices it targets
    devices_played: int


@dataclass(frozen=True, slots=True)
class Waiting:
    package_id: int
    title: str
    priority: str
    waiting_since: datetime


@dataclass(frozen=True, slots=True)
class OpenFeedback:
    feedback_id: int
    tracking_code: str
    category: str
    due_date: str
    overdue: bool
    excerpt: str = ""  # the first words of the citizen's text


def first_words(text: str, n: int = 8) -> str:
    """The first ``n`` words of ``text`` (with "…" when there are more), on one line."""
    words = text.split()
    return " ".join(words[:n]) + (" …" if len(words) > n else "")


@dataclass(frozen=True, slots=True)
class Unplayed:
    title: str
    at: datetime
    package_id: int | None  # None for a programme edition


@dataclass(frozen=True, slots=True)
class QuietCommune:
    code: str
    name: str
    devices: int


@dataclass(frozen=True, slots=True)
class ReportDue:
    period: str
    deadline: str  # YYYY-MM-DD
    made: bool


@dataclass(frozen=True, slots=True)
class RolePanels:
    editor: tuple[MyBulletin, ...] | None = None
    approver: tuple[Waiting, ...] | None = None
    feedback: tuple[OpenFeedback, ...] | None = None  # commune panel
    unplayed: tuple[Unplayed, ...] | None = None  # commune panel
    quiet_communes: tuple[QuietCommune, ...] | None = None  # province panel
    reports_due: tuple[ReportDue, ...] | None = None  # province panel


def roles_here(s: Session, user: UserRecord, area_code: str) -> set[Role]:
    """The roles the user holds at ``area_code`` or above it (system-wide memberships count everywhere)."""
    if not user.active:
        return set()
    tree = area_map(s)
    return {m.role for m in users.memberships_of(user)
            if m.area_code is None or (m.area_code in tree and is_within(area_code, m.area_code, tree))}


def panels(s: Session, username: str, area_code: str, *, now: datetime) -> RolePanels:
    """The panels ``username`` sees on ``area_code``'s dashboard (the caller has checked they may view it)."""
    user = users.get_user(s, username)
    roles = roles_here(s, user, area_code)
    tree = area_map(s)
    parent_of = {c: a.parent_code for c, a in tree.items()}
    inside = descendants(area_code, parent_of)
    is_commune = not any(p == area_code for p in parent_of.values())
    devices_in: dict[str, list[int]] = {}
    for device_id, code in s.execute(select(DeviceRecord.id, DeviceRecord.area_code)
                                     .where(DeviceRecord.status == DeviceStatus.AUTHORISED.value,
                                            DeviceRecord.area_code.in_(inside))):
        devices_in.setdefault(code, []).append(device_id)
    out = RolePanels()
    if Role.EDITOR in roles:
        out = _replace(out, editor=_my_bulletins(s, username, inside, tree, devices_in, now))
    if Role.APPROVER in roles:
        out = _replace(out, approver=_waiting(s, username, inside, tree))
    if is_commune and roles & {Role.EDITOR, Role.APPROVER, Role.ADMIN}:
        out = _replace(out, feedback=_open_feedback(s, username, area_code, now),
                       unplayed=_unplayed(s, area_code, tree, devices_in.get(area_code, []), now))
    if Role.ADMIN in roles and not is_commune:
        out = _replace(out, quiet_communes=_quiet(s, inside, parent_of, tree, devices_in, now),
                       reports_due=_reports_due(s, area_code, now))
    return out


def _replace(p: RolePanels, **changes: object) -> RolePanels:
    from dataclasses import replace

    return replace(p, **changes)  # type: ignore[arg-type]  # changes: field names checked by replace


def _reach(codes: list[str], inside: set[str], tree: dict[str, Area]) -> set[str]:
    """The areas of ``inside`` a package aimed at ``codes`` reaches (its targets and everything below them)."""
    parent_of = {c: a.parent_code for c, a in tree.items()}
    out: set[str] = set()
    for code in codes:
        if code in tree:
            out |= descendants(code, parent_of) & inside
    return out


def _my_bulletins(s: Session, username: str, inside: set[str], tree: dict[str, Area],
                  devices_in: dict[str, list[int]], now: datetime) -> tuple[MyBulletin, ...]:
    rows = s.execute(
        select(PackageRecord.id, PackageRecord.status, PackageRecord.manifest_hash, DraftRevisionRecord.title,
               DraftRevisionRecord.priority, DraftRevisionRecord.area_codes)
        .join(DraftRecord, DraftRecord.id == PackageRecord.draft_id)
        .join(DraftRevisionRecord, DraftRevisionRecord.id == PackageRecord.revision_id)
        .where(DraftRecord.author == username, PackageRecord.created_at >= now - RECENT,
               PackageRecord.status != PackageStatus.SUPERSEDED.value)
        .order_by(PackageRecord.id.desc()).limit(100)).all()
    mine = [(r, _reach(list(r[5] or ()), inside, tree)) for r in rows]
    mine = [(r, hit) for r, hit in mine if hit][:20]
    played: dict[str, set[int]] = {}
    for manifest, device_id, *_ in repo.firsts_for(s, [r[2] for r, _ in mine if r[2] and r[1] in LIVE], now):
        played.setdefault(manifest, set()).add(device_id)
    out = []
    for r, hit in mine:
        targets = {d for code in hit for d in devices_in.get(code, ())}
        out.append(MyBulletin(r[0], r[3], r[1], r[4], len(targets), len(played.get(r[2] or "", set()) & targets)))
    return tuple(out)


def _waiting(s: Session, username: str, inside: set[str], tree: dict[str, Area]) -> tuple[Waiting, ...]:
    entries = [e for e in approvals.approval_queue(s, username) if _reach(list(e.area_codes), inside, tree)]
    since = {i: at for i, at in s.execute(select(PackageRecord.id, PackageRecord.updated_at)
                                          .where(PackageRecord.id.in_([e.package_id for e in entries])))}
    return tuple(Waiting(e.package_id, e.title, e.priority, as_utc(since[e.package_id])) for e in entries)


def _open_feedback(s: Session, username: str, area_code: str, now: datetime) -> tuple[OpenFeedback, ...]:
    """Open feedback written from the commune that the user handles, overdue first, then by due date."""
    items = [r for r in feedback.queue(s, username) if r.area_code == area_code
             and FeedbackState(r.state) not in (FeedbackState.ANSWERED, FeedbackState.CLOSED, FeedbackState.REJECTED)]
    rows = [OpenFeedback(r.id, r.tracking_code, r.category, r.due_date, feedback.overdue(r, now), first_words(r.text))
            for r in items]
    return tuple(sorted(rows, key=lambda f: (not f.overdue, f.due_date, f.feedback_id))[:20])


def _unplayed(s: Session, area_code: str, tree: dict[str, Area], device_ids: list[int],
              now: datetime) -> tuple[Unplayed, ...]:
    """Programme editions of today already due, and bulletins of the last day aimed at the commune, that no
    device of the commune has played (nothing is listed for a commune without devices)."""
    if not device_ids:
        return ()
    out: list[Unplayed] = []
    editions = [e for e in repo.editions_on(s, repo.vn_day(now)) if e[0] == area_code and e[2] <= now]
    done = repo.manifests_played_by(s, device_ids, [e[4] for e in editions if e[4]])
    out += [Unplayed(f"{e[1]}", e[2], None) for e in editions if e[4] not in done]
    recent = [p for p in repo.published_between(s, now - timedelta(days=1), now)
              if p[8] in LIVE and _reach(list(p[4]), {area_code}, tree)]
    done = repo.manifests_played_by(s, device_ids, [p[1] for p in recent if p[1]])
    out += [Unplayed(p[2], p[7], p[0]) for p in recent if p[1] not in done]
    return tuple(sorted(out, key=lambda u: u.at))


def _quiet(s: Session, inside: set[str], parent_of: dict[str, str | None], tree: dict[str, Area],
           devices_in: dict[str, list[int]], now: datetime) -> tuple[QuietCommune, ...]:
    today = datetime.fromisoformat(repo.vn_day(now)).date()
    communes = [c for c in leaves(inside, parent_of) if devices_in.get(c)]
    heard = {code for code, _day, plays, *_ in repo.daily_by_area(s, communes, today - timedelta(days=QUIET_DAYS - 1),
                                                                   today) if plays}
    return tuple(QuietCommune(c, tree[c].name, len(devices_in[c])) for c in sorted(communes) if c not in heard)


def _reports_due(s: Session, area_code: str, now: datetime) -> tuple[ReportDue, ...]:
    today = datetime.fromisoformat(repo.vn_day(now)).date()
    out = []
    for p in periods_due(today, lead_days=REPORT_LEAD_DAYS):
        deadline = p.deadline()
        out.append(ReportDue(p.label, deadline.isoformat() if deadline else "",
                             repo.report_made(s, p.label, area_code)))
    return tuple(out)
