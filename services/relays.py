"""Relays: who may register upstream sources and relay slots, the checks on them, and what devices are told.

* A relay source (an upstream station) is registered by an administrator (of any area): its URL is probed
  first (``engines.icecast.probe_stream``) and refused when it cannot be reached or carries no audio.
* A relay slot puts a source on an area's mount at set times; approvers and administrators of the area may
  add one (``relay.manage`` in ``services.auth``). Two slots of one area may not overlap.
* Every change is in the audit log. The device schedule (``services.device_schedule``) carries one ``stream``
  item per airing for the devices of the slot's area and the areas below it, with a listen URL signed for
  each device (``services.streaming``).
"""

from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from domain.canonical import canonical_json, sha256_hex
from domain.clock import as_utc
from domain.devices import iso
from domain.errors import Forbidden, InvalidInput, InvalidTransition, NotFound
from domain.priority import parse_priority
from domain.programs import format_clock, format_weekdays, parse_clock, parse_weekdays
from domain.relays import (
    CARRYING,
    RelayOccurrence,
    RelayRunStatus,
    RelaySlotRule,
    check_no_overlap,
    check_source,
    occurrence_on,
    occurrences,
)
from domain.streams import area_mount
from engines.errors import EngineError
from engines.icecast import NotAudio, StreamInfo, UpstreamUnreachable, probe_stream
from services import auth, carriers, streaming
from settings import get_settings
from storage.models_relays import RelayRunRecord, RelaySlotRecord, RelaySourceRecord
from storage.repositories import areas as area_repo
from storage.repositories import audit
from storage.repositories import relays as repo

Probe = Callable[[str, float], StreamInfo]


def add_source(s: Session, *, name: str, url: str, actor: str, probe: Probe = probe_stream) -> RelaySourceRecord:
    """Register an upstream after checking it answers with audio.

    Raises:
        Forbidden: ``actor`` is no administrator anywhere.
        InvalidInput: a bad name or URL, a name in use, an unreachable or non-audio upstream.
    """
    user = auth.acting_user(s, actor, what="register a relay source")
    if not auth.can_anywhere(s, user, "admin"):
        raise Forbidden(f"user '{user.username}' may not register relay sources (administrators only)")
    name, url = check_source(name, url)
    if repo.find_source(s, name) is not None:
        raise InvalidInput(f"a relay source named '{name}' exists")
    try:
        info = probe(url, get_settings().relay_probe_timeout_s)
    except UpstreamUnreachable as exc:
        raise InvalidInput(f"the relay source cannot be reached: {exc}") from None
    except NotAudio as exc:
        raise InvalidInput(f"the relay source carries no audio: {exc}") from None
    except EngineError as exc:
        raise InvalidInput(f"the relay source could not be checked: {exc}") from None
    rec = repo.add_source(s, name=name, url=url, codec=info.codec, actor=user.username)
    audit.record(s, actor=user.username, action="relay.source.add", entity="relay_source", entity_id=rec.id,
                 name=name, url=url, codec=info.codec, sample_rate=info.sample_rate, channels=info.channels)
    return rec


def find_source(s: Session, ref: str) -> RelaySourceRecord:
    """A source by id or by name.

    Raises:
        NotFound: no such source.
    """
    if ref.strip().isdigit():
        return repo.get_source(s, int(ref))
    found = repo.find_source(s, " ".join(ref.split()))
    if found is None:
        raise NotFound(f"no relay source named '{ref}'")
    return found


def _rules(s: Session, area_code: str) -> list[RelaySlotRule]:
    return [repo.slot_rule(r) for r in repo.list_slots(s, area_codes=[area_code], active_only=True)]


