"""Records for the devices concept. Tables are registered on :class:`storage.models.Base`."""

from storage.models import Base, UTCDateTime  # noqa: F401
