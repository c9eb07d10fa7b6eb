"""``bantin reports`` through Typer's runner on the simulated province."""

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from cli.main import app
from domain.errors import InvalidInput, NotFound
from services.runtime import session
from storage.repositories import reports as repo
from tests.devices.factory import published_package


def run(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


def test_generate_list_coverage_and_bad_input(province, tmp_path: Path) -> None:
    pid, manifest = published_package(title="Thông báo lịch cắt điện", areas=("070",), languages="vi")
    with session() as s:
        t0 = repo.published_times(s, [pid])[pid]
    province.play("a1", manifest, t0 + timedelta(seconds=12))
    rolled = run("reports", "rollup")
    assert rolled.exit_code == 0 and "folded 1 play log rows" in rolled.output

    cov = run("reports", "coverage", str(pid))
    assert cov.exit_code == 0, cov.output
    assert "communes 1/3, devices 1/6" in cov.output
    assert "not played (offline): 5" in cov.output  # the other five have not been heard from since
    out = tmp_path / "q.csv"
    last_month = (datetime.now(UTC).replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    made = run("reports", "generate", "--period", last_month, "--area", "08", "--format", "csv", "--out", str(out),
               "--as", "admin")
    assert made.exit_code == 0, made.output
    assert out.read_bytes().startswith("\ufeffBÁO CÁO".encode())
    listed = run("reports", "list", "--as", "admin")
    assert last_month in listed.output and " 08 " in listed.output

    future = run("reports", "generate", "--period", f"{datetime.now(UTC).year + 1}-Q2", "--area", "08", "--as",
                 "admin")
    assert isinstance(future.exception, InvalidInput) and "chưa bắt đầu" in str(future.exception)
    unknown = run("reports", "generate", "--period", last_month, "--area", "77777", "--as", "admin")
    assert isinstance(unknown.exception, NotFound)
