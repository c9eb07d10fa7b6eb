"""Moving an installation built on the pre-2025 units (province > district > commune) to today's two tiers.

``migrate_to_2025`` plans first (every old code in use -> one current unit, from the bundled conversion
table and the operator's ``--assign OLD=NEW``), stops before writing when any old unit in use was divided
among several current units, and otherwise, in one transaction: loads today's units, re-points the records
that follow their unit (see ``storage.repositories.area_migration``), retires the old units (their rows stay
with the current communes they went to, so published history keeps its codes) and writes one audit entry.
A dry run reports the same counts and writes nothing; a finished migration run again changes nothing.
"""

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from domain.area_history import Conflict, plan_migration, successors
from domain.areas import AreaLevel
from domain.programs import VN_TZ
from storage.repositories import area_migration, areas, audit

TARGET = "2025"


@dataclass(frozen=True, slots=True)
class MigrationReport:
    """What a migration found and did.

    Attributes:
        uses: per kind of record, how many rows named an old unit before.
        changed: per kind, rows re-pointed (zero in a dry run or when stopped by conflicts).
        moves: old code -> current code for every old code in use.
        retired: how many old units were (or would be) retired.
        conflicts: old units in use that need ``--assign OLD=NEW`` first; nothing was written.
        already_current: the installation was on today's units: nothing to do.
    """

    dry_run: bool
    uses: dict[str, int]
    changed: dict[str, int]
    moves: dict[str, str]
    retired: int
    conflicts: tuple[Conflict, ...] = ()
    already_current: bool = False
    names: dict[str, str] = field(default_factory=dict)

    @property
    def written(self) -> bool:
        return not self.dry_run and not self.conflicts and not self.already_current


def migrate_to_2025(session: Session, *, actor: str, assign: dict[str, str] | None = None, dry_run: bool = True,
                    now: datetime | None = None) -> MigrationReport:
    """Plan, and unless ``dry_run`` or conflicted, carry out the move to the 2025 units (see module doc).

    Raises:
        InvalidInput: an assignment names an unused old code or a code that is not a current unit.
    """
    today = (now or datetime.now(VN_TZ)).astimezone(VN_TZ).date().isoformat()
    stored = areas.all_areas(session)
    current = areas.read_area_csv()
    table = areas.read_conversion()
    old_codes = {c for c, a in stored.items() if a.level is not AreaLevel.HAMLET and c not in current
                 or (c in current and current[c].parent_code != a.parent_code)}
    counted = area_migration.uses(session, today=today)
    in_use: dict[str, int] = {}
    for per_code in counted.values():
        for code, n in per_code.items():
            in_use[code] = in_use.get(code, 0) + n
    if not old_codes:
        return MigrationReport(dry_run=dry_run, uses={k: 0 for k in counted}, changed={k: 0 for k in counted},
                               moves={}, retired=0, already_current=True)
    old_in_use = {c: n for c, n in in_use.items() if c in old_codes or
                  (c in stored and stored[c].level is AreaLevel.HAMLET and stored[c].parent_code in old_codes)}
    plan = plan_migration(old_in_use, stored, current, table, assign or {})
    uses = {kind: sum(n for c, n in per.items() if c in old_in_use) for kind, per in counted.items()}
    names = {c: stored[c].name for c in old_in_use if c in stored} | {c: current[c].name for c in plan.moves.values()
                                                                     if c in current}
    retiring = sorted(c for c in old_codes if c not in current)
    report = dict(uses=uses, moves=plan.moves, retired=len(retiring), names=names)
    if plan.conflicts or dry_run:
        return MigrationReport(dry_run=dry_run, changed={k: 0 for k in counted}, conflicts=plan.conflicts,
                               **report)  # type: ignore[arg-type]  # report: a dict of MigrationReport fields
    areas.upsert_areas(session, current)
    changed = area_migration.move(session, plan.moves, today=today, names=names)
    for code in retiring:
        areas.retire(session, code, list(successors(code, stored, table, plan.moves)))
    session.flush()
    session.info.pop("bantin.area_tree", None)  # the per-session tree (services.auth) is the old one
    audit.record(session, actor=actor, action="areas.migrate", entity="areas", entity_id=TARGET,
                 uses=uses, changed=changed, moves=plan.moves, assigned=assign or {}, retired=len(retiring))
    return MigrationReport(dry_run=False, changed=changed, **report)  # type: ignore[arg-type]  # report: a dict of MigrationReport fields
