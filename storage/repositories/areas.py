"""Areas: loading the seed list and looking codes up."""

import csv
from collections.abc import Iterable, Mapping
from functools import lru_cache
from importlib import resources
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain.area_history import Conversion, where_they_went
from domain.areas import Area, AreaLevel, describe, validate_hierarchy
from domain.drafts import decode_text
from domain.errors import InvalidInput, NotFound
from storage.models import AreaRecord

SEED = "areas.csv"  # today's units: 34 provinces, 3,321 communes (two tiers since 1 July 2025)
LEGACY_SEED = "areas_legacy_2025-01.csv"  # five pilot provinces with districts, as of January 2025
CONVERSION = "areas_2025_conversion.csv"  # every pre-2025 unit -> the current unit(s) it became


def read_area_csv(path: Path | None = None, *, seed: str = SEED, known: Mapping[str, Area] | None = None
                  ) -> dict[str, Area]:
    """Parse an areas CSV (code,name,level,parent_code,languages) and validate the hierarchy.

    Without ``path`` a bundled file is read: ``seed`` names it (default: today's units, official codes;
    :data:`LEGACY_SEED` is the pre-2025 three-tier list that older installations were built on).
    ``known`` areas may be parents of the file's rows (a file of hamlets for communes already loaded).
    """
    if path is None:
        text = resources.files("storage").joinpath("seed", seed).read_text(encoding="utf-8")
    else:
        if not path.is_file():
            raise InvalidInput(f"areas file not found: {path}")
        text = decode_text(path.read_bytes(), source=path.name)
    reader = csv.DictReader(text.splitlines())
    missing = {"code", "name", "level", "parent_code"} - set(reader.fieldnames or ())
    if missing:
        raise InvalidInput(f"areas file lacks column(s) {', '.join(sorted(missing))} "
                           "(expected: code,name,level,parent_code,languages)")
    areas: dict[str, Area] = {}
    for n, row in enumerate(reader, start=2):
        if any(row.get(k) is None for k in ("code", "name", "level", "parent_code")):
            raise InvalidInput(f"areas file line {n}: too few fields")
        try:
            level = AreaLevel(row["level"])
        except ValueError:
            raise InvalidInput(f"areas file line {n}: bad level {row['level']!r}") from None
        if row["code"] in areas:
            raise InvalidInput(f"areas file line {n}: code {row['code']} appears twice")
        langs = tuple(x for x in (row.get("languages") or "").split(",") if x)
        areas[row["code"]] = Area(row["code"], row["name"].strip(), level, row["parent_code"] or None, langs)
    validate_hierarchy({**(known or {}), **areas})
    return areas


@lru_cache(maxsize=1)
def read_conversion() -> dict[str, Conversion]:
    """The bundled 2025 conversion table: every pre-2025 unit by old code (see ``domain.area_history``)."""
    text = resources.files("storage").joinpath("seed", CONVERSION).read_text(encoding="utf-8")
    table: dict[str, Conversion] = {}
    for row in csv.DictReader(text.splitlines()):
        table[row["old_code"]] = Conversion(
            old_code=row["old_code"], old_name=row["old_name"], level=AreaLevel(row["old_level"]),
            old_parent=row["old_parent"] or None, new_codes=tuple(row["new_codes"].split()),
            partial=row["partial"] == "1")
    return table


