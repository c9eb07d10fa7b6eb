"""Records for the programs concept. Tables are registered on :class:`storage.models.Base`."""

from storage.models import Base, UTCDateTime  # noqa: F401
