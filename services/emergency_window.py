"""How long an emergency is valid: one answer for CAP, MQTT, the device schedule and the HTTTN payload.

An emergency without its own expiry lives ``BANTIN_EMERGENCY_DEFAULT_MINUTES`` (2 h by default) from the
moment it was approved for release: a time fixed before anything is sent, so every channel (and every
resend) states the same end. Other packages are valid until their own expiry (or open-ended).
"""

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from domain.devices import emergency_expiry
from domain.priority import Priority
from settings import get_settings
from storage.models import PackageRecord
from storage.repositories import audit


def approved_at(s: Session, package_id: int) -> datetime | None:
    """When the package was last approved (None when it never was)."""
    return next((e.at for e in reversed(audit.entries(s, entity="package", entity_id=package_id))
                 if e.action == "package.approved"), None)


def valid_until(s: Session, pkg: PackageRecord, *, priority: str, expires_at: datetime | None) -> datetime | None:
    """The end of the package's validity window (None: open-ended); ``priority`` and ``expires_at`` are its
    draft revision's."""
    if priority != Priority.KHAN_CAP.value:
        return expires_at
    anchor = approved_at(s, pkg.id) or pkg.updated_at
    return emergency_expiry(expires_at, anchor, timedelta(minutes=get_settings().emergency_default_minutes))
