"""Process-wide resources built from settings: one DB engine and one object store per process.

Prefect tasks call these instead of receiving clients as parameters (clients are neither hashable
nor safe to pickle across processes).
"""

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from services.caches import CACHES
from settings import get_settings
from storage.db import get_engine, session_scope
from storage.objects import ObjectStore, make_object_store


def db_engine() -> Engine:
    return get_engine(get_settings().database_url)


def object_store() -> ObjectStore:
    return CACHES.object_store.get_or_build(None, lambda: make_object_store(get_settings()))


@contextmanager
def session() -> Iterator[Session]:
    """A transaction on the configured database: commit on success, roll back on error."""
    with session_scope(db_engine()) as s:
        yield s


def reset() -> None:
    """Forget cached settings and resources (tests switch databases and stores), and everything cached from
    the installation (see ``services.caches``)."""
    CACHES.reset()
