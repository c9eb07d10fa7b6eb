"""The ``bantin`` command as an operator runs it: real entry point, real process, one-line errors."""

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

BANTIN = str(Path(sys.executable).with_name("bantin"))
LEGACY_AREAS = Path(__file__).parents[1] / "storage" / "seed" / "areas_legacy_2025-01.csv"  # pre-2025 codes


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cli-home")


def run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BANTIN_")}
    env["BANTIN_HOME"] = str(home)
    home.mkdir(parents=True, exist_ok=True)
    return subprocess.run([BANTIN, *args], capture_output=True, text=True, env=env, timeout=120, cwd=home)


def test_help_lists_the_commands(home: Path) -> None:
    out = run(home, "--help")
    assert out.returncode == 0
    for command in ("init", "draft", "produce", "package", "approve", "reject", "publish", "demo", "areas", "models",
                    "audit", "users", "serve", "api-token", "search", "archive", "devices", "keys", "deliveries",
                    "cap", "programs"):
        assert command in out.stdout


def test_commands_before_init_say_how_to_start(home: Path) -> None:
    out = run(home / "fresh", "draft", "list")
    assert out.returncode == 2
    assert out.stderr.strip().startswith("error:") and "bantin init" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_init_then_bad_drafts_fail_cleanly_and_store_nothing(home: Path) -> None:
    first = run(home, "init", "--demo-users", "--areas", str(LEGACY_AREAS))
    assert first.returncode == 0, first.stderr
    again = run(home, "init", "--demo-users", "--areas", str(LEGACY_AREAS))
    assert again.returncode == 0 and "0 added or updated" in again.stdout

    good = home / "good.txt"
    good.write_text("Thông báo cắt điện\nĐiện lực huyện thông báo cắt điện để bảo trì lưới điện từ 7 giờ đến 11 giờ.",
                    encoding="utf-8")
    empty = home / "empty.txt"
    empty.write_text("   \n\n", encoding="utf-8")
    latin1 = home / "latin1.txt"
    latin1.write_bytes("Thông báo\nLịch tiêm chủng cho trẻ em trong xã vào thứ hai.".encode("utf-16"))
    audio = home / "recording.mp3"
    audio.write_bytes(b"ID3")
    cases = [
        ([str(empty), "--area", "29377"], "empty"),
        ([str(latin1), "--area", "29377"], "not UTF-8"),
        ([str(good), "--area", "99999"], "unknown area"),
        ([str(good), "--area", "29377", "--lang", "vi,xx"], "unknown language 'xx'"),
        ([str(good), "--area", "29377", "--priority", "rat_gap"], "unknown priority"),
        ([str(home / "missing.txt"), "--area", "29377"], "file not found"),
        ([str(audio), "--area", "29377"], "not a readable media file"),  # probed before anything is stored
        ([str(good), "--area", "29377", "--expires", "2026-12-05 10:00"], "time zone"),
    ]
    for args, message in cases:
        out = run(home, "draft", "submit", *args, "--as", "demo-editor")
        assert out.returncode == 2, (args, out.stdout, out.stderr)
        assert message in out.stderr, (args, out.stderr)
        assert len(out.stderr.strip().splitlines()) == 1, out.stderr
    no_user = run(home, "draft", "submit", str(good), "--area", "29377")
    assert no_user.returncode == 2 and "--as" in no_user.stderr
    not_editor = run(home, "draft", "submit", str(good), "--area", "29377", "--as", "demo-approver")
    assert not_editor.returncode == 4 and "not allowed" in not_editor.stderr and "editor role" in not_editor.stderr
    added = run(home, "users", "add", "editor-daloc", "--name", "Biên tập Đa Lộc", "--role", "editor:29377",
                "--no-password")
    assert added.returncode == 0, added.stderr
    other_commune = run(home, "draft", "submit", str(good), "--area", "29380", "--as", "editor-daloc")
    assert other_commune.returncode == 4 and "another area" in other_commune.stderr

    listing = run(home, "draft", "list")
    assert listing.returncode == 0 and listing.stdout.strip() == ""  # nothing half-written
    assert not (home / "objects").exists() or not any((home / "objects").rglob("*.txt"))

    ok = run(home, "draft", "submit", str(good), "--area", "29377", "--as", "demo-editor")
    assert ok.returncode == 0, ok.stderr
    assert "draft 1 submitted" in ok.stdout
    assert "Thông báo cắt điện" in run(home, "draft", "list").stdout


