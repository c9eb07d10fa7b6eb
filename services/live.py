"""Live sessions: an officer on air from a browser, for chosen areas.

* Approvers and administrators of every chosen area may go live (``live.broadcast`` in ``services.auth``).
* One live session per area at a time: a second one for an area already on air is refused with the session
  that holds it.
* A session stops by itself after ``BANTIN_LIVE_MAX_MINUTES`` (:func:`expire_due`), and when its browser
  goes away for ``BANTIN_LIVE_GRACE_S`` (the web layer calls :func:`stop` with reason ``dropped``).
* A relay on air in a chosen area refuses an ordinary session; an emergency session preempts the relay:
  devices put live items before relay items, and the relay carries on its own mount unheard.
* An emergency session's schedule item has priority ``khan_cap``: devices play it through quiet hours and
  let it cut anything playing, an emergency file included (``device_agent.planner``); an ordinary one is
  ``uu_tien`` and keeps quiet hours.
* Every session has its own Icecast mount ``/area-live-<id>.mp3`` (so it never fights a relay for an
  area's mount); the device schedule carries one ``stream`` item per session for the devices of the chosen
  areas and the areas below them, with a listen URL signed per device (``services.relays.with_listen_urls``).
* Every start and stop is in the audit log.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain.canonical import canonical_json, sha256_hex
from domain.clock import as_utc
from domain.devices import iso
from domain.errors import InvalidInput, NotFound
from domain.streams import LiveStatus
from services import auth, carriers, relays
from settings import get_settings
from storage.models import UserRecord
from storage.models_live import LiveSessionRecord
from storage.repositories import areas as area_repo
from storage.repositories import audit
from storage.repositories import reports as report_repo

LIVE, ENDED = LiveStatus.LIVE, LiveStatus.ENDED
REASONS = frozenset({"stopped", "max_length", "dropped", "failed"})
TITLE_MAX = 200


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


def live_sessions(s: Session) -> list[LiveSessionRecord]:
    """Sessions on the air now (not yet stopped), oldest first."""
    return list(s.scalars(select(LiveSessionRecord).where(LiveSessionRecord.status == LIVE)
                          .order_by(LiveSessionRecord.id)))


def recent_sessions(s: Session, user: UserRecord, limit: int = 20) -> list[LiveSessionRecord]:
    """The ``limit`` newest sessions in the areas ``user`` sees (filtered before counting), newest first."""
    visible = auth.visible_area_codes(s, user)
    newest = select(LiveSessionRecord).order_by(LiveSessionRecord.id.desc())
    if visible is None:
        return list(s.scalars(newest.limit(limit)))
    out: list[LiveSessionRecord] = []
    for rec in s.scalars(newest.execution_options(yield_per=200)):
        if len(out) >= limit:
            break
        if visible & set(rec.area_codes):
            out.append(rec)
    return out


def get(s: Session, session_id: int) -> LiveSessionRecord:
    """Raises: NotFound."""
    rec = s.get(LiveSessionRecord, session_id)
    if rec is None:
        raise NotFound(f"no live session {session_id}")
    return rec


def start(s: Session, *, area_codes: Iterable[str], actor: str, title: str = "", emergency: bool = False,
          now: datetime | None = None) -> LiveSessionRecord:
    """Open a live session for ``area_codes``.

    Raises:
        Forbidden: ``actor`` may not go live in every chosen area.
        NotFound: an unknown area.
        InvalidInput: no area, a title too long, an area already live, a relay on air (ordinary session).
    """
    now = _now(now)
    codes = sorted({c.strip() for c in area_codes if c.strip()})
    if not codes:
        raise InvalidInput("no target area given")
    for code in codes:
        area_repo.get_area(s, code)
    user = auth.require_actor(s, actor, "live.broadcast", area_codes=codes, what="go on air live")
    title = " ".join(title.split())
    if len(title) > TITLE_MAX:
        raise InvalidInput(f"the title must be one line of at most {TITLE_MAX} characters")
    expire_due(s, now)
    for other in live_sessions(s):
        busy = sorted(set(codes) & set(other.area_codes))
        if busy:
            raise InvalidInput(f"area {busy[0]} is already on air live (session {other.id} by {other.started_by})")
    if not emergency:
        on_air = relays.airings(s, now, now + timedelta(seconds=1), codes)
        if on_air:
            occ, _rec, src = on_air[0]
            raise InvalidInput(f"a relay of {src.name} is on air in area {occ.area_code} until "
                               f"{iso(occ.ends_at)}; only an emergency live session preempts it")
    minutes = get_settings().live_max_minutes
    rec = LiveSessionRecord(area_codes=codes, title=title or "Phát trực tiếp", emergency=emergency, status=LIVE,
                            mount="", started_by=user.username, started_at=now,
                            deadline=now + timedelta(minutes=minutes))
    s.add(rec)
    s.flush()
    rec.mount = f"/area-live-{rec.id}.mp3"
    s.flush()
    audit.record(s, actor=user.username, action="live.start", entity="live_session", entity_id=rec.id,
                 area_codes=codes, emergency=emergency, title=rec.title, deadline=iso(rec.deadline))
    return rec


def stop(s: Session, session_id: int, *, actor: str, reason: str = "stopped",
         now: datetime | None = None) -> LiveSessionRecord:
    """End a session (a second stop changes nothing). ``actor`` "system" ends it without a permission check
    (maximum length, a browser gone, a failed encoder).

    Raises:
        NotFound: no such session.
        Forbidden: ``actor`` may not go live in the session's areas.
        InvalidInput: an unknown reason.
    """
    if reason not in REASONS:
        raise InvalidInput(f"unknown reason to stop a live session: {reason}")
    rec = get(s, session_id)
    if actor != "system":
        auth.require_actor(s, actor, "live.broadcast", area_codes=list(rec.area_codes), what="stop a live session")
    if rec.status != LIVE:
        return rec
    now = _now(now)
    rec.status, rec.ended_at, rec.end_reason = ENDED, min(now, as_utc(rec.deadline)), reason
    s.flush()
    audit.record(s, actor=actor, action="live.stop", entity="live_session", entity_id=rec.id, reason=reason,
                 area_codes=list(rec.area_codes),
                 seconds=round((as_utc(rec.ended_at) - as_utc(rec.started_at)).total_seconds(), 1))
    return rec


def expire_due(s: Session, now: datetime | None = None) -> list[int]:
    """Stop the sessions past their maximum length; their ids."""
    now = _now(now)
    done = []
    for rec in live_sessions(s):
        if as_utc(rec.deadline) <= now:
            stop(s, rec.id, actor="system", reason="max_length", now=now)
            done.append(rec.id)
    return done


def heartbeat(s: Session, session_ids: Iterable[int], now: datetime | None = None) -> int:
    """The process feeding these sessions is alive (their ``updated_at``, :func:`services.carriers.beat`; the
    sweeper judges by it); how many are still on the air."""
    ids = list(session_ids)
    return carriers.beat(s, LiveSessionRecord, LiveSessionRecord.id.in_(ids), [LIVE], _now(now)) if ids else 0


def sweep_orphans(s: Session, now: datetime) -> list[int]:
    """End as ``failed`` the sessions still on the air whose carrier is gone: nothing fed them for the carrier
    timeout (``BANTIN_CARRIER_TIMEOUT_S``; the web node died, or no browser ever sent audio), or they are that
    long past their maximum length (nobody stopped them). Audited like any stop; their ids."""
    done = []
    for rec in live_sessions(s):
        silent, over = carriers.overdue(rec.updated_at, now), carriers.overdue(rec.deadline, now)
        if silent or over:
            stop(s, rec.id, actor="system", reason="failed", now=now)
            audit.record(s, actor="system", action="live.carrier_lost", entity="live_session", entity_id=rec.id,
                         area_codes=list(rec.area_codes), why="past its end" if over else "no heartbeat")
            done.append(rec.id)
    return done


def session_hash(rec: LiveSessionRecord) -> str:
    """A stable SHA-256 naming one session (the ``manifest_hash`` of its schedule item and play logs)."""
    return sha256_hex(canonical_json({"live": rec.id, "areas": list(rec.area_codes), "mount": rec.mount,
                                      "from": iso(as_utc(rec.started_at))}))


def session_hashes(s: Session, chain: Iterable[str], since: datetime) -> set[str]:
    """The hashes of the sessions started since ``since`` in any area of ``chain`` (play logs name them)."""
    wanted = set(chain)
    rows = s.scalars(select(LiveSessionRecord).where(LiveSessionRecord.started_at >= since))
    return {session_hash(r) for r in rows if wanted & set(r.area_codes)}


def sessions_between(s: Session, start: datetime, end: datetime) -> list[LiveSessionRecord]:
    """The sessions started in ``[start, end)``, oldest first (reports)."""
    return list(s.scalars(select(LiveSessionRecord).where(LiveSessionRecord.started_at >= start,
                                                          LiveSessionRecord.started_at < end)
                          .order_by(LiveSessionRecord.id)))


@dataclass(frozen=True, slots=True)
class ProofOfPlay:
    """Which devices carried one session: those it reaches, those that played it, their plays."""

    devices: int
    devices_played: int
    plays: int
    completed: int
    first_play: datetime | None
    minutes: float


def proof_of_play(s: Session, rec: LiveSessionRecord) -> ProofOfPlay:
    """The session's proof of play, from the devices' play logs (a play ended by the session's end is
    complete)."""
    return proofs_of_play(s, [rec])[rec.id]


def proofs_of_play(s: Session, recs: Sequence[LiveSessionRecord]) -> dict[int, ProofOfPlay]:
    """:func:`proof_of_play` of each session by id, in the same few statements however many sessions (the
    devices once, the play logs of all the sessions once)."""
    from services.devices import devices_reaching_each  # services.devices accepts live play logs: imported late

    reaches = devices_reaching_each(s, [list(r.area_codes) for r in recs])
    hashes = {session_hash(r): r.id for r in recs}
    plays: dict[int, list[Any]] = {r.id: [] for r in recs}
    for row in report_repo.stream_plays(s, hashes):
        plays[hashes[row[0]]].append(row)
    out = {}
    for rec, devices in zip(recs, reaches, strict=True):
        reach = {d.id for d in devices}
        rows = [r for r in plays[rec.id] if r[1] in reach]
        firsts = [as_utc(r[4]) for r in rows]
        out[rec.id] = ProofOfPlay(len(reach), len(rows), sum(r[2] for r in rows), sum(r[3] for r in rows),
                                  min(firsts) if firsts else None, round(sum(r[5] for r in rows) / 60.0, 1))
    return out


def stream_items(s: Session, chain: Iterable[str], now: datetime | None = None) -> list[dict[str, Any]]:
    """Schedule items of the live sessions on the air in any area of ``chain`` (a device's area and its
    ancestors), emergencies first; listen URLs are added per device like relays'."""
    now = _now(now)
    wanted = set(chain)
    found = [r for r in live_sessions(s) if wanted & set(r.area_codes) and as_utc(r.deadline) > now]
    found.sort(key=lambda r: (not r.emergency, r.id))
    return [{"item_id": f"live-{r.id}", "kind": "stream", "manifest_hash": session_hash(r),
             "priority": "khan_cap" if r.emergency else "uu_tien", "language": "", "title": r.title,
             "starts_at": iso(as_utc(r.started_at)),
             "expires_at": iso(as_utc(r.deadline)), "repeat_every_s": None, "audio": None, "slides": [],
             "stream": {"mount": r.mount, "url": None}} for r in found]


def generation_parts() -> list[Any]:
    """Scalar subqueries that change whenever a live session starts or stops (the schedule cache)."""
    # not updated_at: the carrier's heartbeat moves it every few seconds. (sessions, sessions on the air)
    # changes with every start (the first grows) and every stop (the second shrinks) and never repeats.
    return [select(func.count(LiveSessionRecord.id)).scalar_subquery(),
            select(func.count(LiveSessionRecord.id)).where(LiveSessionRecord.status == LIVE).scalar_subquery()]
