"""Process-wide resources built from settings: one DB engine and one object store per process.

Prefect tasks call these instead of receiving clients as parameters (clients are neither hashable
nor safe to pickle across processes).
"""

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from settings import get_settings
from storage.db import get_engine, session_scope
from storage.objects import ObjectStore, make_object_store


def db_engine() -> Engine:
    return get_engine(get_settings().database_url)


@lru_cache(maxsize=1)
def object_store() -> ObjectStore:
    return make_object_store(get_settings())


@contextmanager
def session() -> Iterator[Session]:
    """A transaction on the configured database: commit on success, roll back on error."""
    with session_scope(db_engine()) as s:
        yield s


def reset() -> None:
    """Forget cached settings and resources (tests switch databases and stores), and what was cached from the
    installation's database: areas, devices and device schedules."""
    from services import areas, device_schedule, devices

    get_settings.cache_clear()
    object_store.cache_clear()
    devices.forget()
    device_schedule.invalidate()
    areas.forget_cache()
