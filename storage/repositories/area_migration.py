"""Records that name an area, counted and re-pointed when an installation moves to the 2025 units.

What follows its unit: memberships, devices, programmes (and their orders from today on), area profiles
(quiet hours, volume, default content), emergency templates, destinations scoped to an area, hamlets. What
keeps its code: drafts and their revisions, packages, approvals, program editions already built, play logs,
archive items (the published history).
"""

from collections import Counter
from collections.abc import Mapping
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from domain.areas import AreaLevel
from storage.models import AreaRecord, DestinationRecord, EmergencyTemplateRecord, MembershipRecord
from storage.models_devices import DeviceRecord
from storage.models_programs import AreaProfileRecord, ProgramOrderRecord, ProgramRecord

KINDS = ("memberships", "devices", "programs", "program_orders", "area_profiles", "emergency_templates",
         "destinations", "hamlets")


def _codes(session: Session, column: InstrumentedAttribute[Any], *where: ColumnElement[bool]) -> list[str]:
    return [c for c in session.scalars(select(column).where(*where)) if c is not None]


def uses(session: Session, *, today: str) -> dict[str, Counter[str]]:
    """Per kind of record, how many rows name each area code (orders: from ``today`` on)."""
    hamlet_parents = _codes(session, AreaRecord.parent_code, AreaRecord.level == AreaLevel.HAMLET.value,
                            AreaRecord.successors.is_(None))
    return {
        "memberships": Counter(_codes(session, MembershipRecord.area_code)),
        "devices": Counter(_codes(session, DeviceRecord.area_code)),
        "programs": Counter(_codes(session, ProgramRecord.area_code)),
        "program_orders": Counter(_codes(session, ProgramOrderRecord.area_code, ProgramOrderRecord.slot_date >= today)),
        "area_profiles": Counter(_codes(session, AreaProfileRecord.area_code)),
        "emergency_templates": Counter(_codes(session, EmergencyTemplateRecord.area_code)),
        "destinations": Counter(_codes(session, DestinationRecord.area_code)),
        "hamlets": Counter(hamlet_parents),
    }


def move(session: Session, moves: Mapping[str, str], *, today: str, names: Mapping[str, str]) -> dict[str, int]:
    """Re-point every following record from an old code to its new one; returns rows changed per kind.

    Two memberships that become the same grant are kept once; a district approver's level becomes commune
    (the tree has no districts any more, and a province-wide grant would widen what they may approve);
    two programmes of one name landing in one commune get the old unit's name added; profiles landing on
    one area are merged (default content joined, the first one's quiet hours and volume kept).
    """
    changed: Counter[str] = Counter()
    seen: set[tuple[int, str, str, str, str]] = set()
    for m in session.scalars(select(MembershipRecord).order_by(MembershipRecord.id)):
        new = moves.get(m.area_code or "", m.area_code)
        level = AreaLevel.COMMUNE.value if m.level == AreaLevel.DISTRICT.value else m.level
        key = (m.user_id, m.role, new or "", m.language or "", level or "")
        if key in seen:
            session.delete(m)
            changed["memberships"] += 1
            continue
        seen.add(key)
        if (new, level) != (m.area_code, m.level):
            m.area_code, m.level = new, level
            changed["memberships"] += 1
    for d in session.scalars(select(DeviceRecord).where(DeviceRecord.area_code.in_(list(moves)))):
        if moves[d.area_code] != d.area_code:
            d.area_code = moves[d.area_code]
            changed["devices"] += 1
    taken = {(p.area_code, p.name) for p in session.scalars(select(ProgramRecord))}
    for p in session.scalars(select(ProgramRecord).where(ProgramRecord.area_code.in_(list(moves)))):
        new = moves[p.area_code]
        if new == p.area_code:
            continue
        name = p.name if (new, p.name) not in taken else f"{p.name} ({names.get(p.area_code, p.area_code)})"[:100]
        taken.add((new, name))
        p.area_code, p.name = new, name
        changed["programs"] += 1
    order_keys = {(o.program_id, o.slot_date, o.area_code) for o in session.scalars(select(ProgramOrderRecord))}
    for o in session.scalars(select(ProgramOrderRecord).where(ProgramOrderRecord.area_code.in_(list(moves)),
                                                              ProgramOrderRecord.slot_date >= today)):
        new = moves[o.area_code]
        if new == o.area_code:
            continue
        if (o.program_id, o.slot_date, new) in order_keys:
            session.delete(o)  # the commune's own order for that slot wins
        else:
            order_keys.add((o.program_id, o.slot_date, new))
            o.area_code = new
        changed["program_orders"] += 1
    session.flush()
    for prof in session.scalars(select(AreaProfileRecord).where(AreaProfileRecord.area_code.in_(list(moves)))):
        new = moves[prof.area_code]
        if new == prof.area_code:
            continue
        target = session.get(AreaProfileRecord, new)
        if target is None:
            session.add(AreaProfileRecord(area_code=new, quiet_hours=prof.quiet_hours,
                                          volume_profile=prof.volume_profile,
                                          default_packages=list(prof.default_packages), updated_by=prof.updated_by))
        else:
            target.default_packages = list(dict.fromkeys([*target.default_packages, *prof.default_packages]))
        session.delete(prof)
        session.flush()
        changed["area_profiles"] += 1
    for t in session.scalars(select(EmergencyTemplateRecord).where(EmergencyTemplateRecord.area_code.in_(list(moves)))):
        if moves[t.area_code] != t.area_code:
            t.area_code = moves[t.area_code]
            changed["emergency_templates"] += 1
    for dest in session.scalars(select(DestinationRecord).where(DestinationRecord.area_code.in_(list(moves)))):
        if moves[dest.area_code or ""] != dest.area_code:
            dest.area_code = moves[dest.area_code or ""]
            changed["destinations"] += 1
    for h in session.scalars(select(AreaRecord).where(AreaRecord.level == AreaLevel.HAMLET.value,
                                                      AreaRecord.parent_code.in_(list(moves)))):
        if moves[h.parent_code or ""] != h.parent_code:
            h.parent_code = moves[h.parent_code or ""]
            changed["hamlets"] += 1
    session.flush()
    return {kind: changed[kind] for kind in KINDS}