def add_slot(s: Session, *, source: str, area_code: str, starts: str, ends: str, days: str = "daily",
             priority: str = "uu_tien", actor: str) -> RelaySlotRecord:
    """Put a source on an area's air from ``starts`` to ``ends`` (Vietnam time) on ``days``.

    Raises:
        Forbidden: ``actor`` may not manage relays in the area.
        NotFound: unknown area or source.
        InvalidInput: bad times or days, an emergency priority, an inactive source, an overlap with another
            slot of the area.
    """
    area_repo.get_area(s, area_code)
    user = auth.require_actor(s, actor, "relay.manage", area_codes=[area_code], what="add a relay slot")
    src = find_source(s, source)
    if not src.active:
        raise InvalidInput(f"the relay source '{src.name}' is switched off")
    rule = RelaySlotRule(0, src.id, area_code, parse_clock(starts), parse_clock(ends), parse_weekdays(days),
                         parse_priority(priority))
    check_no_overlap(rule, _rules(s, area_code))
    rec = repo.add_slot(s, actor=user.username, source_id=src.id, area_code=area_code,
                        starts=format_clock(rule.start), ends=format_clock(rule.end),
                        weekdays="".join(str(d) for d in sorted(rule.weekdays)), priority=rule.priority.value)
    audit.record(s, actor=user.username, action="relay.slot.add", entity="relay_slot", entity_id=rec.id,
                 source=src.name, area_code=area_code, starts=rec.starts, ends=rec.ends, weekdays=rec.weekdays,
                 priority=rec.priority)
    return rec


def set_slot_active(s: Session, slot_id: int, active: bool, *, actor: str) -> RelaySlotRecord:
    """Switch a slot off (it stops airing) or on again (checked for overlaps again).

    Raises:
        Forbidden, NotFound, InvalidInput: as :func:`add_slot`.
    """
    rec = repo.get_slot(s, slot_id)
    user = auth.require_actor(s, actor, "relay.manage", area_codes=[rec.area_code], what="change a relay slot")
    if active and not rec.active:
        check_no_overlap(repo.slot_rule(rec), _rules(s, rec.area_code))
    if rec.active != active:
        rec.active = active
        s.flush()
        audit.record(s, actor=user.username, action="relay.slot.enable" if active else "relay.slot.disable",
                     entity="relay_slot", entity_id=rec.id, area_code=rec.area_code)
    return rec


def slot_label(rec: RelaySlotRecord, lang: str = "vi") -> str:
    return f"{rec.starts}-{rec.ends} {format_weekdays(map(int, rec.weekdays), lang)}"


def airings(s: Session, start: datetime, end: datetime, area_codes: Iterable[str] | None = None
            ) -> list[tuple[RelayOccurrence, RelaySlotRecord, RelaySourceRecord]]:
    """Airings of active slots (of active sources) on the air at some time in ``[start, end)``."""
    codes = None if area_codes is None else sorted(set(area_codes))
    slots = repo.list_slots(s, area_codes=codes, active_only=True)
    sources = {r.id: r for r in repo.list_sources(s)}
    out: list[tuple[RelayOccurrence, RelaySlotRecord, RelaySourceRecord]] = []
    for rec in slots:
        src = sources.get(rec.source_id)
        if src is None or not src.active:
            continue
        out.extend((occ, rec, src) for occ in occurrences(repo.slot_rule(rec), start, end))
    out.sort(key=lambda t: (t[0].starts_at, t[0].area_code, t[0].slot_id))
    return out


def airing_hash(occ: RelayOccurrence, source_url: str) -> str:
    """A stable SHA-256 naming one airing (the ``manifest_hash`` of its schedule item and play logs)."""
    return sha256_hex(canonical_json({"relay": occ.slot_id, "date": occ.local_date.isoformat(),
                                      "area": occ.area_code, "source": source_url, "from": iso(occ.starts_at),
                                      "until": iso(occ.ends_at)}))


def airing_hashes(s: Session, chain: Iterable[str], start: datetime, end: datetime) -> set[str]:
    """The hashes of the airings on the mounts of ``chain`` in the window (play logs of streams name them)."""
    return {airing_hash(occ, src.url) for occ, _rec, src in airings(s, start, end, chain)}


