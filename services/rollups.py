"""Keeping the reporting rollups up to date: play logs folded into daily and per-bulletin sums, device
online/offline changes derived from polls, and device health from inventories.

Each call to :func:`fold_plays` handles one chunk in the caller's transaction and moves the watermark with a
compare-and-set, so two runs at once never count a play twice (the loser's transaction is rolled back).
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from domain.devices import DeviceStatus
from domain.errors import DomainError
from domain.reports import DeviceState, Health, device_state, item_language
from settings import get_settings
from storage.repositories import devices as device_repo
from storage.repositories import reports as repo


class RollupConflict(DomainError):
    """Another run folded the same play logs first; this chunk was not counted (retry)."""


@dataclass(frozen=True, slots=True)
class Thresholds:
    """When a device counts as online (heard from within ``online_s``) or offline (silent beyond ``offline_s``)."""

    online_s: float
    offline_s: float

    @classmethod
    def from_settings(cls) -> "Thresholds":
        s = get_settings()
        return cls(float(s.device_online_s), float(s.device_offline_s))


def fold_plays(session: Session, *, chunk: int = 50_000) -> int:
    """Fold up to ``chunk`` new play log rows into ``play_daily``, ``play_firsts`` and ``play_languages``.

    Returns:
        How many play log rows were folded (0: up to date).

    Raises:
        RollupConflict: another run moved the watermark meanwhile.
    """
    start = repo.rollup_watermark(session)
    rows = repo.play_rows_after(session, start, chunk)
    if not rows:
        return 0
    daily: dict[tuple[str, int], dict[str, Any]] = {}
    firsts: dict[tuple[str, int], dict[str, Any]] = {}
    languages: dict[tuple[str, str, int], dict[str, Any]] = {}
    for _id, device_id, area, manifest, started, ended, completed, trigger, item_id in rows:
        day = repo.vn_day(started)
        seconds = max(0.0, (ended - started).total_seconds()) if ended is not None else 0.0
        d = daily.get((day, device_id))
        if d is None:
            d = daily[(day, device_id)] = {"day": day, "device_id": device_id, "area_code": area, "plays": 0,
                                           "completed": 0, "interrupted": 0, "emergency_plays": 0, "seconds": 0.0}
        d["plays"] += 1
        d["completed" if completed else "interrupted"] += 1
        d["emergency_plays"] += trigger == "emergency"
        d["seconds"] += seconds
        f = firsts.get((manifest, device_id))
        if f is None:
            f = firsts[(manifest, device_id)] = {"manifest_hash": manifest, "device_id": device_id, "area_code": area,
                                                 "first_at": started, "last_at": started, "plays": 0,
                                                 "completed": 0, "interrupted": 0}
        f["first_at"] = min(f["first_at"], started)
        f["last_at"] = max(f["last_at"], started)
        f["plays"] += 1
        f["completed" if completed else "interrupted"] += 1
        lang = item_language(item_id)
        if lang is not None:
            g = languages.get((manifest, lang, device_id))
            if g is None:
                g = languages[(manifest, lang, device_id)] = {"manifest_hash": manifest, "language": lang,
                                                              "device_id": device_id, "area_code": area,
                                                              "first_at": started, "plays": 0, "seconds": 0.0}
            g["first_at"] = min(g["first_at"], started)
            g["plays"] += 1
            g["seconds"] += seconds
    for batch in _batches(list(daily.values()), 2000):
        repo.upsert_daily(session, batch)
    for batch in _batches(list(firsts.values()), 2000):
        repo.upsert_firsts(session, batch)
    for batch in _batches(list(languages.values()), 2000):
        repo.upsert_languages(session, batch)
    if not repo.advance_watermark(session, start, rows[-1][0]):
        raise RollupConflict("the play rollup was advanced by another run; this chunk is rolled back")
    return len(rows)


def _batches(rows: list[dict[str, Any]], n: int) -> list[list[dict[str, Any]]]:
    return [rows[i:i + n] for i in range(0, len(rows), n)]


def fold_all(session_factory: Callable[[], Any], *, chunk: int = 50_000) -> int:
    """Fold every pending play log, one transaction per chunk; returns rows folded."""
    total = 0
    while True:
        with session_factory() as s:
            n = fold_plays(s, chunk=chunk)
        total += n
        if n < chunk:
            return total


def record_poll_gaps(session: Session, seen: dict[int, datetime], thresholds: Thresholds) -> int:
    """Record the state changes that new requests from devices reveal, before their ``last_seen_at`` moves on.

    ``seen`` maps device ids to the time of their newest request. A device silent for longer than the offline
    threshold since its stored ``last_seen_at`` was offline from ``last_seen_at + offline_s`` until this request:
    both changes are recorded (the offline one only when the reports flow has not already recorded it). A
    device's first request ever marks it online. So outages shorter than the flow's interval count in uptime,
    and a device coming back is dated by its first request, not by the next run of the flow.

    Returns:
        How many changes were recorded.
    """
    if not seen:
        return 0
    stored = repo.last_seen_of(session, seen)
    gap = timedelta(seconds=thresholds.offline_s)
    candidates: dict[int, datetime] = {}
    for device_id, at in seen.items():
        before = stored.get(device_id, at)
        if before is None or at - before > gap:
            candidates[device_id] = at
    if not candidates:
        return 0
    last = repo.last_states(session, candidates)
    changes = []
    for device_id, at in sorted(candidates.items()):
        before = stored[device_id]
        if before is not None and last.get(device_id) is not False:
            changes.append({"device_id": device_id, "at": before + gap, "online": False, "reason": "silent"})
        if before is not None or last.get(device_id) is not True:
            changes.append({"device_id": device_id, "at": at, "online": True, "reason": "poll"})
    repo.add_state_changes(session, changes)
    return len(changes)


def record_state_changes(session: Session, now: datetime, thresholds: Thresholds) -> int:
    """Append an online/offline change for every authorised device whose state differs from the last one
    recorded (the reports flow's pass; :func:`record_poll_gaps` records changes as requests arrive). A device
    going offline is dated when it passed the offline threshold; one coming online, when it was last heard
    from. Stale counts as online (it is still polling, if late).

    Returns:
        How many changes were recorded.
    """
    last = repo.last_states(session)
    changes = []
    for d in device_repo.list_devices(session, status=DeviceStatus.AUTHORISED):
        state = device_state(d.last_seen_at, now, online_s=thresholds.online_s, offline_s=thresholds.offline_s)
        online = state is not DeviceState.OFFLINE
        if last.get(d.id) == online or (d.id not in last and not online and d.last_seen_at is None):
            continue
        if online:
            at = d.last_seen_at or now
        else:
            at = (d.last_seen_at + timedelta(seconds=thresholds.offline_s)) if d.last_seen_at else now
        changes.append({"device_id": d.id, "at": min(at, now), "online": online,
                        "reason": "poll" if online else "silent"})
    repo.add_state_changes(session, changes)
    return len(changes)


def save_health(session: Session, device_id: int, health: Health, free_bytes: int | None, at: datetime) -> None:
    repo.save_health(session, device_id, health, free_bytes, at)
