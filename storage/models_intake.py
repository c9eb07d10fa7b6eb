"""Records for the framing concept: the loudspeaker station configured for an area.

Registered on :class:`storage.models.Base` by the import at the bottom of ``storage/models.py``.
"""

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base, utcnow


class AreaStationRecord(Base):
    """The station that opens an area's bulletins ("Đài Truyền thanh xã Châu Thành"); without a row the
    name is derived from the area's name."""

    __tablename__ = "area_stations"

    area_code: Mapped[str] = mapped_column(ForeignKey("areas.code"), primary_key=True)
    station_name: Mapped[str] = mapped_column(String(120))
    updated_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
