"""Fixtures for the device tests: a migrated home with areas, demo users and an admin; the web app in process.

Migrating, loading 700 areas and hashing passwords takes seconds on a busy machine, so it is done once per
session into a template database that each test copies (every test still starts from a clean state).
"""

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from domain.approvals import Role
from services import device_schedule, runtime
from services import devices as device_service
from services.runtime import session
from settings import get_settings
from storage.db import get_engine
from storage.migrate import upgrade
from storage.repositories import areas, users

ADMIN_PASSWORD = "mat-khau-quan-tri-2026"


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("devices-template")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BANTIN_HOME", str(home))
        for var in ("BANTIN_DATABASE_URL", "BANTIN_STORE", "BANTIN_STORE_DIR", "BANTIN_USER"):
            mp.delenv(var, raising=False)
        runtime.reset()
        url = get_settings().database_url
        upgrade(url)
        with session() as s:
            areas.upsert_areas(s, areas.read_area_csv(seed=areas.LEGACY_SEED))
            users.add_user(s, username="demo-editor", full_name="Editor", roles=[Role.EDITOR], password=None)
            users.add_user(s, username="demo-approver", full_name="Approver", roles=[Role.APPROVER], password=None)
            users.add_user(s, username="admin", full_name="Quản trị", roles=[Role.ADMIN], password=ADMIN_PASSWORD)
        get_engine(url).dispose()
    runtime.reset()
    yield home / "bantin.db"


@pytest.fixture
def home(bantin_env: Path, template_db: Path) -> Iterator[Path]:
    bantin_env.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template_db, bantin_env / "bantin.db")
    device_service.forget()
    device_schedule.invalidate()
    yield bantin_env
    device_service.forget()
    device_schedule.invalidate()


@pytest.fixture
def client(home: Path) -> Iterator["object"]:
    from fastapi.testclient import TestClient

    from web.app import create_app

    with TestClient(create_app(get_settings()), base_url="http://bantin.test") as c:
        yield c
