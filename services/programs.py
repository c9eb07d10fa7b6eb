"""Programs (scheduled bulletin slots) as seen by the device schedule.

The device service asks this module for the programme items and the quiet hours / volume profile of an
area; issue 6 fills them from the programs tables.
"""

from datetime import datetime

from sqlalchemy.orm import Session

from domain.schedules import ScheduleItem


def program_items(session: Session, area_code: str, languages: tuple[str, ...], start: datetime,
                  end: datetime) -> list[ScheduleItem]:
    """Assembled programmes for a device in ``area_code`` playing between ``start`` and ``end`` (UTC)."""
    return []


def area_profile(session: Session, area_code: str) -> tuple[list[dict[str, str]], list[dict[str, object]]]:
    """Quiet hours and volume profile that devices in ``area_code`` honour (nearest area that sets them)."""
    return [], []
