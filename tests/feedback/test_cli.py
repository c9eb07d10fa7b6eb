"""``bantin feedback``: an officer enters a phone call, then list, show, assign, answer (on air), close."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from domain.errors import InvalidInput
from services.runtime import session
from settings import get_settings
from storage.migrate import upgrade
from storage.repositories import areas, users
from tests.feedback.conftest import DALOC, HANDLERS

pytestmark = pytest.mark.integration


@pytest.fixture
def home(bantin_env: Path) -> Path:
    upgrade(get_settings().database_url)
    with session() as s:
        areas.upsert_areas(s, areas.read_area_csv(seed=areas.LEGACY_SEED))
        for name, ms in HANDLERS.items():
            users.add_user(s, username=name, full_name=name, memberships=ms)
    return bantin_env


def test_feedback_commands(home: Path) -> None:
    cli = CliRunner()

    def ok(*args: str) -> str:
        result = cli.invoke(app, ["feedback", *args], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    out = ok("enter", DALOC, "environment", "Rác thải đổ trộm bên bờ kênh ấp Phú Hòa đã ba ngày.",
             "--phone", "0912 345 678", "--consent", "--as", "canbo_daloc")
    assert out.startswith("feedback 1: tracking code ") and f"unit {DALOC}" in out
    rows = json.loads(ok("list", "--json", "--as", "canbo_daloc"))
    assert [(r["id"], r["state"], r["category"]) for r in rows] == [(1, "received", "environment")]
    assert ok("list", "--as", "canbo_mychanh").strip() == "no items"
    shown = json.loads(ok("show", "1", "--as", "canbo_daloc"))
    assert (shown["contact_phone"], shown["channel"]) == ("0912345678", "phone")
    denied = cli.invoke(app, ["feedback", "show", "1", "--as", "canbo_mychanh"])
    assert isinstance(denied.exception, InvalidInput) and "không xử lý" in str(denied.exception)
    nobody = cli.invoke(app, ["feedback", "list"], env={"BANTIN_USER": ""})
    assert isinstance(nobody.exception, InvalidInput) and "--as" in str(nobody.exception)
    assert ok("assign", "1", "--to", "canbo2_daloc", "--as", "canbo_daloc").strip() == \
        "feedback 1: assigned to canbo2_daloc"
    out = ok("answer", "1", "Xã đã cho thu gom rác và nhắc nhở các hộ dân.", "--on-air", "--as", "canbo2_daloc")
    assert out.splitlines() == ["feedback 1: answered", "draft 1: the answer, to produce"]
    assert ok("close", "1", "--as", "canbo_daloc").strip() == "feedback 1: closed"
    late = cli.invoke(app, ["feedback", "close", "1", "--as", "canbo_daloc"])
    assert "cannot go from 'closed' to 'closed'" in str(late.exception)
    figures = json.loads(ok("figures", "--area", "84"))
    assert (figures["total"], figures["answered"], figures["by_state"]) == (1, 1, {"closed": 1})
    assert ok("erase-expired").strip() == "0 item(s) erased, 0 voice message(s) deleted"
