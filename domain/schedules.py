"""What a device is told to hold and play: items in a look-ahead window (pure; see docs/device-protocol.md).

Producers of items (published packages, assembled programs) turn their records into :class:`ScheduleItem`
values; the device service orders them, signs the schedule and serves it. Keeping the item shape here lets
the packages side and the programs side feed one schedule without knowing about each other.
"""

from dataclasses import dataclass, field
from datetime import datetime

SCHEDULE_SCHEMA = "bantin.schedule/1"
EMERGENCY_SCHEMA = "bantin.emergency/1"


@dataclass(frozen=True)
class FileRef:
    """One file a device must hold: a safe flat name, where to fetch it, its size and SHA-256."""

    name: str
    url: str
    size: int
    sha256: str


@dataclass(frozen=True)
class ScheduleItem:
    """One playable thing for one device.

    Attributes:
        item_id: Stable id; the same content at the same slot keeps the same id across polls.
        kind: ``"package"`` (a bulletin to play when the commune chooses, or at ``starts_at``),
            ``"program"`` (an assembled slot programme played at ``starts_at``) or ``"emergency"``.
        manifest_hash: The package manifest (or program manifest) this item comes from.
        priority: Circular 39 level: ``thuong``, ``uu_tien`` or ``khan_cap``.
        language: Language code of the audio/text.
        title: Human-readable title shown in logs and on boards.
        starts_at: When to play (UTC); ``None`` means "as soon as convenient in the window".
        expires_at: Never play after this (UTC); ``None`` means the window end.
        audio: The loudspeaker file, if any.
        slides: Board slide images in display order.
        repeat_every_s: For emergencies: replay every N seconds until ``expires_at``.
    """

    item_id: str
    kind: str
    manifest_hash: str
    priority: str
    language: str
    title: str
    starts_at: datetime | None = None
    expires_at: datetime | None = None
    audio: FileRef | None = None
    slides: tuple[FileRef, ...] = field(default_factory=tuple)
    repeat_every_s: int | None = None
