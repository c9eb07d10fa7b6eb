"""Shared fixtures.

Tiers: unit (pure), storage (SQLite always; PostgreSQL via BANTIN_TEST_DATABASE_URL or the local
server), S3 (moto's server; Ceph radosgw in tests/integration), flows (prefect_test_harness). A tier whose
service is missing is skipped with the reason, except under CI=true where it fails.
"""

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# Prefect reads its settings at import: keep its state in a temp dir and make no outbound calls.
_PREFECT_HOME = tempfile.mkdtemp(prefix="bantin-prefect-")
os.environ["PREFECT_HOME"] = _PREFECT_HOME
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")  # Prefect's client-side telemetry
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

import pytest  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from services import runtime  # noqa: E402

IN_CI = os.environ.get("CI", "").lower() == "true"
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


RUN_SLOW = IN_CI or os.environ.get("BANTIN_TEST_SLOW", "") == "1"
SLOW_REASON = ("slow tier (real servers, browsers, Prefect workers, model weights): "
               "runs under CI=true or BANTIN_TEST_SLOW=1")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A plain `make test` leaves out the tests marked slow, with the reason; CI runs every one."""
    if RUN_SLOW:
        return
    skip = pytest.mark.skip(reason=SLOW_REASON)
    for item in items:
        if item.get_closest_marker("slow") is not None:
            item.add_marker(skip)


def unavailable(reason: str) -> None:
    """Skip a tier whose service is missing — but fail under CI, which must run every tier."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: this tier must run)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    url = os.environ.get("BANTIN_TEST_DATABASE_URL", DEFAULT_PG)
    try:
        engine = create_engine(url, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
    except Exception as exc:  # any driver or network error means "no server here"
        unavailable(f"PostgreSQL not reachable at {make_url(url).render_as_string(hide_password=True)}: "
                    f"{str(exc).splitlines()[0]}")
    return url


@contextmanager
def new_postgres_database(admin_url: str) -> Iterator[str]:
    """A new, empty database on the server of ``admin_url``; its URL. Dropped afterwards."""
    name = f"bantin_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        from storage.db import get_engine

        get_engine.cache_clear()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def postgres_url(postgres_admin_url: str) -> Iterator[str]:
    """A fresh database for this test session, dropped afterwards."""
    with new_postgres_database(postgres_admin_url) as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Each storage test runs on SQLite and on PostgreSQL (a fresh schema state per test)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    url = request.getfixturevalue("postgres_url")
    from storage.models import Base

    engine = create_engine(url)
    with engine.begin() as conn:
        Base.metadata.drop_all(conn)
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    engine.dispose()
    yield url


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """moto's S3 server on a free loopback port (fast; it does not check signatures)."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"{host}:{port}"
    server.stop()


@pytest.fixture
def bantin_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Point settings at a fresh home (SQLite + local objects) for this test."""
    home = tmp_path / "home"
    monkeypatch.setenv("BANTIN_HOME", str(home))
    for var in ("BANTIN_DATABASE_URL", "BANTIN_STORE", "BANTIN_STORE_DIR", "BANTIN_USER"):
        monkeypatch.delenv(var, raising=False)
    runtime.reset()
    yield home
    runtime.reset()


@pytest.fixture
def web_address(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The web app on a free loopback port of this process, named as the installation's web address
    (``BANTIN_WEB_HOST``/``BANTIN_WEB_PORT``, what ``bantin serve`` binds), so the asset links of HTTTN payloads
    point at it. Ask for it after the fixture that makes the home."""
    from settings import get_settings
    from tests.web.conftest import _free_port, _serve
    from web.app import create_app

    port = _free_port()
    monkeypatch.setenv("BANTIN_WEB_HOST", "127.0.0.1")
    monkeypatch.setenv("BANTIN_WEB_PORT", str(port))
    runtime.reset()
    yield from _serve(create_app(get_settings()), port)


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """One Prefect test server for the session (start-up takes 10-20 s on 2 cores)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="session")
def prefect_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Prefect server for the session with bantin's work pool, queues and deployments registered; start
    a worker for a test's home with ``tests.orchestration.stack.worker``."""
    from tests.orchestration.stack import prefect_server, register

    base = tmp_path_factory.mktemp("prefect-api")
    with prefect_server(base) as api:
        register(api, base)
        yield api


@pytest.fixture(scope="module")
def playwright_driver() -> Iterator[object]:
    """One Playwright (sync API) per test module (a second one cannot start while the first runs). Not per
    session: while it runs, its event loop is the thread's running loop, and a later module's
    ``asyncio.run`` (a Prefect worker polled in the test) would be refused."""
    if not (Path(_chromium()).exists() or shutil.which(_chromium())):
        unavailable(f"Chromium not found at {_chromium()} (apt-get install chromium); browser tests need it")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        yield pw


def _chromium() -> str:
    return os.environ.get("BANTIN_CHROMIUM", "/usr/bin/chromium")
