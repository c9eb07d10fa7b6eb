"""Persistence of area stations (the station named in an area's bulletins)."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models_intake import AreaStationRecord


def stations_of(session: Session, area_codes: list[str]) -> dict[str, str]:
    rows = session.scalars(select(AreaStationRecord).where(AreaStationRecord.area_code.in_(area_codes)))
    return {r.area_code: r.station_name for r in rows}


def set_station(session: Session, *, area_code: str, station_name: str | None, actor: str) -> None:
    """Set (or with None remove) an area's station name."""
    rec = session.get(AreaStationRecord, area_code)
    if station_name is None:
        if rec is not None:
            session.delete(rec)
        return
    if rec is None:
        session.add(AreaStationRecord(area_code=area_code, station_name=station_name, updated_by=actor))
    else:
        rec.station_name, rec.updated_by = station_name, actor
    session.flush()
