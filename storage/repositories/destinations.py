"""Destinations: where packages go (HTTTN endpoints and other HTTP receivers), optionally for one area."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.deliveries import DestinationKind
from domain.errors import InvalidInput, NotFound
from storage.models import DestinationRecord


def add_destination(session: Session, *, name: str, kind: DestinationKind, url: str,
                    area_code: str | None = None) -> DestinationRecord:
    """Add a destination, or update the URL (and area) of an existing one of the same name."""
    if not url.startswith(("http://", "https://")):
        raise InvalidInput(f"destination URL must start with http:// or https://, got {url!r}")
    if len(url) > 2000 or any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        raise InvalidInput("destination URL must be one line without spaces or control characters "
                           "(at most 2000 characters)")
    rec = get_by_name(session, name)
    if rec is None:
        rec = DestinationRecord(name=name, kind=kind.value, url=url, area_code=area_code)
        session.add(rec)
    else:
        rec.kind, rec.url, rec.enabled, rec.area_code = kind.value, url, True, area_code
    session.flush()
    return rec


def get_by_name(session: Session, name: str) -> DestinationRecord | None:
    return session.scalar(select(DestinationRecord).where(DestinationRecord.name == name))


def list_destinations(session: Session, *, enabled_only: bool = False) -> list[DestinationRecord]:
    stmt = select(DestinationRecord).order_by(DestinationRecord.id)
    if enabled_only:
        stmt = stmt.where(DestinationRecord.enabled.is_(True))
    return list(session.scalars(stmt))


def disable_destination(session: Session, name: str) -> None:
    set_enabled(session, name, False)


def set_enabled(session: Session, name: str, enabled: bool) -> None:
    rec = get_by_name(session, name)
    if rec is None:
        raise NotFound(f"no destination named '{name}'")
    rec.enabled = enabled


def move_area(session: Session, old: str, new: str) -> int:
    """Point destinations scoped to area ``old`` at ``new`` (the 2025 area migration).

    Returns:
        How many destinations moved.
    """
    moved = 0
    for rec in session.scalars(select(DestinationRecord).where(DestinationRecord.area_code == old)):
        rec.area_code = new
        moved += 1
    session.flush()
    return moved
