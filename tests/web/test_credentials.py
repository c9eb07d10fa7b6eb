"""Revocable sessions and API tokens, and client addresses behind proxies (issue 17, item 3).

Each attack from the issue is replayed: a cookie captured before logout, a session and token kept across a
password change, a token kept across disable and enable, a role change, an expired token, and a login
throttle dodged with forged X-Forwarded-For headers.
"""

import re
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from ipaddress import ip_network
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from cli.main import app as cli_app
from domain.approvals import Role
from domain.errors import Forbidden, InvalidInput, NotFound
from domain.users import Membership
from services import accounts, credentials
from services.runtime import session
from settings import get_settings
from storage.models import AuditRecord
from storage.repositories import users
from tests.web.conftest import PASSWORD
from web.app import SERVER_OPTIONS, create_app
from web.security import client_address, parse_proxies

runner = CliRunner()


@pytest.fixture
def client(shared_web_home: Path) -> Iterator[TestClient]:
    with TestClient(create_app(get_settings()), follow_redirects=False) as c:
        yield c


_n = iter(range(10_000))


EDITOR_DALOC = Membership(Role.EDITOR, "29377")


def new_user(role: Membership = EDITOR_DALOC) -> str:
    name = f"nguoi{next(_n)}-{time.monotonic_ns() % 100000}"
    with session() as s:
        users.add_user(s, username=name, full_name="Người thử", memberships=[role], password=PASSWORD,
                       actor="test")
    return name


def csrf_of(c: TestClient) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', c.get("/login").text)
    assert m
    return m.group(1)


def sign_in(c: TestClient, username: str) -> str:
    """Log in; returns the session cookie's value (what an attacker would capture)."""
    resp = c.post("/login", data={"username": username, "password": PASSWORD, "csrf": csrf_of(c)})
    assert resp.status_code == 303, resp.text[:300]
    return str(c.cookies.get("bantin_session"))


def page_with(c: TestClient, cookie: str) -> int:
    """Status of the drafts page when sent with exactly this cookie (303 = sent to the login page)."""
    c.cookies.clear()
    c.cookies.set("bantin_session", cookie)
    return c.get("/").status_code


def api_status(c: TestClient, token: str) -> int:
    c.cookies.clear()
    return c.get("/api/v1/drafts", headers={"Authorization": f"Bearer {token}"}).status_code


def test_cookie_captured_before_logout_no_longer_works(client: TestClient) -> None:
    name = new_user()
    cookie = sign_in(client, name)
    assert page_with(client, cookie) == 200
    csrf = csrf_of(client)
    assert client.post("/logout", data={"csrf": csrf}).status_code == 303
    assert page_with(client, cookie) == 303  # the replayed cookie is signed and unexpired, but revoked
    with session() as s:
        actions = [a for (a,) in s.query(AuditRecord.action).filter(AuditRecord.entity_id == name)]
    assert actions[-2:] == ["user.signed_in", "user.signed_out"]


def test_password_change_ends_sessions_and_tokens(client: TestClient) -> None:
    name = new_user()
    cookie = sign_in(client, name)
    with session() as s:
        _, token = credentials.create_api_token(s, name, days=30, actor=name)
    assert page_with(client, cookie) == 200 and api_status(client, token) == 200
    with session() as s:
        accounts.set_password(s, name, "mat-khau-moi-2026", actor="admin")
    assert page_with(client, cookie) == 303
    assert api_status(client, token) == 401


def test_disable_then_enable_does_not_bring_old_credentials_back(client: TestClient) -> None:
    name = new_user()
    cookie = sign_in(client, name)
    with session() as s:
        _, token = credentials.create_api_token(s, name, days=30, actor=name)
    with session() as s:
        accounts.set_active(s, name, False, actor="admin")
    assert api_status(client, token) == 401 and page_with(client, cookie) == 303
    with session() as s:
        accounts.set_active(s, name, True, actor="admin")
    assert api_status(client, token) == 401
    assert page_with(client, cookie) == 303
    with session() as s:
        _, fresh = credentials.create_api_token(s, name, days=30, actor=name)
    assert api_status(client, fresh) == 200