def upsert_areas(session: Session, areas: dict[str, Area]) -> int:
    """Insert or update areas, parents first; returns how many rows changed."""
    existing = {a.code: a for a in session.scalars(select(AreaRecord))}
    changed = 0
    rank = -1
    for area in sorted(areas.values(), key=lambda a: a.level.rank):
        if area.level.rank != rank:  # parents are written before the rows that point at them
            session.flush()
            rank = area.level.rank
        rec = existing.get(area.code)
        values: dict[str, object] = dict(name=area.name, level=area.level.value, parent_code=area.parent_code,
                                         languages=list(area.languages), successors=None)
        if rec is None:
            session.add(AreaRecord(code=area.code, **values))
            changed += 1
        elif any(getattr(rec, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(rec, k, v)
            changed += 1
    session.flush()
    return changed


_ACTIVE = AreaRecord.successors.is_(None)


def _area(r: AreaRecord) -> Area:
    return Area(r.code, r.name, AreaLevel(r.level), r.parent_code, tuple(r.languages))


def all_areas(session: Session) -> dict[str, Area]:
    """Every current area by code (units retired by the 2025 reform left out)."""
    return {r.code: _area(r) for r in session.scalars(select(AreaRecord).where(_ACTIVE))}


def retired_areas(session: Session) -> dict[str, tuple[Area, tuple[str, ...]]]:
    """Units that no longer exist, by old code: the old unit and the current communes it went to."""
    return {r.code: (_area(r), tuple(r.successors or ()))
            for r in session.scalars(select(AreaRecord).where(AreaRecord.successors.is_not(None)))}


def get_area(session: Session, code: str) -> Area:
    """A current area.

    Raises:
        NotFound: unknown code, or a unit retired in 2025 or a pre-2025 code this installation never held
            (the message names the current units it went to, with their province).
    """
    rec = session.get(AreaRecord, code)
    if rec is None:
        former = read_conversion().get(code)
        went = where_they_went([former], read_conversion(), _with_parents(session, former.new_codes)) if former else ""
        if went:  # a pre-2025 code this installation never held: say what it became
            raise NotFound(f"unknown area code '{code}': no current unit; before 1 July 2025: {went}")
        raise NotFound(f"unknown area code '{code}' (see 'bantin areas list')")
    if rec.successors is not None:
        current = _with_parents(session, rec.successors)
        now = ", ".join(describe(current[c], current) if c in current else c for c in rec.successors)
        raise NotFound(f"area {code} ({rec.name}) no longer exists since 1 July 2025; it is now part of {now}")
    return _area(rec)


def _with_parents(session: Session, codes: Iterable[str]) -> dict[str, Area]:
    """The current areas among ``codes`` with the areas above them (enough to name each with its province)."""
    found: dict[str, Area] = {}
    wanted = set(codes)
    while wanted:
        rows = list(session.scalars(select(AreaRecord).where(AreaRecord.code.in_(sorted(wanted)), _ACTIVE)))
        found.update((r.code, _area(r)) for r in rows)
        wanted = {r.parent_code for r in rows if r.parent_code and r.parent_code not in found}
    return found


def retire(session: Session, code: str, successors: list[str]) -> None:
    """Mark a unit as gone; its row stays so records that name it keep their code."""
    rec = session.get(AreaRecord, code)
    if rec is None:
        raise NotFound(f"unknown area code '{code}'")
    rec.successors = list(successors)


def set_languages(session: Session, code: str, languages: list[str]) -> None:
    rec = session.get(AreaRecord, code)
    if rec is None or rec.successors is not None:
        raise NotFound(f"unknown area code '{code}' (see 'bantin areas list')")
    rec.languages = list(languages)


def levels(session: Session) -> tuple[AreaLevel, ...]:
    """The levels the stored tree has, top first (see ``domain.areas.tree_levels``)."""
    present = set(session.scalars(select(AreaRecord.level).where(_ACTIVE).distinct()))
    return tuple(level for level in AreaLevel if level.value in present)


def count_areas(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(AreaRecord)) or 0


def children(session: Session, parent_code: str | None) -> list[AreaRecord]:
    stmt = select(AreaRecord).where(_ACTIVE, AreaRecord.parent_code.is_(None) if parent_code is None
                                    else AreaRecord.parent_code == parent_code)
    return list(session.scalars(stmt.order_by(AreaRecord.code)))


def existing_codes(session: Session, codes: list[str]) -> set[str]:
    """The subset of ``codes`` that name known areas."""
    if not codes:
        return set()
    return set(session.scalars(select(AreaRecord.code).where(AreaRecord.code.in_(codes), _ACTIVE)))
