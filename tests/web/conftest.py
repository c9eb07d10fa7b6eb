"""Web fixtures: a migrated home with accounts, the app on a live loopback server, and headless Chromium."""

import os
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ARTIFACTS = Path(__file__).parents[2] / "test-artifacts"
PASSWORD = "mat-khau-thu-nghiem-2026"


def _prepare_home(*, two_tier: bool = False) -> None:
    from services.runtime import session
    from settings import get_settings
    from storage.migrate import upgrade
    from storage.repositories import areas
    from tests.web.accounts import TWO_TIER_ACCOUNTS, create_accounts

    upgrade(get_settings().database_url)
    with session() as s:
        if two_tier:  # today's units (34 provinces, 3,321 communes) and accounts around Xã Châu Thành, Vĩnh Long
            areas.upsert_areas(s, areas.read_area_csv(seed=areas.SEED))
            create_accounts(s, PASSWORD, TWO_TIER_ACCOUNTS)
        else:  # the pre-2025 units and accounts around Đa Lộc, Châu Thành district, Trà Vinh
            areas.upsert_areas(s, areas.read_area_csv(seed=areas.LEGACY_SEED))
            create_accounts(s, PASSWORD)


@pytest.fixture
def web_home(bantin_env: Path) -> Path:
    """A fresh home with areas and one account per role (all with PASSWORD)."""
    _prepare_home()
    return bantin_env


@pytest.fixture
def two_tier_home(bantin_env: Path) -> Path:
    """A fresh home on today's two-tier units with the accounts of ``TWO_TIER_ACCOUNTS``."""
    _prepare_home(two_tier=True)
    return bantin_env


@pytest.fixture
def after_init_home(bantin_env: Path) -> Path:
    """A home as a new installation starts: ``bantin init`` (migrated database, today's bundled area seed) and the
    installation admin made as an operator makes it, ``bantin users add admin --role admin`` (no ``--as``: no
    admin exists yet); no other account."""
    from typer.testing import CliRunner

    from cli.main import app

    cli = CliRunner()
    for args in (["init"], ["users", "add", "admin", "--name", "Quản trị hệ thống", "--role", "admin"]):
        result = cli.invoke(app, args, env={"BANTIN_PASSWORD": PASSWORD})
        assert result.exit_code == 0, (args, result.output)
    return bantin_env


@pytest.fixture(scope="module")
def shared_web_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Like ``web_home`` but shared by a module's tests (password hashing makes accounts slow to create);
    for tests that only add rows of their own."""
    from services import runtime

    home = tmp_path_factory.mktemp("web-home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BANTIN_HOME", str(home))
        for var in ("BANTIN_DATABASE_URL", "BANTIN_STORE", "BANTIN_STORE_DIR", "BANTIN_USER"):
            mp.delenv(var, raising=False)
        runtime.reset()
        _prepare_home()
        yield home
    runtime.reset()


def _recording_app_client() -> Iterator[object]:
    """The app in a TestClient that does not follow redirects, recording flow starts instead of running them."""
    from fastapi.testclient import TestClient

    from settings import get_settings
    from tests.web.test_authz import RecordingFlows
    from web.app import create_app

    app = create_app(get_settings())
    app.state.flows = RecordingFlows()
    with TestClient(app, follow_redirects=False) as c:
        yield c


@pytest.fixture
def client(shared_web_home: Path) -> Iterator[object]:
    """A page client on the module's shared home."""
    yield from _recording_app_client()


@pytest.fixture
def fresh(web_home: Path) -> Iterator[object]:
    """A page client on a home of its own (for tests that count everything in it)."""
    yield from _recording_app_client()