def stream_items(s: Session, chain: Iterable[str], start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Schedule items for the airings on the mounts of ``chain`` (a device's area and its ancestors) in the
    window, without listen URLs (:func:`with_listen_urls` adds one per device)."""
    items: list[dict[str, Any]] = []
    for occ, _rec, src in airings(s, start, end, chain):
        items.append({
            "item_id": occ.key, "kind": "stream", "manifest_hash": airing_hash(occ, src.url),
            "priority": occ.priority.value, "language": "", "title": src.name,
            "starts_at": iso(occ.starts_at), "expires_at": iso(occ.ends_at), "repeat_every_s": None,
            "audio": None, "slides": [], "stream": {"mount": area_mount(occ.area_code), "url": None},
        })
    return items


def with_listen_urls(items: list[dict[str, Any]], device_id: int) -> list[dict[str, Any]]:
    """``items`` with each stream's listen URL signed for ``device_id`` (valid until the airing ends plus
    ``BANTIN_STREAM_TOKEN_GRACE_S``); other items unchanged."""
    if not any(i.get("kind") == "stream" for i in items):
        return items
    grace = get_settings().stream_token_grace_s
    out = []
    for item in items:
        if item.get("kind") == "stream":
            ends = datetime.fromisoformat(str(item["expires_at"]).replace("Z", "+00:00"))
            code = item["stream"]["mount"][len("/area-"):-len(".mp3")]
            url = streaming.device_listen_url(device_id, code, int(ends.timestamp()) + grace)
            item = {**item, "stream": {**item["stream"], "url": url}}
        out.append(item)
    return out


def generation_parts() -> list[Any]:
    """Scalar subqueries that change whenever a relay slot or source is added or switched (for the device
    service's schedule cache)."""
    return [select(func.count(RelaySlotRecord.id)).scalar_subquery(),
            select(func.max(RelaySlotRecord.updated_at)).scalar_subquery(),
            select(func.max(RelaySourceRecord.updated_at)).scalar_subquery()]


def due_airings(s: Session, now: datetime, ahead: timedelta = timedelta(minutes=3)
                ) -> list[tuple[RelayOccurrence, RelaySlotRecord, RelaySourceRecord]]:
    """Airings on the air now or starting within ``ahead`` that no relay run has taken yet."""
    out = []
    for occ, rec, src in airings(s, now, now + ahead):
        if occ.ends_at <= now:
            continue
        if repo.get_run(s, occ.slot_id, occ.local_date.isoformat()) is None:
            out.append((occ, rec, src))
    return out


def claim(s: Session, occ: RelayOccurrence) -> RelayRunRecord | None:
    """Take an airing for one relay run (None when another run took it first, even at the same moment: the
    insert skips an existing run, so overlapping ``relay-due`` runs start each airing once)."""
    return repo.claim_run(s, slot_id=occ.slot_id, local_date=occ.local_date.isoformat(), area_code=occ.area_code,
                          starts_at=occ.starts_at, ends_at=occ.ends_at)


def occurrence_of(s: Session, slot_id: int, local_date: str) -> tuple[RelayOccurrence, RelaySlotRecord,
                                                                      RelaySourceRecord]:
    """The airing of slot ``slot_id`` on a Vietnam date.

    Raises:
        NotFound: no such slot.
        InvalidInput: the slot does not air that day.
    """
    rec = repo.get_slot(s, slot_id)
    occ = occurrence_on(repo.slot_rule(rec), date.fromisoformat(local_date))
    if occ is None:
        raise InvalidInput(f"relay slot {slot_id} does not air on {local_date}")
    return occ, rec, repo.get_source(s, rec.source_id)


FlowRunGone = Callable[[str], bool]  # whether the flow run of this id is over or unknown (the sweeper asks Prefect)


def queued(s: Session, slot_id: int, local_date: str, flow_run_id: str) -> None:
    """Note on a claimed run the flow run that will carry it (a ``queued`` event): the sweeper asks whether
    that flow run is gone before it fails a run whose carrier has not started yet."""
    run = repo.get_run(s, slot_id, local_date)
    if run is not None:
        repo.add_event(s, run, "queued", flow_run_id)


def run_status(s: Session, slot_id: int, local_date: str) -> str | None:
    """The status of an airing's run (None: no run)."""
    run = repo.get_run(s, slot_id, local_date)
    return None if run is None else run.status


def take(s: Session, slot_id: int, local_date: str, now: datetime | None = None) -> bool:
    """The carrier's handover: move the claimed run to ``running`` (compare-and-set), so one carrier only
    carries an airing and never one the sweeper has failed.

    A run that is not ``claimed`` any more (another carrier has it, it ended, the sweeper failed it) is not
    carried: a ``not_carried`` event and an audit entry say so, its status stays. A run whose airing ended
    before any carrier started is failed (``missed``). Returns whether this carrier carries the run.
    """
    now = now or datetime.now(UTC)
    run = repo.get_run(s, slot_id, local_date)
    if run is None:
        return False
    why = ""
    if run.status == RelayRunStatus.CLAIMED and now >= as_utc(run.ends_at):
        try:
            repo.move_run(s, run, RelayRunStatus.FAILED, "missed",
                          "no carrier started before the airing ended (a busy relay queue)", at=now)
        except InvalidTransition:
            pass
        else:
            _audit_event(s, run, "missed", "no carrier started before the airing ended")
            return False
    if run.status == RelayRunStatus.CLAIMED:
        try:
            repo.move_run(s, run, RelayRunStatus.RUNNING, "started", "a carrier took the airing", at=now)
            return True
        except InvalidTransition:
            why = f"another writer moved it first (now {run.status})"
    detail = f"the run is already {run.status}: this carrier does not carry it" + (f"; {why}" if why else "")
    repo.add_event(s, run, "not_carried", detail, at=now)
    _audit_event(s, run, "not_carried", detail)
    return False


def heartbeat(s: Session, slot_id: int, local_date: str, now: datetime | None = None) -> bool:
    """The carrier of an airing is alive (its run's ``updated_at``, :func:`services.carriers.beat`; the sweeper
    judges by it).

    Returns:
        Whether the run is still carried (False: the sweeper failed it meanwhile; the carrier stops).
    """
    where = and_(RelayRunRecord.slot_id == slot_id, RelayRunRecord.local_date == local_date)
    return carriers.beat(s, RelayRunRecord, where, CARRYING, now or datetime.now(UTC)) > 0


def sweep_orphans(s: Session, now: datetime, *, flow_run_gone: FlowRunGone | None = None) -> list[tuple[int, str]]:
    """Mark failed the runs still open whose carrier is gone, each with a ``failed`` event and an audit entry
    (compare-and-set: a carrier that takes or moves the run at the same moment wins, the run is left alone).

    * a carried run (``running``/``fallback``, not ended) silent for the carrier timeout: no heartbeat;
    * a claimed run whose carrier never started: only once the flow run queued for it is gone
      (``flow_run_gone``; a busy relay queue starts it late, and it carries the rest of the airing), or once
      the airing ended the carrier timeout ago (``BANTIN_CARRIER_TIMEOUT_S``, :mod:`services.carriers`).

    Returns ``(slot id, Vietnam date)`` of each."""
    done = []
    open_states = [RelayRunStatus.CLAIMED.value, *sorted(c.value for c in CARRYING)]
    for run in s.scalars(select(RelayRunRecord).where(RelayRunRecord.status.in_(open_states))):
        if any(e.get("event") in ("ended", "failed") for e in run.events):
            continue  # a run that ended on default content keeps the status "fallback"
        over = carriers.overdue(run.ends_at, now)
        if run.status == RelayRunStatus.CLAIMED:
            flow_runs = [e.get("detail", "") for e in run.events if e.get("event") == "queued"]
            gone = bool(flow_runs) and flow_run_gone is not None and flow_run_gone(flow_runs[-1])
            if not (gone or over):
                continue
            why = "its flow run ended without carrying it" if gone else "no carrier started before the airing ended"
        else:
            if not (over or carriers.overdue(run.updated_at, now)):
                continue
            why = "the airing ended long ago" if over else "no heartbeat"
        detail = f"the relay carrier is gone ({why}); marked failed by the sweeper"
        try:
            repo.move_run(s, run, RelayRunStatus.FAILED, "failed", detail, at=now)
        except InvalidTransition:
            continue
        _audit_event(s, run, "failed", detail)
        done.append((run.slot_id, run.local_date))
    return done


def _audit_event(s: Session, run: RelayRunRecord, event: str, detail: str) -> None:
    audit.record(s, actor="system", action=f"relay.{event}", entity="relay_slot", entity_id=run.slot_id,
                 date=run.local_date, area_code=run.area_code, detail=detail[:300])


def record_event(s: Session, slot_id: int, local_date: str, event: str, detail: str = "", *,
                 status: RelayRunStatus | None = None) -> None:
    """Log what happened to an airing (and, for outages and fallbacks, in the audit log as the system); a
    ``status`` moves the run (compare-and-set).

    Raises:
        InvalidTransition: the run cannot move there, or the sweeper moved it first (it failed the run).
    """
    run = repo.get_run(s, slot_id, local_date)
    if run is None:
        return
    if status is None:
        repo.add_event(s, run, event, detail)
    else:
        repo.move_run(s, run, status, event, detail)
    if event in ("upstream_down", "fallback", "no_fallback", "upstream_back", "emergency", "failed"):
        _audit_event(s, run, event, detail)
