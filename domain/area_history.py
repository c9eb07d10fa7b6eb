"""Units before and after the July 2025 reform: which current unit(s) each old one became.

The conversion table ships with bantin (``storage/seed/areas_2025_conversion.csv``, from the statistics
office's official conversion table). An old commune usually went whole into one new commune; some were
divided among several (``partial``); a district's entry lists the communes its communes went to; an old
province went into one new province.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from domain.areas import Area, AreaLevel, describe, name_matches
from domain.errors import InvalidInput

MAX_NAMED_PREDECESSORS = 4
MAX_FORMER_SHOWN = 6  # old units listed in a message about a pre-2025 code or name
MAX_SUCCESSORS_SHOWN = 8  # current units listed for one old unit (a district went to many communes)


@dataclass(frozen=True, slots=True)
class Conversion:
    """One pre-2025 unit and the current unit(s) it became."""

    old_code: str
    old_name: str
    level: AreaLevel
    old_parent: str | None
    new_codes: tuple[str, ...]
    partial: bool = False


def predecessors(code: str, table: Mapping[str, Conversion], *, level: AreaLevel | None = None) -> list[Conversion]:
    """The old units that went (whole or in part) into current unit ``code``, by old code."""
    wanted = level or (AreaLevel.PROVINCE if len(code) == 2 else AreaLevel.COMMUNE)
    return sorted((c for c in table.values() if c.level is wanted and code in c.new_codes),
                  key=lambda c: c.old_code)


def _lower_type(name: str) -> str:
    """``"Xã Đa Lộc"`` -> ``"xã Đa Lộc"``: the type word in lower case inside a sentence."""
    return name[:1].lower() + name[1:]


def label(area: Area, table: Mapping[str, Conversion]) -> str:
    """``"Xã Châu Thành (gồm xã Đa Lộc, xã Song Lộc cũ…)"``: a current unit with the old units it absorbed
    (those whose name differs from its own), so people who know the old names find their place."""
    if area.level not in (AreaLevel.COMMUNE, AreaLevel.PROVINCE):
        return area.name
    others = [c.old_name for c in predecessors(area.code, table, level=area.level) if c.old_name != area.name]
    if not others:
        return area.name
    shown = ", ".join(_lower_type(n) for n in others[:MAX_NAMED_PREDECESSORS])
    more = "…" if len(others) > MAX_NAMED_PREDECESSORS else ""
    return f"{area.name} (gồm {shown} cũ{more})"


def _old_ancestors(conversion: Conversion, table: Mapping[str, Conversion]) -> list[Conversion]:
    """The old units above an old unit (its district, its province), nearest first."""
    chain: list[Conversion] = []
    parent = conversion.old_parent
    while parent and parent in table and len(chain) < 3:
        chain.append(table[parent])
        parent = table[parent].old_parent
    return chain


def former_units(query: str, table: Mapping[str, Conversion]) -> list[Conversion]:
    """The pre-2025 units an old code or an old name means (with or without diacritics and the type word;
    ``"Đa Lộc, Trà Vinh"`` narrows by an old enclosing unit), provinces first, then by code."""
    text = query.strip()
    if text in table:
        return [table[text]]
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts:
        return []
    found = [c for c in table.values() if name_matches(parts[0], c.old_name)
             and all(any(name_matches(p, a.old_name) for a in _old_ancestors(c, table)) for p in parts[1:])]
    return sorted(found, key=lambda c: (c.level.rank, c.old_code))


def where_they_went(found: Iterable[Conversion], table: Mapping[str, Conversion], current: Mapping[str, Area]
                    ) -> str:
    """``"29377 Xã Đa Lộc (Tỉnh Trà Vinh) -> 29374 Xã Châu Thành (Tỉnh Vĩnh Long)"`` for each old unit whose
    territory went to units of ``current`` (joined by "; "); empty when none did (a legacy tree)."""
    shown = []
    for conversion in found:
        now = [describe(current[c], current) for c in conversion.new_codes if c in current]
        if not now:
            continue
        if len(now) > MAX_SUCCESSORS_SHOWN:
            now = [*now[:MAX_SUCCESSORS_SHOWN], "…"]
        above = _old_ancestors(conversion, table)
        province = f" ({above[-1].old_name})" if above else ""
        shown.append(f"{conversion.old_code} {conversion.old_name}{province} -> {', '.join(now)}")
    if len(shown) > MAX_FORMER_SHOWN:
        shown = [*shown[:MAX_FORMER_SHOWN], "…"]
    return "; ".join(shown)


def related_codes(codes: Iterable[str], table: Mapping[str, Conversion]) -> set[str]:
    """``codes`` together with the old codes their current units absorbed and the current codes their old
    units became: archive items filed under either still belong to the same place."""
    wanted = set(codes)
    related = set(wanted)
    for conversion in table.values():
        if conversion.level is AreaLevel.DISTRICT:
            continue  # a district went to many communes: its items are not any one commune's
        if conversion.old_code in wanted:
            related.update(conversion.new_codes)
        if wanted & set(conversion.new_codes):
            related.add(conversion.old_code)
    return related


@dataclass(frozen=True, slots=True)
class Conflict:
    """An old unit in use whose records have no single new home: divided among several current units, or
    missing from the conversion table. ``candidates`` are where its territory went."""

    old_code: str
    old_name: str
    candidates: tuple[str, ...]
    uses: int

    @property
    def hint(self) -> str:
        return f"--assign {self.old_code}=" + (self.candidates[0] if self.candidates else "NEW")


@dataclass(frozen=True, slots=True)
class MigrationPlan:
    """Where each old code in use goes (``moves``), and what needs a person's decision first."""

    moves: dict[str, str]
    conflicts: tuple[Conflict, ...]


