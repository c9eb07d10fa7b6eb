"""Relay sources, relay slots and the runs of the relay flow (``storage.models_relays``)."""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.errors import NotFound
from domain.priority import Priority
from domain.programs import parse_clock
from domain.relays import RelayRunStatus, RelaySlotRule, transition_relay_run
from storage.models_relays import RelayRunRecord, RelaySlotRecord, RelaySourceRecord
from storage.repositories.cas import compare_and_set


def get_source(session: Session, source_id: int) -> RelaySourceRecord:
    rec = session.get(RelaySourceRecord, source_id)
    if rec is None:
        raise NotFound(f"no relay source with id {source_id}")
    return rec


def find_source(session: Session, name: str) -> RelaySourceRecord | None:
    return session.scalar(select(RelaySourceRecord).where(RelaySourceRecord.name == name))


def list_sources(session: Session) -> list[RelaySourceRecord]:
    return list(session.scalars(select(RelaySourceRecord).order_by(RelaySourceRecord.name)))


def add_source(session: Session, *, name: str, url: str, codec: str, actor: str) -> RelaySourceRecord:
    rec = RelaySourceRecord(name=name, url=url, codec=codec, active=True, created_by=actor)
    session.add(rec)
    session.flush()
    return rec


def get_slot(session: Session, slot_id: int) -> RelaySlotRecord:
    rec = session.get(RelaySlotRecord, slot_id)
    if rec is None:
        raise NotFound(f"no relay slot with id {slot_id}")
    return rec


def list_slots(session: Session, *, area_codes: list[str] | None = None, active_only: bool = False
               ) -> list[RelaySlotRecord]:
    q = select(RelaySlotRecord).order_by(RelaySlotRecord.area_code, RelaySlotRecord.starts, RelaySlotRecord.id)
    if area_codes is not None:
        q = q.where(RelaySlotRecord.area_code.in_(area_codes))
    if active_only:
        q = q.where(RelaySlotRecord.active.is_(True))
    return list(session.scalars(q))


def add_slot(session: Session, *, actor: str, **values: Any) -> RelaySlotRecord:
    rec = RelaySlotRecord(created_by=actor, active=True, **values)
    session.add(rec)
    session.flush()
    return rec


def slot_rule(rec: RelaySlotRecord) -> RelaySlotRule:
    """The domain rule of a stored slot."""
    return RelaySlotRule(rec.id, rec.source_id, rec.area_code, parse_clock(rec.starts), parse_clock(rec.ends),
                         frozenset(int(d) for d in rec.weekdays), Priority(rec.priority))


def get_run(session: Session, slot_id: int, local_date: str) -> RelayRunRecord | None:
    return session.scalar(select(RelayRunRecord).where(RelayRunRecord.slot_id == slot_id,
                                                       RelayRunRecord.local_date == local_date))


def list_runs(session: Session, *, area_code: str | None = None, limit: int = 50) -> list[RelayRunRecord]:
    q = select(RelayRunRecord).order_by(RelayRunRecord.starts_at.desc(), RelayRunRecord.id.desc()).limit(limit)
    if area_code is not None:
        q = q.where(RelayRunRecord.area_code == area_code)
    return list(session.scalars(q))


def claim_run(session: Session, *, slot_id: int, local_date: str, area_code: str, starts_at: datetime,
              ends_at: datetime) -> RelayRunRecord | None:
    """Create the run of this airing as ``claimed``, or None when a run of it exists: one insert that skips on
    the (slot, date) key, so of two claimers at the same moment (two overlapping ``relay-due`` runs) one gets
    it and the other None, never an error (PostgreSQL waits for the first one's transaction)."""
    from sqlalchemy.dialects.postgresql import insert as pg_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    run_id = session.scalar(insert(RelayRunRecord).values(
        slot_id=slot_id, local_date=local_date, area_code=area_code, starts_at=starts_at, ends_at=ends_at,
        status=RelayRunStatus.CLAIMED.value, events=[],
    ).on_conflict_do_nothing(index_elements=["slot_id", "local_date"]).returning(RelayRunRecord.id))
    return None if run_id is None else session.get(RelayRunRecord, run_id)


def _event(at: datetime, event: str, detail: str) -> dict[str, str]:
    return {"at": at.isoformat().replace("+00:00", "Z"), "event": event, "detail": detail[:500]}


def add_event(session: Session, run: RelayRunRecord, event: str, detail: str = "", *,
              at: datetime | None = None) -> None:
    """Append an event to a run (a new list, so the JSON column is written); its status stays."""
    run.events = [*run.events, _event(at or datetime.now(UTC), event, detail)]
    session.flush()


def move_run(session: Session, run: RelayRunRecord, target: RelayRunStatus, event: str, detail: str = "", *,
             at: datetime | None = None) -> None:
    """Move a run along :data:`domain.relays.RELAY_RUN_TRANSITIONS` with an event, compare-and-set on the
    status read earlier (and mark it alive: ``updated_at``).

    Raises:
        InvalidTransition: not an edge of the table, or another writer (a carrier, the sweeper) moved the run
            first.
    """
    current = RelayRunStatus(run.status)
    transition_relay_run(current, target)
    now = at or datetime.now(UTC)
    session.flush()
    compare_and_set(session, run, "relay run", current.value, target.value,
                    {"status": target.value, "events": [*run.events, _event(now, event, detail)],
                     "updated_at": now})
