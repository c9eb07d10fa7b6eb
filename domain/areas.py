"""Administrative areas and the levels an area tree has.

Since 1 July 2025 local government has two tiers: province (tỉnh, thành phố) > commune (xã, phường,
đặc khu). Trees built before then have three: province > district (huyện, quận, thị xã) > commune. An
installation may add hamlets (thôn, ấp, bản, tổ dân phố) under a commune, where loudspeaker clusters stand.
The levels are data: code that needs "the level above a commune" asks the tree (:func:`tree_levels`),
never assumes a district.

Codes are the official codes of the General Statistics Office: 2 digits for a province, 3 for a district,
5 for a commune. A hamlet has no official code: an installation gives it its commune's code, a dash and a
number (``29374-01``); the code stays the hamlet's identity if its commune is later merged.
"""

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

from domain.errors import InvalidInput
from domain.search import fold


class AreaLevel(StrEnum):
    PROVINCE = "province"
    DISTRICT = "district"
    COMMUNE = "commune"
    HAMLET = "hamlet"

    @property
    def rank(self) -> int:
        """Order from the top (0: province); a tree may skip a rank (no district since 2025)."""
        return _RANK[self]

    @property
    def depth(self) -> int:
        """The rank (kept for callers that compare levels by depth)."""
        return _RANK[self]

    @property
    def label_vi(self) -> str:
        return _LABEL_VI[self]


_RANK = {AreaLevel.PROVINCE: 0, AreaLevel.DISTRICT: 1, AreaLevel.COMMUNE: 2, AreaLevel.HAMLET: 3}
_LABEL_VI = {AreaLevel.PROVINCE: "tỉnh", AreaLevel.DISTRICT: "huyện", AreaLevel.COMMUNE: "xã",
             AreaLevel.HAMLET: "thôn"}
# The levels a parent may have: a commune sits under a district (legacy trees) or a province (current).
PARENT_LEVELS: dict[AreaLevel, tuple[AreaLevel, ...]] = {
    AreaLevel.PROVINCE: (),
    AreaLevel.DISTRICT: (AreaLevel.PROVINCE,),
    AreaLevel.COMMUNE: (AreaLevel.DISTRICT, AreaLevel.PROVINCE),
    AreaLevel.HAMLET: (AreaLevel.COMMUNE,),
}
# Levels at which people approve bulletins; a hamlet's items are approved at its commune.
APPROVER_LEVELS = (AreaLevel.PROVINCE, AreaLevel.DISTRICT, AreaLevel.COMMUNE)
_CODE = {
    AreaLevel.PROVINCE: re.compile(r"^\d{2}$"),
    AreaLevel.DISTRICT: re.compile(r"^\d{3}$"),
    AreaLevel.COMMUNE: re.compile(r"^\d{5}$"),
    AreaLevel.HAMLET: re.compile(r"^\d{5}-\d{1,3}$"),
}
_CODE_HINT = {AreaLevel.PROVINCE: "a 2-digit", AreaLevel.DISTRICT: "a 3-digit", AreaLevel.COMMUNE: "a 5-digit",
              AreaLevel.HAMLET: "a commune code, a dash and 1-3 digits (29374-01) as the"}


@dataclass(frozen=True, slots=True)
class Area:
    code: str
    name: str
    level: AreaLevel
    parent_code: str | None
    languages: tuple[str, ...] = ()


def validate_area(area: Area) -> None:
    """Check that a code has the form its level needs and that only provinces lack a parent.

    Raises:
        InvalidInput: the area breaks a rule.
    """
    if not _CODE[area.level].match(area.code):
        raise InvalidInput(f"area code '{area.code}' is not {_CODE_HINT[area.level]} {area.level.value} code")
    if (area.level is AreaLevel.PROVINCE) != (area.parent_code is None):
        raise InvalidInput(f"area {area.code}: only a province has no parent")
    if not area.name.strip():
        raise InvalidInput(f"area {area.code}: a name is needed")


def validate_hierarchy(areas: Mapping[str, Area]) -> None:
    """Check every parent exists and has a level that may hold its child (see :data:`PARENT_LEVELS`).

    Raises:
        InvalidInput: naming the first broken link.
    """
    for area in areas.values():
        validate_area(area)
        if area.parent_code is None:
            continue
        parent = areas.get(area.parent_code)
        if parent is None:
            raise InvalidInput(f"area {area.code}: parent {area.parent_code} is unknown")
        if parent.level not in PARENT_LEVELS[area.level]:
            raise InvalidInput(
                f"area {area.code} ({area.level.value}) cannot sit under {parent.code} ({parent.level.value})"
            )


def tree_levels(areas: Mapping[str, Area]) -> tuple[AreaLevel, ...]:
    """The levels this tree has, top first: (province, commune) for current units, with district for
    legacy trees, with hamlet where an installation added hamlets."""
    present = {a.level for a in areas.values()}
    return tuple(level for level in AreaLevel if level in present)


def approval_levels(present: Iterable[AreaLevel]) -> tuple[AreaLevel, ...]:
    """The levels at which approvers may hold a membership in a tree with levels ``present``, top first:
    province and commune always, district only where the tree has districts (a legacy tree)."""
    have = set(present) | {AreaLevel.PROVINCE, AreaLevel.COMMUNE}
    return tuple(level for level in APPROVER_LEVELS if level in have)


def ancestors(code: str, areas: Mapping[str, Area]) -> list[Area]:
    """The chain from ``code`` up to its province, nearest first (the area itself excluded)."""
    chain: list[Area] = []
    current = areas[code].parent_code
    while current is not None:
        area = areas[current]
        chain.append(area)
        current = area.parent_code
    return chain


