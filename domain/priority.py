"""Bulletin priorities from Circular 39/2020/TT-BTTTT."""

from enum import StrEnum

from domain.errors import InvalidInput


class Priority(StrEnum):
    """How a bulletin competes for air time.

    thuong: the commune decides whether and when to play it.
    uu_tien: played before normal items; the commune orders it against its own priority items.
    khan_cap: played at once, interrupting everything (disasters, fire, epidemics).
    """

    THUONG = "thuong"
    UU_TIEN = "uu_tien"
    KHAN_CAP = "khan_cap"

    @property
    def rank(self) -> int:
        """Higher plays first."""
        return {Priority.THUONG: 0, Priority.UU_TIEN: 1, Priority.KHAN_CAP: 2}[self]

    @property
    def label_vi(self) -> str:
        return {Priority.THUONG: "Thường", Priority.UU_TIEN: "Ưu tiên", Priority.KHAN_CAP: "Khẩn cấp"}[self]

    @property
    def label_en(self) -> str:
        return {Priority.THUONG: "Normal", Priority.UU_TIEN: "Priority", Priority.KHAN_CAP: "Emergency"}[self]


def parse_priority(value: str) -> Priority:
    """Parse a priority code, accepting the Vietnamese words with or without diacritics.

    Raises:
        InvalidInput: the value names no priority.
    """
    norm = value.strip().lower().replace(" ", "_").replace("-", "_")
    aliases = {"thường": "thuong", "ưu_tiên": "uu_tien", "khẩn_cấp": "khan_cap", "normal": "thuong",
               "priority": "uu_tien", "emergency": "khan_cap"}
    norm = aliases.get(norm, norm)
    try:
        return Priority(norm)
    except ValueError:
        choices = ", ".join(p.value for p in Priority)
        raise InvalidInput(f"unknown priority '{value}' (choose one of: {choices})") from None