def test_role_change_ends_sessions_and_tokens(client: TestClient) -> None:
    name = new_user()
    cookie = sign_in(client, name)
    with session() as s:
        _, token = credentials.create_api_token(s, name, days=30, actor=name)
        accounts.grant(s, name, [Membership(Role.EDITOR, "29380")], actor="admin")
    assert page_with(client, cookie) == 303 and api_status(client, token) == 401
    with session() as s:
        _, token = credentials.create_api_token(s, name, days=30, actor=name)
        accounts.grant(s, name, [Membership(Role.EDITOR, "29380")], actor="admin")  # nothing changes
    assert api_status(client, token) == 200
    with session() as s:
        accounts.revoke(s, name, [Membership(Role.EDITOR, "29380")], actor="admin")
    assert api_status(client, token) == 401


def test_tokens_and_sessions_expire_on_the_injected_clock(shared_web_home: Path) -> None:
    name = new_user()
    t0 = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
    with session() as s:
        _, token = credentials.create_api_token(s, name, days=2, actor=name, now=t0)
        sid = credentials.open_session(s, users.get_user(s, name), now=t0)
    with session() as s:
        assert credentials.api_token_user(s, token, now=t0 + timedelta(days=1, hours=23)) is not None
        assert credentials.api_token_user(s, token, now=t0 + timedelta(days=2)) is None
        assert credentials.session_user(s, sid, now=t0 + timedelta(hours=11, minutes=59)) is not None
        assert credentials.session_user(s, sid, now=t0 + timedelta(hours=12)) is None
        assert credentials.api_token_user(s, token + "x", now=t0) is None
        assert credentials.session_user(s, 12345, now=t0) is None


def test_token_is_stored_hashed(shared_web_home: Path) -> None:
    from storage.models_credentials import ApiTokenRecord

    name = new_user()
    with session() as s:
        info, token = credentials.create_api_token(s, name, days=1, actor=name)
        rec = s.get(ApiTokenRecord, info.id)
        assert rec is not None and token not in rec.token_hash and len(rec.token_hash) == 64


def test_cli_create_list_revoke(client: TestClient) -> None:
    name = new_user()
    nobody = runner.invoke(cli_app, ["api-token", "create", name, "--days", "7"])
    assert isinstance(nobody.exception, InvalidInput) and "--as" in str(nobody.exception)
    out = runner.invoke(cli_app, ["api-token", "create", name, "--name", "tỉnh Trà Vinh", "--days", "7",
                                  "--as", name])
    assert out.exit_code == 0, out.output
    token = out.stdout.strip().splitlines()[-1]
    assert token.startswith("bantin_") and api_status(client, token) == 200
    listing = runner.invoke(cli_app, ["api-token", "list", name])
    assert listing.exit_code == 0 and "tỉnh Trà Vinh" in listing.stdout and "active" in listing.stdout
    assert token not in listing.stdout
    token_id = re.search(r"#(\d+)", listing.stdout)
    assert token_id is not None
    assert isinstance(runner.invoke(cli_app, ["api-token", "revoke", token_id.group(1)]).exception, InvalidInput)
    revoked = runner.invoke(cli_app, ["api-token", "revoke", token_id.group(1), "--as", name])
    assert revoked.exit_code == 0 and "revoked" in revoked.stdout
    assert api_status(client, token) == 401
    assert "revoked (revoked)" in runner.invoke(cli_app, ["api-token", "list", name]).stdout
    too_long = runner.invoke(cli_app, ["api-token", "create", name, "--days", "400", "--as", name])
    assert isinstance(too_long.exception, InvalidInput) and "1-365 days" in str(too_long.exception)
    assert isinstance(runner.invoke(cli_app, ["api-token", "revoke", "999999", "--as", name]).exception, NotFound)


