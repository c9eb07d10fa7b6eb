"""``bantin audit checkpoint`` and ``bantin audit verify`` end to end (SQLite in a temp home)."""

from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from cli.audit import TAMPERED_EXIT, audit_app
from cli.main import app
from services.runtime import db_engine

runner = CliRunner()


@pytest.fixture
def home(bantin_env: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("BANTIN_AUDIT_CHECKPOINT_FILE", raising=False)
    out = runner.invoke(app, ["init"])
    assert out.exit_code == 0, out.output
    out = runner.invoke(app, ["users", "add", "lan", "--name", "Lan", "--role", "editor:29374", "--no-password"])
    assert out.exit_code == 0, out.output
    out = runner.invoke(app, ["users", "add", "root", "--name", "Root", "--role", "admin", "--no-password"])
    assert out.exit_code == 0, out.output  # the first installation admin (no --as needed until it exists)
    return bantin_env


def test_checkpoint_then_emptied_log_exits_3(home: Path, tmp_path: Path) -> None:
    kept = tmp_path / "kiem-toan.jsonl"
    before = runner.invoke(audit_app, ["verify"])
    assert before.exit_code == 0 and "no signed checkpoint yet" in before.stdout
    out = runner.invoke(audit_app, ["checkpoint", "--file", str(kept)])
    assert out.exit_code == 0, out.output
    assert out.stdout.startswith("checkpoint #2 ") and kept.exists()
    ok = runner.invoke(audit_app, ["verify", "--checkpoints", str(kept)])
    assert ok.exit_code == 0 and "checked against signed checkpoints up to #2" in ok.stdout
    with db_engine().begin() as conn:  # empty the log and rewind its head, triggers put back
        conn.execute(text("DROP TRIGGER audit_log_no_delete"))
        conn.execute(text("DELETE FROM audit_log"))
        conn.execute(text(f"UPDATE audit_head SET seq = 0, hash = '{'0' * 64}'"))
        conn.execute(text("CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
                          "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only (DELETE refused)'); END"))
    store_deleted = home / "objects" / "audit" / "checkpoints" / "latest.json"
    store_deleted.unlink()  # and remove the store's copy too: only the auditor's file is left
    bad = runner.invoke(audit_app, ["verify", "--checkpoints", str(kept)])
    assert bad.exit_code == TAMPERED_EXIT
    assert "TAMPERED entry #2: the log is empty, but the checkpoint of" in bad.stderr
    assert "(the log was emptied)" in bad.stderr
    refused = runner.invoke(audit_app, ["checkpoint", "--file", str(kept)])
    assert refused.exit_code == TAMPERED_EXIT and len(kept.read_text().splitlines()) == 1


def test_destination_urls_with_line_breaks_are_refused(home: Path) -> None:
    from domain.errors import InvalidInput

    for url in ("https://htttn.example/in\r\nX-Injected: 1", "https://htttn.example/in\nHost: evil",
                "https://htttn.example/ in", "https://htttn.example/\x00"):
        out = runner.invoke(app, ["destinations", "add", "htttn-tinh", url, "--as", "root"])
        assert isinstance(out.exception, InvalidInput) and "one line" in str(out.exception), url
    assert "htttn-tinh" not in runner.invoke(app, ["destinations", "list", "--as", "root"]).stdout
    assert runner.invoke(app, ["destinations", "add", "htttn-tinh", "https://htttn.example/in",
                               "--as", "root"]).exit_code == 0
