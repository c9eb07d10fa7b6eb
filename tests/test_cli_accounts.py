"""``bantin users`` and ``bantin audit verify`` through Typer's test runner (SQLite in a temp home)."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from cli.audit import TAMPERED_EXIT, audit_app
from cli.main import app
from cli.users import users_app
from domain.errors import DomainError
from services import auth
from services.runtime import db_engine, session
from storage.repositories import areas

runner = CliRunner()
LEGACY_AREAS = Path(areas.__file__).parents[1] / "seed" / areas.LEGACY_SEED


@pytest.fixture
def home(bantin_env: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.delenv("BANTIN_PASSWORD", raising=False)
    out = runner.invoke(app, ["init", "--areas", str(LEGACY_AREAS)])  # the fixtures use pre-2025 codes
    assert out.exit_code == 0, out.output
    yield bantin_env


def test_add_with_several_roles_and_password_from_environment(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BANTIN_PASSWORD", "mật-khẩu-môi-trường")
    out = runner.invoke(users_app, ["add", "lan", "--name", "Nguyễn Thị Lan", "--role", "approver:847",
                                    "--role", "translator", "--area", "84", "--language", "km",
                                    "--role", "editor:29377,editor:29380"])
    assert out.exit_code == 0, out.output
    assert "approver:847:district" in out.stdout and "translator:84:km" in out.stdout
    with session() as s:
        assert auth.authenticate(s, "lan", "mật-khẩu-môi-trường") is not None
    listing = runner.invoke(users_app, ["list"])
    assert "lan" in listing.stdout and "active" in listing.stdout
    assert "editor:29377,editor:29380" in listing.stdout


def _installation_admin() -> None:
    """The first installation-wide admin (added without --as); from then on account changes say who acts."""
    out = runner.invoke(users_app, ["add", "root", "--name", "Root", "--role", "admin", "--no-password"])
    assert out.exit_code == 0, out.output


def test_add_with_password_option_then_disable(home: Path) -> None:
    out = runner.invoke(users_app, ["add", "binh", "--name", "Bình", "--role", "approver", "--area", "847",
                                    "--password", "mật-khẩu-tùy-chọn"])
    assert out.exit_code == 0, out.output
    _installation_admin()
    assert runner.invoke(users_app, ["disable", "binh"]).exit_code != 0  # once an admin exists, say who acts
    assert runner.invoke(users_app, ["disable", "binh", "--as", "root"]).exit_code == 0
    with session() as s:
        assert auth.authenticate(s, "binh", "mật-khẩu-tùy-chọn") is None
    assert "disabled" in runner.invoke(users_app, ["list"]).stdout
    assert runner.invoke(users_app, ["enable", "binh", "--as", "root"]).exit_code == 0
    with session() as s:
        assert auth.authenticate(s, "binh", "mật-khẩu-tùy-chọn") is not None


@pytest.mark.parametrize("args,message", [
    (["--role", "boss"], "unknown role 'boss'"),
    (["--role", "translator:84"], "needs a language"),
    (["--role", "approver:29377:province", "--no-password"], "cannot approve at province level"),
    (["--role", "editor:29377", "--password", "short"], "at least 8"),
    (["--role", "editor:29377"], "give --password, set BANTIN_PASSWORD, or pass --no-password"),
    (["--role", "editor:99999", "--no-password"], "unknown area code '99999'"),
])
def test_add_refuses_bad_input_and_stores_nothing(home: Path, args: list[str], message: str) -> None:
    out = runner.invoke(users_app, ["add", "x", "--name", "X", *args])
    assert isinstance(out.exception, DomainError)  # main() turns these into one line and exit status 2
    assert message in str(out.exception)
    assert "x " not in runner.invoke(users_app, ["list"]).stdout


def test_grant_revoke_and_passwd(home: Path) -> None:
    assert runner.invoke(users_app, ["add", "an", "--name", "An", "--role", "editor:29377",
                                     "--no-password"]).exit_code == 0
    _installation_admin()
    out = runner.invoke(users_app, ["grant", "an", "--role", "approver:29377", "--as", "root"])
    assert out.exit_code == 0 and "approver:29377:commune" in out.stdout
    out = runner.invoke(users_app, ["revoke", "an", "--role", "editor:29377", "--as", "root"])
    assert out.exit_code == 0 and "editor" not in out.stdout
    assert runner.invoke(users_app, ["passwd", "an", "--password", "mật-khẩu-mới-đủ", "--as", "root"]).exit_code == 0
    with session() as s:
        assert auth.authenticate(s, "an", "mật-khẩu-mới-đủ") is not None


def test_audit_verify_reports_intact_then_the_tampered_row(home: Path) -> None:
    for name in ("an", "bao", "chi"):
        runner.invoke(users_app, ["add", name, "--name", name, "--role", "editor:29377", "--no-password"])
    ok = runner.invoke(audit_app, ["verify"])
    assert ok.exit_code == 0 and "audit log intact: 3 entries" in ok.stdout

    engine = db_engine()
    with engine.begin() as conn:
        conn.execute(text("DROP TRIGGER audit_log_no_update"))
        conn.execute(text("DROP TRIGGER audit_log_no_delete"))
        row_id = conn.execute(text("SELECT id FROM audit_log WHERE seq = 2")).scalar_one()
        conn.execute(text("UPDATE audit_log SET entity_id = 'mallory' WHERE seq = 2"))
    bad = runner.invoke(audit_app, ["verify"])
    assert bad.exit_code == TAMPERED_EXIT
    assert f"entry #2 (row id {row_id}): content was modified" in bad.stderr

    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE seq = 3"))
    gone = runner.invoke(audit_app, ["verify"])
    assert gone.exit_code == TAMPERED_EXIT and "the last entry is missing" in gone.stderr