@pytest.mark.slow
def test_init_on_a_fresh_machine_knows_todays_units(tmp_path: Path) -> None:
    out = run(tmp_path, "init")
    assert out.returncode == 0, out.stderr
    assert "3355 areas (34 province, 3321 commune)" in out.stdout
    with sqlite3.connect(tmp_path / "bantin.db") as db:  # counted in the database, not from bantin's summary
        counts = dict(db.execute("SELECT level, count(*) FROM areas WHERE successors IS NULL GROUP BY level"))
    assert counts == {"province": 34, "commune": 3321}
    provinces = run(tmp_path, "areas", "list").stdout.strip().splitlines()
    assert len(provinces) == 34 and any("Tỉnh Vĩnh Long" in line and "[vi,km]" in line for line in provinces)
    vinh_long = run(tmp_path, "areas", "list", "--parent", "86").stdout
    assert "29374  commune   Xã Châu Thành" in vinh_long and "district" not in vinh_long


def test_unknown_package_and_areas(home: Path) -> None:
    run(home, "init", "--demo-users", "--areas", str(LEGACY_AREAS))
    out = run(home, "approve", "999", "--as", "demo-approver")
    assert out.returncode == 2 and "no package with id 999" in out.stderr
    areas = run(home, "areas", "list", "--parent", "847")
    assert areas.returncode == 0 and "Xã Đa Lộc" in areas.stdout
    bad = run(home, "areas", "list", "--parent", "00000")
    assert bad.returncode == 2 and "unknown area code" in bad.stderr


def test_a_database_from_an_older_bantin_is_refused_until_upgraded(home: Path) -> None:
    from storage.migrate import upgrade

    old = home / "older"
    old.mkdir()
    upgrade(f"sqlite:///{old / 'bantin.db'}", "0006")  # as an older release left it
    out = run(old, "draft", "list")
    assert out.returncode == 2 and "schema is at revision 0006" in out.stderr and "bantin init" in out.stderr
    assert run(old, "init").returncode == 0 and run(old, "draft", "list").returncode == 0


def test_package_edit_and_record_refuse_cleanly(home: Path) -> None:
    run(home, "init", "--demo-users", "--areas", str(LEGACY_AREAS))
    script = home / "script.txt"
    script.write_text("Kính thưa bà con! Điện lực cắt điện từ 7 giờ đến 11 giờ ngày 5/12.", encoding="utf-8")
    cases = [
        (["package", "edit", "999", "--script-file", str(script)], "who is editing"),
        (["package", "edit", "999", "--as", "demo-editor"], "nothing to change"),
        (["package", "edit", "999", "--script-file", str(script), "--as", "demo-editor"], "no package with id 999"),
        (["package", "record", "999", "--file", str(home / "none.webm"), "--as", "demo-editor"], "no such file"),
        (["package", "translate", "999", "--lang", "km", "--script-file", str(script), "--board-file", str(script)],
         "who is translating"),
        (["package", "translate", "999", "--lang", "km", "--script-file", str(script), "--board-file", str(script),
          "--title", "Cắt điện", "--as", "demo-editor"], "no package with id 999"),
    ]
    for args, message in cases:
        out = run(home, *args)
        assert out.returncode == 2 and message in out.stderr, (args, out.stderr)
        assert len(out.stderr.strip().splitlines()) == 1


def test_one_exit_table_covers_runs_that_failed_on_a_worker(monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    from cli import main as cli_main
    from domain.errors import ApprovalRefused, NotFound
    from storage.errors import StorageError
    from tasks.runs import RunFailed

    assert [cli_main.exit_status(e) for e in (RunFailed("x"), StorageError("x"), NotFound("x"),
                                               ApprovalRefused("x"), ValueError("x"))] == [1, 1, 2, 4, 1]

    def failed_run() -> None:
        raise RunFailed("produce-draft-3 failed: Flow run encountered an exception: boom")

    monkeypatch.setattr(cli_main, "app", failed_run)
    monkeypatch.setattr(cli_main, "pin_environment", lambda: None)
    with pytest.raises(SystemExit) as stop:
        cli_main.main()
    assert stop.value.code == 1
    assert capsys.readouterr().err == ("error: RunFailed: produce-draft-3 failed: Flow run encountered an "
                                       "exception: boom\n")
