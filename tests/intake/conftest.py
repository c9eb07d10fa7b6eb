"""A migrated home with the area list and the demo editor and approver."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from cli.main import seed_demo_users
from services.runtime import session
from settings import get_settings
from storage.migrate import upgrade
from storage.repositories import areas


@pytest.fixture
def app(bantin_env: Path) -> Iterator[Path]:
    upgrade(get_settings().database_url)
    with session() as s:
        areas.upsert_areas(s, areas.read_area_csv(seed=areas.LEGACY_SEED))
        seed_demo_users(s)
    yield bantin_env
