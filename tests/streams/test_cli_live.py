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
