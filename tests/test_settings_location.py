"""Settings are resolved once and do not depend on the current directory: the home is absolute, and the
``.env`` read is the one next to the home (or ``BANTIN_ENV_FILE``), never the working directory's."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from settings import Settings, get_settings, locate

BANTIN = str(Path(sys.executable).with_name("bantin"))


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BANTIN_")}
    env.update(extra)
    return env


def run(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([BANTIN, *args], capture_output=True, text=True, env=_clean_env(**env), timeout=120,
                          cwd=cwd)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``<site>/var``: an installation with the demo users, created from ``<site>`` with a relative home."""
    root = tmp_path_factory.mktemp("site")
    out = run(root, "init", "--demo-users", BANTIN_HOME="var")
    assert out.returncode == 0, out.stderr
    return root


@pytest.fixture
def elsewhere(tmp_path: Path) -> Path:
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()
    return cwd


def test_relative_and_absolute_home_open_the_same_installation(site: Path, elsewhere: Path) -> None:
    assert (site / "var" / "bantin.db").is_file()
    from_site = run(site, "users", "list", BANTIN_HOME="var")
    relative = os.path.relpath(site / "var", elsewhere)
    from_elsewhere = run(elsewhere, "users", "list", BANTIN_HOME=relative)
    absolute = run(Path("/"), "users", "list", BANTIN_HOME=str(site / "var"))
    assert from_site.returncode == 0, from_site.stderr
    assert "demo-editor" in from_site.stdout and "demo-approver" in from_site.stdout
    assert from_elsewhere.stdout == from_site.stdout == absolute.stdout
    assert list(elsewhere.iterdir()) == []  # nothing created in the working directory


def test_a_dotenv_in_the_working_directory_is_not_read(site: Path, elsewhere: Path) -> None:
    (elsewhere / ".env").write_text("BANTIN_DATABASE_URL=sqlite:///stray.db\nBANTIN_HOME=stray\n", encoding="utf-8")
    out = run(elsewhere, "users", "list", BANTIN_HOME=str(site / "var"))
    assert out.returncode == 0, out.stderr
    assert "demo-editor" in out.stdout
    assert sorted(p.name for p in elsewhere.iterdir()) == [".env"]


def test_the_dotenv_next_to_the_home_is_read_and_bantin_env_file_wins(site: Path, elsewhere: Path) -> None:
    empty_db = elsewhere / "empty.db"
    (site / ".env").write_text(f"BANTIN_DATABASE_URL=sqlite:///{empty_db}\n", encoding="utf-8")
    try:
        out = run(elsewhere, "users", "list", BANTIN_HOME=str(site / "var"))
        assert out.returncode == 2
        assert "bantin init" in out.stderr  # the .env's database, which has no tables
        explicit = elsewhere / "other.env"
        explicit.write_text("BANTIN_SCRIPT_SECONDS=45\n", encoding="utf-8")
        out = run(elsewhere, "users", "list", BANTIN_HOME=str(site / "var"), BANTIN_ENV_FILE=str(explicit))
        assert out.returncode == 0, out.stderr
        assert "demo-editor" in out.stdout
    finally:
        (site / ".env").unlink()


def test_home_is_absolute_and_env_file_sits_beside_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for var in ("BANTIN_HOME", "BANTIN_ENV_FILE", "BANTIN_SCRIPT_SECONDS", "BANTIN_DATABASE_URL"):
        monkeypatch.delenv(var, raising=False)
    assert Settings(home=Path("inst/var")).home == tmp_path.resolve() / "inst" / "var"
    assert locate() == (tmp_path.resolve() / "var", tmp_path.resolve() / ".env")

    monkeypatch.setenv("BANTIN_HOME", "inst/var")
    (tmp_path / "inst").mkdir()
    (tmp_path / "inst" / ".env").write_text("BANTIN_SCRIPT_SECONDS=45\n", encoding="utf-8")
    (tmp_path / ".env").write_text("BANTIN_SCRIPT_SECONDS=30\n", encoding="utf-8")
    get_settings.cache_clear()
    try:
        settings = get_settings()
        assert settings.home == tmp_path.resolve() / "inst" / "var"
        assert settings.script_seconds == 45.0
        assert settings.database_url == f"sqlite:///{tmp_path.resolve()}/inst/var/bantin.db"
    finally:
        get_settings.cache_clear()


def test_a_home_written_in_the_dotenv_is_relative_to_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "bantin.env").write_text("BANTIN_HOME=state\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("BANTIN_HOME", raising=False)
    monkeypatch.setenv("BANTIN_ENV_FILE", str(site / "bantin.env"))
    assert locate() == (site.resolve() / "state", site.resolve() / "bantin.env")


@pytest.mark.parametrize(("env", "expected"), [
    ({}, "http://127.0.0.1:8000"),
    ({"BANTIN_WEB_HOST": "0.0.0.0", "BANTIN_WEB_PORT": "8080"}, "http://127.0.0.1:8080"),
    ({"BANTIN_WEB_HOST": "10.1.2.3"}, "http://10.1.2.3:8000"),
    ({"BANTIN_WEB_HOST": "fd00::5", "BANTIN_WEB_PORT": "9000"}, "http://[fd00::5]:9000"),
    ({"BANTIN_WEB_HOST": "::"}, "http://[::1]:8000"),
    ({"BANTIN_PUBLIC_BASE_URL": "https://bantin.tinh.example/", "BANTIN_WEB_PORT": "9000"},
     "https://bantin.tinh.example"),
])
def test_the_base_url_is_the_public_one_else_the_web_apps_address(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, env: dict[str, str], expected: str) -> None:
    for var in ("BANTIN_WEB_HOST", "BANTIN_WEB_PORT", "BANTIN_PUBLIC_BASE_URL"):
        monkeypatch.delenv(var, raising=False)
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    assert Settings(home=tmp_path).base_url == expected


def test_a_public_base_url_must_be_http(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pydantic import ValidationError

    monkeypatch.setenv("BANTIN_PUBLIC_BASE_URL", "file:///srv/bantin")
    with pytest.raises(ValidationError, match="http:// or https://"):
        Settings(home=tmp_path)
