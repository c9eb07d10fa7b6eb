"""Feedback fixtures: a migrated SQLite database with the seed areas and handler accounts (no passwords:
these tests never sign in), a local object store, and a controlled clock."""

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from domain.approvals import Role
from domain.areas import AreaLevel
from domain.users import Membership
from storage.db import make_engine, session_scope
from storage.migrate import upgrade
from storage.objects import LocalObjectStore
from storage.repositories import areas, users

DALOC = "29377"  # Xã Đa Lộc, in Châu Thành (847), Trà Vinh (84)
MYCHANH = "29380"  # Xã Mỹ Chánh, same district
HANDLERS: dict[str, list[Membership]] = {
    "canbo_daloc": [Membership(Role.EDITOR, DALOC)],
    "canbo2_daloc": [Membership(Role.EDITOR, DALOC)],
    "canbo_mychanh": [Membership(Role.EDITOR, MYCHANH)],
    "duyet_travinh": [Membership(Role.APPROVER, "84", level=AreaLevel.PROVINCE)],
    "dich_km": [Membership(Role.TRANSLATOR, "84", language="km")],
}
# Friday 13 February 2026, 10:00 in Vietnam: Tết (16-20 Feb) comes right after.
FRIDAY_BEFORE_TET = datetime(2026, 2, 13, 3, 0, tzinfo=UTC)


def make_db(url: str) -> Engine:
    upgrade(url)
    engine = make_engine(url)
    with session_scope(engine) as s:
        areas.upsert_areas(s, areas.read_area_csv(seed=areas.LEGACY_SEED))
        for name, ms in HANDLERS.items():
            users.add_user(s, username=name, full_name=name, memberships=ms)
    return engine


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    eng = make_db(f"sqlite:///{tmp_path / 'fb.db'}")
    yield eng
    eng.dispose()


@pytest.fixture
def open_session(engine: Engine):  # type: ignore[no-untyped-def]
    def factory():  # type: ignore[no-untyped-def]
        return session_scope(engine)
    return factory


@pytest.fixture
def store(tmp_path: Path) -> LocalObjectStore:
    return LocalObjectStore(tmp_path / "objects")


def one(engine: Engine) -> Session:
    """A plain session for reading back (tests close it)."""
    return Session(engine, expire_on_commit=False)
