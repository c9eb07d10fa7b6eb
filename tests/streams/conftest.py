"""Streams fixtures: real icecast2 servers on free loopback ports (skipped with the reason when icecast2 is
not installed, failing under CI), an upstream "station" fed a sine tone by ffmpeg, and the web app whose
listener check the installation's Icecast calls."""

import shutil
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import unavailable

UPSTREAM_PASSWORD = "tram-tren-2026"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def icecast_binary() -> str:
    found = shutil.which("icecast2") or ("/usr/bin/icecast2" if Path("/usr/bin/icecast2").exists() else None)
    if found is None:
        unavailable("icecast2 is not installed (apt-get install icecast2); the stream tests need it")
    if shutil.which("ffmpeg") is None:
        unavailable("ffmpeg is not installed; the stream tests feed Icecast with it")
    return str(found)


@pytest.fixture
def upstream(icecast_binary: str, tmp_path: Path) -> Iterator[Callable[[str], str]]:
    """An upstream station: its own icecast2 (no listener check), and ``start(mount)`` puts a 440 Hz tone on
    ``mount`` (ffmpeg, real time) and returns the mount's URL."""
    from engines.icecast import Feed, IcecastConfig, IcecastServer, default_run_as, source_url, tone_command

    port = free_port()
    server = IcecastServer(IcecastConfig(directory=tmp_path / "upstream", port=port, source_password=UPSTREAM_PASSWORD,
                                         admin_password="quan-tri-tren", run_as=default_run_as()))
    server.start()
    feeds: list[Feed] = []

    def start(mount: str) -> str:
        feeds.append(Feed(tone_command(source_url(port, UPSTREAM_PASSWORD, mount)), tmp_path / f"tone{len(feeds)}.log"))
        from tests.agent.conftest import wait_for

        wait_for(lambda: mount in server.sources(), 10, f"the tone on {mount}")
        return f"{server.url}{mount}"

    start.server = server  # type: ignore[attr-defined]
    start.feeds = feeds  # type: ignore[attr-defined]
    try:
        yield start
    finally:
        for feed in feeds:
            feed.stop()
        server.stop()


@pytest.fixture
def stream_home(bantin_env: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A migrated home with the legacy area tree and the installation's Icecast on a free port."""
    from services import runtime
    from services.runtime import session
    from settings import get_settings
    from storage.migrate import upgrade
    from storage.repositories import areas

    monkeypatch.setenv("BANTIN_ICECAST_PORT", str(free_port()))
    monkeypatch.setenv("BANTIN_DEVICE_CACHE_S", "0")  # a change is in the next poll's schedule
    runtime.reset()
    upgrade(get_settings().database_url)
    with session() as s:
        areas.upsert_areas(s, areas.read_area_csv(seed=areas.LEGACY_SEED))
    return bantin_env


@pytest.fixture
def accounts(stream_home: Path) -> Path:
    from services.runtime import session
    from storage.repositories import users
    from tests.web.accounts import ACCOUNTS

    with session() as s:  # no passwords: the service is called as the CLI does (argon2 would cost seconds)
        for username, memberships in ACCOUNTS.items():
            users.add_user(s, username=username, full_name=username, memberships=memberships)
    return stream_home


@pytest.fixture
def web_url(stream_home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The web app (listener check included) on a live loopback port, for the home's Icecast to call."""
    from services import runtime
    from settings import get_settings
    from tests.web.conftest import _serve
    from web.app import create_app

    yield from _serve(create_app(get_settings()))
    runtime.reset()


@pytest.fixture
def icecast(icecast_binary: str, web_url: str) -> Iterator[object]:
    """The installation's Icecast (``services.streaming``), every mount behind the web app's listener check."""
    from services import streaming

    server = streaming.icecast_server(["29377", "29380"], auth=f"{web_url}/icecast/v1/listener")
    server.start()
    try:
        yield server
    finally:
        server.stop()
