"""Administrative areas: province (tỉnh) > district (huyện) > commune (xã/phường/thị trấn).

Codes are the official codes of the General Statistics Office: 2 digits for a province, 3 for a
district, 5 for a commune.
"""

import re
from dataclasses import dataclass
from enum import StrEnum

from domain.errors import InvalidInput


class AreaLevel(StrEnum):
    PROVINCE = "province"
    DISTRICT = "district"
    COMMUNE = "commune"

    @property
    def depth(self) -> int:
        return {AreaLevel.PROVINCE: 0, AreaLevel.DISTRICT: 1, AreaLevel.COMMUNE: 2}[self]

    @property
    def code_length(self) -> int:
        return {AreaLevel.PROVINCE: 2, AreaLevel.DISTRICT: 3, AreaLevel.COMMUNE: 5}[self]


_CODE = re.compile(r"^\d{2,5}$")


@dataclass(frozen=True, slots=True)
class Area:
    code: str
    name: str
    level: AreaLevel
    parent_code: str | None
    languages: tuple[str, ...] = ()


def validate_area(area: Area) -> None:
    """Check that a code has the length its level needs and that only provinces lack a parent.

    Raises:
        InvalidInput: the area breaks a rule.
    """
    if not _CODE.match(area.code) or len(area.code) != area.level.code_length:
        raise InvalidInput(
            f"area code '{area.code}' is not a {area.level.code_length}-digit {area.level.value} code"
        )
    if (area.level is AreaLevel.PROVINCE) != (area.parent_code is None):
        raise InvalidInput(f"area {area.code}: only a province has no parent")


def validate_hierarchy(areas: dict[str, Area]) -> None:
    """Check every parent exists and sits exactly one level above its child.

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
        if parent.level.depth != area.level.depth - 1:
            raise InvalidInput(
                f"area {area.code} ({area.level.value}) cannot sit under {parent.code} ({parent.level.value})"
            )


def ancestors(code: str, areas: dict[str, Area]) -> list[Area]:
    """The chain from ``code`` up to its province, nearest first (the area itself excluded)."""
    chain: list[Area] = []
    current = areas[code].parent_code
    while current is not None:
        area = areas[current]
        chain.append(area)
        current = area.parent_code
    return chain


def is_within(code: str, ancestor_code: str, areas: dict[str, Area]) -> bool:
    """True when ``code`` is ``ancestor_code`` or lies inside it."""
    return code == ancestor_code or any(a.code == ancestor_code for a in ancestors(code, areas))
