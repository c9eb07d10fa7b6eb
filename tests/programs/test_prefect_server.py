"""Against a real Prefect server started here (SQLite, loopback): ``bantin serve --flows-only`` serves every
deployment, the ``program`` one runs on its schedule and publishes the programme, and SIGTERM stops the runner
cleanly; ``prefect deploy --all`` accepts the project's prefect.yaml.

One server for the module (start-up takes 15-30 s). The runner is stopped before the server: a runner whose
server is gone ignores SIGTERM (research/infra.md B.4).
"""

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from domain.priority import Priority
from domain.programs import day_window, local_date
from engines import audio
from engines import ffmpeg as ff
from services import programs, programs_on_air
from services.runtime import session
from settings import get_settings
from tests.orchestration import stack
from tests.orchestration.stack import BIN, ROOT, wait_for
from tests.programs.conftest import MakePackage

EXPECTED_DEPLOYMENTS = ("produce", "revise", "transcribe", "publish", "retract", "due", "program", "emergency",
                        "archive-ingest", "archive-reindex", "reports", "transcribe-feedback-voice",
                        "erase-feedback-contacts", "relay-due", "relay")


def _prefect_env(base: Path, api_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(PREFECT_API_URL=api_url, PREFECT_HOME=str(base / "client"), PREFECT_SERVER_ANALYTICS_ENABLED="false",
               PREFECT_LOGGING_LEVEL="WARNING", PREFECT_RUNNER_POLL_FREQUENCY="1")
    return env


@pytest.fixture(scope="module")
def prefect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    base = tmp_path_factory.mktemp("prefect-server")
    with stack.prefect_server(base) as api:
        yield api, base


@pytest.mark.slow
def test_served_program_deployment_runs_on_schedule_and_publishes(
        prefect_server, home, make_package: MakePackage, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    api, base = prefect_server
    ff.tone_sequence(tmp_path / "tone.wav", [(440.0, 2.0)], level_db=-10)
    audio.normalize_to_mp3(tmp_path / "tone.wav", tmp_path / "bulletin.mp3", target=audio.LoudnessTarget())
    # A Khmer edition: chime-framed (espeak has no Khmer voice), which keeps the slow server test light;
    # the spoken Vietnamese frame is covered by test_flow.py.
    pkg = make_package(title="Lịch cắt điện", areas_=("29239",), audio={"km": tmp_path / "bulletin.mp3"},
                       priority=Priority.UU_TIEN)
    with session() as s:
        programs.save_program(s, area_code="29239", name="Bản tin sáng", at="06:00", languages="km", actor="op")
    env = _prefect_env(base, api)
    env["BANTIN_PROGRAM_BUILD_INTERVAL_S"] = "10"  # the program deployment runs on 10 s boundaries
    # `bantin serve --flows-only` with PREFECT_API_URL set: every deployment served by a runner child process.
    proc = subprocess.Popen([str(BIN / "bantin"), "serve", "--flows-only"], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    runner_log = get_settings().home / "logs" / "flows.log"
    children: list[int] = []
    try:
        def served():  # type: ignore[no-untyped-def]
            names = {d["name"] for d in httpx.post(f"{api}/deployments/filter", json={}, timeout=10).json()}
            return names if set(EXPECTED_DEPLOYMENTS) <= names else None

        wait_for("every deployment to be served", served, 180)
        children = [int(p) for p in subprocess.run(["ps", "-o", "pid=", "--ppid", str(proc.pid)],
                                                   capture_output=True, text=True).stdout.split()]
        assert children, "the runner runs as a child process"

        def completed_run():  # type: ignore[no-untyped-def]
            runs = httpx.post(f"{api}/flow_runs/filter", json={
                "deployments": {"name": {"any_": ["program"]}}}, timeout=60).json()
            done = [r for r in runs if r["state_type"] == "COMPLETED"]
            failed = [r for r in runs if r["state_type"] in ("FAILED", "CRASHED")]
            if failed:
                log = runner_log.read_text(errors="replace") if runner_log.exists() else ""
                pytest.fail(f"program run {failed[0]['state_name']}: {log[-1500:]}")
            with session() as s:  # a run that came while the build was going skipped its turn (completed too)
                prog = programs.repo.find_program(s, "29239", "Bản tin sáng")
                day = (local_date(datetime.now(UTC)) + timedelta(days=1)).isoformat()
                built = programs.repo.get_edition(s, prog.id, day, "29239", "km") if prog else None
                published = built is not None and built.status == "published"
            return done if published else None

        runs = wait_for("a completed scheduled program run and its edition", completed_run, 240)
        assert runs[0]["auto_scheduled"] is True  # started by the deployment's schedule, not by hand
        assert httpx.get(f"{api}/v2/concurrency_limits/bantin-ml", timeout=10).status_code == 200
    finally:
        proc.send_signal(signal.SIGTERM)  # stops the runner, then (had it started one) the server
        out, _ = proc.communicate(timeout=90)
    assert proc.returncode == 0, out.decode(errors="replace")[-1500:]
    for pid in children:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)  # stopped and reaped before bantin exited
    tomorrow = local_date(datetime.now(UTC)) + timedelta(days=1)
    start, end = day_window(tomorrow)
    with session() as s:
        items = programs_on_air.program_items(s, "29239", ("vi", "km"), start, end)
    assert len(items) == 1 and items[0].kind == "program" and items[0].audio is not None
    assert items[0].starts_at == datetime.combine(tomorrow, datetime.min.time().replace(hour=6),
                                                  programs.VN_TZ).astimezone(UTC)
    with session() as s:
        prog = programs.repo.find_program(s, "29239", "Bản tin sáng")
        assert prog is not None
        edition = programs.repo.get_edition(s, prog.id, tomorrow.isoformat(), "29239", "km")
        assert edition is not None and edition.status == "published"
        assert [i["package_id"] for i in edition.items] == [pkg] and edition.manifest_hash == items[0].manifest_hash
        assert edition.detail["intro"]["spoken"] is False and edition.detail["on_target"] is True


@pytest.mark.slow
def test_prefect_deploy_all_with_the_project_file(prefect_server) -> None:  # type: ignore[no-untyped-def]
    api, base = prefect_server
    env = _prefect_env(base, api)
    env["BANTIN_CHECKOUT"] = str(ROOT)
    setup = subprocess.run([sys.executable, "-m", "deployments.setup"], env=env, cwd=ROOT, capture_output=True,
                           timeout=120)
    assert setup.returncode == 0, setup.stderr.decode(errors="replace")[-1500:]
    deploy = subprocess.run([str(BIN / "prefect"), "--no-prompt", "deploy", "--all", "--prefect-file",
                             "deployments/prefect.yaml"], env=env, cwd=ROOT, capture_output=True, timeout=300)
    out = (deploy.stdout + deploy.stderr).decode(errors="replace")
    assert deploy.returncode == 0, out[-3000:]
    deployments = httpx.post(f"{api}/deployments/filter", json={}, timeout=10).json()
    pooled = {d["name"]: d for d in deployments if d.get("work_pool_name") == "bantin"}
    assert set(EXPECTED_DEPLOYMENTS) <= set(pooled)
    program = pooled["program"]
    assert program["entrypoint"] == "flows/program.py:build_programs"
    assert [(s["schedule"]["cron"], s["schedule"]["timezone"]) for s in program["schedules"]] == \
        [("*/15 * * * *", "Asia/Ho_Chi_Minh")]
    assert pooled["emergency"]["work_queue_name"] == "emergency"
    assert program["global_concurrency_limit"] is None  # a killed build must not hold a 5-minute lease
    assert program["parameters"] == pooled["reports"]["parameters"] == {"skip_if_busy": True}
    limit = httpx.get(f"{api}/v2/concurrency_limits/bantin-ml", timeout=10)
    assert limit.status_code == 200 and limit.json()["limit"] >= 1
    for name in ("bantin-due", "bantin-program", "bantin-reports"):  # one slot each, leased for a minute
        assert httpx.get(f"{api}/v2/concurrency_limits/{name}", timeout=10).json()["limit"] == 1
    queues = httpx.post(f"{api}/work_pools/bantin/queues/filter", json={}, timeout=10).json()
    priorities = {q["name"]: q["priority"] for q in queues}
    assert priorities["emergency"] < priorities["publishing"] < priorities["production"] < priorities["archive"]