@pytest.fixture
def two_tier_client(two_tier_home: Path) -> Iterator[object]:
    """A page client on a home of its own on today's two-tier units."""
    yield from _recording_app_client()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def live_server(web_home: Path, prefect_api: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The real app under uvicorn on a free loopback port, in a thread of this process; the flows it starts
    run on a real Prefect server's work pool, taken by a bantin worker for this home."""
    yield from _live(web_home, prefect_api, tmp_path, monkeypatch)


@pytest.fixture
def two_tier_server(two_tier_home: Path, prefect_api: str, tmp_path: Path,
                    monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Like ``live_server``, on today's two-tier units (``two_tier_home``)."""
    yield from _live(two_tier_home, prefect_api, tmp_path, monkeypatch)


@pytest.fixture
def after_init_server(after_init_home: Path, prefect_api: str, tmp_path: Path,
                      monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Like ``live_server``, on a home just after ``bantin init`` with only the installation admin
    (``after_init_home``)."""
    yield from _live(after_init_home, prefect_api, tmp_path, monkeypatch)


def _live(home: Path, prefect_api: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from services import runtime
    from settings import get_settings
    from tests.orchestration.stack import worker
    from web.app import create_app

    port = _free_port()  # the installation's web address: asset links in HTTTN payloads point here
    monkeypatch.setenv("PREFECT_API_URL", prefect_api)
    monkeypatch.setenv("BANTIN_WEB_PORT", str(port))
    runtime.reset()
    with temporary_settings({PREFECT_API_URL: prefect_api}), worker(prefect_api, home, tmp_path / "worker.log",
                                                                     BANTIN_WEB_PORT=str(port)):
        yield from _serve(create_app(get_settings()), port)


def _serve(app: object, port: int | None = None) -> Iterator[str]:
    from web.serving import serve_in_thread

    with serve_in_thread(app, port or _free_port()) as base:
        yield base


CHROMIUM = os.environ.get("BANTIN_CHROMIUM", "/usr/bin/chromium")
PHONE = {"width": 360, "height": 740}  # the viewport of the browser walks
DESKTOP = {"width": 1366, "height": 768}  # the office PC's: every page axe checks is checked at both


def assert_accessible(page) -> None:  # type: ignore[no-untyped-def]
    """axe-core (WCAG 2 A/AA rules) finds nothing on the page as it is now, at 360 px and at 1366 px."""
    from axe_playwright_python.sync_playwright import Axe

    size = page.viewport_size
    try:
        for viewport in (PHONE, DESKTOP):
            page.set_viewport_size(viewport)
            result = Axe().run(page)
            assert result.violations_count == 0, (page.url, viewport["width"], result.generate_report())
    finally:
        page.set_viewport_size(size)


class Tabs:
    """A walk's browser tabs: each its own phone-sized Vietnamese context, screenshotted when a step fails, and
    remembering every page it loaded so that :meth:`check_visited` can run axe over all of them at the end."""

    def __init__(self, browser: object, request: pytest.FixtureRequest) -> None:
        self.browser, self.node = browser, request.node
        self.visited: list[tuple[object, list[str]]] = []
        self.node.open_pages = []

    def new(self, **context: object):  # type: ignore[no-untyped-def]
        page = self.browser.new_context(viewport=PHONE, locale="vi-VN", **context).new_page()  # type: ignore[attr-defined]
        urls: list[str] = []

        def loaded(frame) -> None:  # type: ignore[no-untyped-def]
            url = frame.url.split("#")[0]
            if frame == page.main_frame and url.startswith("http") and url not in urls:
                urls.append(url)
        page.on("framenavigated", loaded)
        self.node.open_pages.append(page)
        self.visited.append((page, urls))
        return page

    def check_visited(self) -> int:
        """Load each page every tab visited again (English ones last) and run axe on it at both widths; returns
        how many pages were checked."""
        count = 0
        for page, urls in self.visited:
            for url in sorted(set(urls), key=lambda u: ("lang=en" in u, urls.index(u))):
                page.goto(url)  # type: ignore[attr-defined]
                assert_accessible(page)
                count += 1
        return count


def sign_in(page, base: str, username: str, password: str = PASSWORD) -> None:  # type: ignore[no-untyped-def]
    """Sign in through the login form (every test account has PASSWORD) and land on the drafts page."""
    page.goto(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def no_horizontal_scroll(page) -> bool:  # type: ignore[no-untyped-def]
    """The page fits the viewport's width (nothing to scroll sideways at 360 px)."""
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"))


def wait_for(check: Callable[[], bool], what: str, timeout: float = 240.0) -> None:
    """Poll ``check`` once a second until it holds (flows run on a real worker in the browser walks)."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(1.0)


@pytest.fixture(scope="module")
def chromium(playwright_driver: object) -> Iterator[object]:
    """Debian's Chromium driven by Playwright (no browser download)."""
    browser = playwright_driver.chromium.launch(  # type: ignore[attr-defined]
        executable_path=CHROMIUM, headless=True,
        args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
              "--disable-sync", "--no-first-run", "--disable-quic"],
    )
    yield browser
    browser.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """On a failed browser test, keep a screenshot of every open page in test-artifacts/."""
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed:
        for n, page in enumerate(getattr(item, "open_pages", [])):
            ARTIFACTS.mkdir(exist_ok=True)
            try:
                page.screenshot(path=str(ARTIFACTS / f"{item.name}-{n}.png"), full_page=True)
            except Exception:  # the page may already be gone; the failure itself is what matters
                pass
