"""Units before and after the July 2025 reform: which current unit(s) each old one became.

The conversion table ships with bantin (``storage/seed/areas_2025_conversion.csv``, from the statistics
office's official conversion table). An old commune usually went whole into one new commune; some were
divided among several (``partial``); a district's entry lists the communes its communes went to; an old
province went into one new province.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from domain.areas import Area, AreaLevel

MAX_NAMED_PREDECESSORS = 4


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