def plan_migration(
    uses: Mapping[str, int], stored: Mapping[str, Area], current: Mapping[str, Area],
    table: Mapping[str, Conversion], assign: Mapping[str, str],
) -> MigrationPlan:
    """Map every old code in ``uses`` (code -> records naming it) to one current unit.

    A hamlet keeps its own code (its commune moves, see :func:`successors`). An assignment ``OLD=NEW`` wins
    over the table; a unit the table maps to one current unit goes there; anything else is a conflict.

    Raises:
        InvalidInput: an assignment names an old code that is not in use or a new code that is not current.
    """
    for old, new in assign.items():
        if new not in current:
            raise InvalidInput(f"--assign {old}={new}: {new} is not a current unit")
        if old not in uses:
            raise InvalidInput(f"--assign {old}={new}: nothing in this installation uses area {old}")
    moves: dict[str, str] = {}
    conflicts = []
    for code, count in sorted(uses.items()):
        area = stored.get(code)
        if area is not None and area.level is AreaLevel.HAMLET:
            moves[code] = code
        elif code in assign:
            moves[code] = assign[code]
        elif code in table and len(table[code].new_codes) == 1 and table[code].new_codes[0] in current:
            moves[code] = table[code].new_codes[0]
        elif code not in table and code in current and area is not None and area.level is current[code].level:
            moves[code] = code  # already a current unit
        else:
            name = area.name if area else (table[code].old_name if code in table else code)
            if code in table:
                candidates = table[code].new_codes
            else:
                parent = table.get(area.parent_code or "") if area else None
                candidates = parent.new_codes if parent else ()
            conflicts.append(Conflict(code, name, tuple(candidates), count))
    return MigrationPlan(moves, tuple(conflicts))


def successors(code: str, stored: Mapping[str, Area], table: Mapping[str, Conversion],
               moves: Mapping[str, str]) -> tuple[str, ...]:
    """The current communes an old unit's territory went to (a province's: those of all its communes), for
    matching items still filed under the old code. A unit the table does not know goes where it was assigned
    (records that were assigned elsewhere follow their assignment; the territory stays the table's)."""
    if code in table and table[code].level is not AreaLevel.PROVINCE:
        return table[code].new_codes
    inside = {c for c, a in stored.items() if a.parent_code == code and a.level is not AreaLevel.HAMLET}
    found: set[str] = set()
    for child in inside:
        found.update(successors(child, stored, table, moves))
    if not found and code in moves:
        return (moves[code],)
    return tuple(sorted(found))
