"""Area names on pages instead of codes ("Xã Châu Thành", not "29374"): one lookup per page, not per row.

``names_by_code`` is for handlers holding a database session; ``area_map`` is the template global for pages
whose handler passes codes only (it opens its own session once per call: call it once per page).
"""

from collections.abc import Iterable

from sqlalchemy.orm import Session

from services.areas import area_names
from services.runtime import session


class AreaNames(dict[str, str]):
    """Name by code; an unknown code stays as it is."""

    def of(self, codes: Iterable[str] | str) -> str:
        """``"29374, 29377"`` or a list of codes as their names, comma-separated."""
        return ", ".join(self.get(c, c) for c in _codes(codes))


def _codes(codes: Iterable[str] | str) -> list[str]:
    items = codes.split(",") if isinstance(codes, str) else codes
    return [c.strip() for c in items if c and c.strip()]


def names_by_code(s: Session, codes: Iterable[str]) -> AreaNames:
    unique = list(dict.fromkeys(_codes(list(codes))))
    return AreaNames(zip(unique, area_names(s, unique), strict=True))


def area_map(*groups: Iterable[str] | str) -> AreaNames:
    """Every code in ``groups`` (lists of codes, or strings of comma-separated codes) with its name."""
    codes = [c for g in groups for c in _codes(g)]
    if not codes:
        return AreaNames()
    with session() as s:
        return names_by_code(s, codes)
