"""``bantin live``: list, start and stop through ``services.live`` like the live page, in the officer's
Vietnamese, refusals included."""

from pathlib import Path

from typer.testing import CliRunner

from cli.main import app

runner = CliRunner()


def test_live_cli_walk(accounts: Path) -> None:
    out = runner.invoke(app, ["live", "list", "--as", "approver_daloc"])
    assert out.exit_code == 0, out.output
    assert out.stdout == "Chưa có buổi phát trực tiếp nào ở các địa bàn bạn phụ trách.\n"
    out = runner.invoke(app, ["live", "start", "Xã Đa Lộc", "--title", "Họp dân", "--as", "approver_daloc"])
    assert out.exit_code == 0, out.output
    assert out.stdout.startswith("Đã mở buổi phát trực tiếp 1 cho địa bàn 29377, tự kết thúc lúc ")
    assert out.stdout.endswith(". Mở trang Phát trực tiếp để nói.\n")

    out = runner.invoke(app, ["live", "start", "29377", "--as", "approver_chauthanh"])
    assert out.exit_code == 2
    assert out.stderr == "Địa bàn 29377 đang có buổi phát trực tiếp khác (buổi 1 của approver_daloc).\n"
    out = runner.invoke(app, ["live", "start", "29380", "--as", "approver_daloc"])
    assert out.exit_code == 4 and out.stderr == "Bạn không có quyền phát trực tiếp cho địa bàn này.\n"
    out = runner.invoke(app, ["live", "start", "29380"])
    assert out.exit_code == 2 and out.stderr == "Hãy cho biết ai đang thao tác: tên đăng nhập của bạn (--as).\n"
    out = runner.invoke(app, ["live", "start", "29380", "--title", "x" * 201, "--as", "approver_mychanh"])
    assert out.exit_code == 2 and "200" in out.stderr and "Traceback" not in out.output
    out = runner.invoke(app, ["live", "start", "99999", "--as", "admin"])
    assert out.exit_code == 2 and out.stderr == "Không tìm thấy địa bàn này; hãy nhập mã hoặc tên xã, phường, tỉnh.\n"
    out = runner.invoke(app, ["live", "start", "29380", "--emergency", "--as", "approver_mychanh"])
    assert out.exit_code == 0, out.output

    out = runner.invoke(app, ["live", "list", "--as", "approver_daloc"])  # Mỹ Chánh's session is not Đa Lộc's
    assert out.exit_code == 0 and len(out.stdout.splitlines()) == 1
    assert out.stdout.endswith("  29377  Đang phát trực tiếp  thường  Họp dân  (thiết bị đã phát: 0/0)\n")
    out = runner.invoke(app, ["live", "list", "--as", "approver_chauthanh"])  # the district sees both, newest first
    assert [line.split()[0] for line in out.stdout.splitlines()] == ["2", "1"]
    assert "  khẩn cấp  " in out.stdout.splitlines()[0]

    out = runner.invoke(app, ["live", "stop", "1", "--as", "approver_mychanh"])
    assert out.exit_code == 4 and out.stderr == "Bạn không có quyền phát trực tiếp cho địa bàn này.\n"
    out = runner.invoke(app, ["live", "stop", "7", "--as", "admin"])
    assert out.exit_code == 2 and out.stderr == "Không có buổi phát trực tiếp số 7.\n"
    out = runner.invoke(app, ["live", "stop", "1", "--as", "approver_daloc"])
    assert out.exit_code == 0 and out.stdout == "Đã kết thúc buổi phát trực tiếp 1 (đã dừng).\n"
    out = runner.invoke(app, ["live", "list", "--as", "approver_daloc"])
    assert "  29377  đã dừng  thường  Họp dân" in out.stdout


def test_the_list_reads_proof_of_play_in_a_bounded_number_of_statements(accounts: Path) -> None:
    """``bantin live list`` counts the devices that played each session for the whole list at once: twelve
    sessions cost the statements two do (an N+1 here made the list a query or two per row). Statements are
    counted on the engine; the plays of one session are in its row."""
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import event

    from services import live
    from services.runtime import db_engine, session
    from tests.streams.test_live import speakers_hearing

    began = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
    with session() as s:
        for n in range(12):
            at = began + timedelta(minutes=10 * n)
            rec = live.start(s, area_codes=["29377" if n % 2 else "29380"], actor="approver_chauthanh",
                             title=f"Buổi {n + 1}", now=at)
            live.stop(s, rec.id, actor="approver_chauthanh", now=at + timedelta(minutes=5))
        heard = live.get(s, 12)  # Đa Lộc's newest: one of its two speakers played it
        speakers_hearing(s, heard, began + timedelta(minutes=110), [(0, 300, True)])
    statements: list[str] = []

    def count(conn: object, cursor: object, statement: str, *args: object) -> None:
        statements.append(statement)

    def listed(limit: int) -> tuple[list[str], int]:
        statements.clear()
        event.listen(db_engine(), "before_cursor_execute", count)
        try:
            out = runner.invoke(app, ["live", "list", "--limit", str(limit), "--as", "approver_chauthanh"])
        finally:
            event.remove(db_engine(), "before_cursor_execute", count)
        assert out.exit_code == 0, out.output
        return out.stdout.splitlines(), len(statements)

    listed(1)  # caches warm (the area map), as on a running installation
    two, few = listed(2)
    twelve, many = listed(12)
    assert (len(two), len(twelve)) == (2, 12)
    assert twelve[0].split()[0] == "12" and twelve[0].endswith("  Buổi 12  (thiết bị đã phát: 1/2)")
    assert twelve[1].endswith("  Buổi 11  (thiết bị đã phát: 0/0)")  # Mỹ Chánh has no devices
    assert many == few, (few, many)