def province_of(code: str, areas: Mapping[str, Area]) -> Area:
    """The province containing ``code`` (the area itself when it is one)."""
    chain = ancestors(code, areas)
    return chain[-1] if chain else areas[code]


def is_within(code: str, ancestor_code: str, areas: Mapping[str, Area]) -> bool:
    """True when ``code`` is ``ancestor_code`` or lies inside it."""
    return code == ancestor_code or any(a.code == ancestor_code for a in ancestors(code, areas))


def approval_scope(code: str, areas: Mapping[str, Area]) -> Area:
    """The area whose approvers decide for ``code``: itself, or for a hamlet its commune."""
    area = areas[code]
    while area.level not in APPROVER_LEVELS:
        area = areas[area.parent_code]  # type: ignore[index]  # only provinces lack a parent
    return area


# Unit-type words a name starts with; a name is found with or without its type word.
_TYPE_WORDS = ("thanh pho", "tinh", "dac khu", "thi tran", "thi xa", "phuong", "xa", "huyen", "quan",
               "to dan pho", "thon", "ap", "ban", "khom", "lang", "buon", "plei", "soc")


@lru_cache(maxsize=16384)
def _full(name: str) -> str:
    return " ".join(fold(name).split())


@lru_cache(maxsize=16384)
def _bare(name: str) -> str:
    folded = " ".join(fold(name).replace("-", " ").replace(",", " ").split())
    for word in _TYPE_WORDS:
        if folded.startswith(word + " "):
            return folded[len(word) + 1:]
    return folded


def name_matches(query: str, name: str) -> bool:
    """True when ``query`` names ``name`` (with or without diacritics and the type word: "da loc" and
    "Xã Đa Lộc" both name "Xã Đa Lộc")."""
    return _bare(name) == _bare(query) or _full(name) == _full(query)


def describe(area: Area, areas: Mapping[str, Area]) -> str:
    """``"29374 Xã Châu Thành (Tỉnh Vĩnh Long)"``: code, name and province, for lists of candidates."""
    if area.parent_code is None:
        return f"{area.code} {area.name}"
    return f"{area.code} {area.name} ({province_of(area.code, areas).name})"


def find_areas(query: str, areas: Mapping[str, Area]) -> list[Area]:
    """Areas whose name matches ``query``, with or without diacritics and the type word ("xã", "phường").

    ``"Châu Thành, Vĩnh Long"`` narrows by an enclosing area's name; a code matches itself.
    """
    text = query.strip()
    if text in areas:
        return [areas[text]]
    parts = [p for p in (x.strip() for x in text.split(",")) if p]
    if not parts:
        return []
    wanted, within = _bare(parts[0]), [_bare(p) for p in parts[1:]]
    full = _full(parts[0])
    found = []
    for area in areas.values():
        if _bare(area.name) != wanted and _full(area.name) != full:
            continue
        names = {_bare(a.name) for a in ancestors(area.code, areas)}
        if all(w in names for w in within):
            found.append(area)
    exact = [a for a in found if _full(a.name) == full]
    chosen = exact or found
    return sorted(chosen, key=lambda a: (a.level.rank, a.code))


MAX_CLOSE = 5  # names that begin with or contain what was typed, offered when nothing matches exactly


def resolve_area(query: str, areas: Mapping[str, Area], *, levels: Iterable[AreaLevel] | None = None) -> Area:
    """The one area a code or name means.

    Raises:
        InvalidInput: nothing matches (the message offers up to :data:`MAX_CLOSE` names that begin with or
            contain the text), or several areas do (the message lists each with its province, and how to
            narrow: ``"Xã Châu Thành, Vĩnh Long"`` or the code).
    """
    if not query or not query.strip():
        raise InvalidInput("give an area code or name")
    found = find_areas(query, areas)
    allowed = set(levels) if levels is not None else set(AreaLevel)
    found = [a for a in found if a.level in allowed]
    if not found:
        close = [a for a in suggest_areas(query, areas) if a.level in allowed][:MAX_CLOSE]
        hint = f"; close: {'; '.join(describe(a, areas) for a in close)}" if close else ""
        raise InvalidInput(f"unknown area '{query.strip()}': no code or name matches{hint}")
    if len(found) > 1:
        listed = "; ".join(describe(a, areas) for a in found[:12])
        more = f"; and {len(found) - 12} more" if len(found) > 12 else ""
        raise InvalidInput(f"'{query.strip()}' names {len(found)} areas: {listed}{more}. "
                           "Give the code, or add the province after a comma (e.g. 'Châu Thành, Vĩnh Long')")
    return found[0]


def suggest_areas(query: str, areas: Mapping[str, Area], *, limit: int = 12) -> list[Area]:
    """Candidates for an area picker while the name or code is being typed (with or without diacritics):
    the exact matches of :func:`find_areas` first, then codes starting with the text, then names starting
    with it, then names containing it; provinces before communes, each group by code."""
    text = query.strip()
    if len(text) < 2:
        return []
    out: dict[str, Area] = {a.code: a for a in find_areas(text, areas)}
    head = text.split(",")[0].strip()
    if head.isdigit():
        out.update((a.code, a) for a in sorted(areas.values(), key=lambda a: a.code) if a.code.startswith(head))
    else:
        typed, typed_full = _bare(head), _full(head)
        ranked = sorted(areas.values(), key=lambda a: (a.level.rank, a.code))
        starts = [a for a in ranked if _bare(a.name).startswith(typed) or _full(a.name).startswith(typed_full)]
        inside = [a for a in ranked if typed in _bare(a.name)]
        out.update((a.code, a) for a in [*starts, *inside])
    return list(out.values())[:limit]