def test_only_the_user_or_their_admin_manages_their_tokens(client: TestClient) -> None:
    editor = new_user()
    other = new_user()
    with session() as s:
        before = len(credentials.list_api_tokens(s, "admin"))
        with pytest.raises(Forbidden):  # an editor minting the installation admin's token
            credentials.create_api_token(s, "admin", days=1, actor=editor)
        with pytest.raises(Forbidden):  # a colleague of the same commune is no admin of it
            credentials.create_api_token(s, other, days=1, actor=editor)
        assert len(credentials.list_api_tokens(s, "admin")) == before
        info, token = credentials.create_api_token(s, editor, days=1, actor="admin")  # their admin may
        with pytest.raises(Forbidden):
            credentials.revoke_api_token(s, info.id, actor=other)
    assert api_status(client, token) == 200
    with session() as s:
        credentials.revoke_api_token(s, info.id, actor="admin")
    assert api_status(client, token) == 401


# --- client addresses ---

def test_forwarded_for_is_ignored_unless_the_peer_is_a_configured_proxy() -> None:
    proxies = parse_proxies("10.0.0.5, 192.168.1.0/24")
    assert proxies == (ip_network("10.0.0.5/32"), ip_network("192.168.1.0/24"))
    assert client_address("203.0.113.9", "1.2.3.4", ()) == "203.0.113.9"
    assert client_address("127.0.0.1", "1.2.3.4", ()) == "127.0.0.1"
    assert client_address("203.0.113.9", "1.2.3.4", proxies) == "203.0.113.9"
    assert client_address("10.0.0.5", "1.2.3.4", proxies) == "1.2.3.4"
    # a client-written left part proves nothing: the rightmost untrusted hop is the client
    assert client_address("10.0.0.5", "6.6.6.6, 198.51.100.7, 192.168.1.20", proxies) == "198.51.100.7"
    assert client_address("10.0.0.5", "not-an-ip", proxies) == "10.0.0.5"
    with pytest.raises(ValueError):
        parse_proxies("10.0.0.5, proxy.example")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def served(shared_web_home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[callable]:  # type: ignore[valid-type]
    """Start the app under uvicorn exactly as ``bantin serve`` does (SERVER_OPTIONS), on loopback."""
    import uvicorn

    servers = []

    def start(trusted: str = "") -> str:
        monkeypatch.setenv("BANTIN_TRUSTED_PROXIES", trusted)
        get_settings.cache_clear()
        port = _free_port()
        server = uvicorn.Server(uvicorn.Config(create_app(get_settings()), host="127.0.0.1", port=port,
                                               log_level="warning", **SERVER_OPTIONS))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while not server.started:
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.02)
        servers.append((server, thread))
        return f"http://127.0.0.1:{port}"

    yield start
    for server, thread in servers:
        server.should_exit = True
        thread.join(timeout=10)
    get_settings.cache_clear()


def _failed_logins(base: str, username: str, forwarded: list[str]) -> list[int]:
    statuses = []
    with httpx.Client(base_url=base) as c:
        for fwd in forwarded:
            m = re.search(r'name="csrf" value="([^"]+)"', c.get("/login").text)
            assert m
            resp = c.post("/login", data={"username": username, "password": "sai-mat-khau", "csrf": m.group(1)},
                          headers={"X-Forwarded-For": fwd})
            statuses.append(resp.status_code)
    return statuses


def test_spoofed_forwarded_for_does_not_dodge_the_login_throttle(served) -> None:  # type: ignore[no-untyped-def]
    base = served("")
    forged = [f"198.51.100.{n}" for n in range(7)]
    assert _failed_logins(base, "editor_daloc", forged) == [401] * 5 + [429] * 2


def test_forwarded_for_from_a_configured_proxy_names_the_client(served) -> None:  # type: ignore[no-untyped-def]
    base = served("127.0.0.1")
    # behind a trusted proxy, different clients have their own counts...
    assert _failed_logins(base, "editor_mychanh", [f"198.51.100.{n}" for n in range(7)]) == [401] * 7
    # ...and one client is throttled whatever it writes to the left of the proxy's entry
    assert _failed_logins(base, "editor_mychanh", [f"6.6.6.{n}, 203.0.113.50" for n in range(6)]) == \
        [401] * 5 + [429]
