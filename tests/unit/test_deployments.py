"""deployments/prefect.yaml and deployments/serve.py must point at real flows and agree with each other
(a typo there only shows at deploy time)."""

from pathlib import Path

import yaml
from prefect import Flow
from prefect.flows import load_flow_from_entrypoint

from deployments.serve import DEPLOYMENTS, build_deployments
from settings import Settings

ROOT = Path(__file__).parents[2]
EXPECTED = {
    "produce": "produce-package", "transcribe": "transcribe-draft", "publish": "publish-package",
    "retract": "retract-package", "due": "publish-due", "program": "build-programs",
    "emergency": "broadcast-emergency", "archive-ingest": "archive-ingest", "archive-reindex": "archive-reindex",
    "reports": "maintain-reports", "revise": "revise-variant",
    "transcribe-feedback-voice": "transcribe-feedback-voice", "erase-feedback-contacts": "erase-feedback-contacts",
    "relay-due": "relay-due", "relay": "relay-airing",
}
QUEUES = {
    "emergency": "emergency", "retract": "emergency", "publish": "publishing", "due": "publishing",
    "produce": "production", "revise": "production", "transcribe": "production",
    "program": "production", "archive-ingest": "archive", "archive-reindex": "archive", "reports": "archive",
    "transcribe-feedback-voice": "production", "erase-feedback-contacts": "archive",
    "relay-due": "publishing", "relay": "relay",
}


def _spec() -> dict:  # type: ignore[type-arg]
    return yaml.safe_load((ROOT / "deployments" / "prefect.yaml").read_text(encoding="utf-8"))


def test_every_deployment_entrypoint_loads_its_flow(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(ROOT)
    spec = _spec()
    entrypoints = {d["name"]: d["entrypoint"] for d in spec["deployments"]}
    assert set(entrypoints) == set(EXPECTED)
    for name, entrypoint in entrypoints.items():
        flow = load_flow_from_entrypoint(entrypoint)
        assert isinstance(flow, Flow)
        assert flow.name == EXPECTED[name], entrypoint
    assert entrypoints["emergency"] == "flows/emergency.py:broadcast_emergency"
    assert entrypoints["archive-ingest"] == "flows/archive.py:ingest_recordings"
    assert entrypoints["archive-reindex"] == "flows/archive.py:reindex_archive"


def test_schedules_and_pools() -> None:
    deployments = {d["name"]: d for d in _spec()["deployments"]}
    assert {d["work_pool"]["name"] for d in deployments.values()} == {"bantin"}
    assert {n: d["work_pool"]["work_queue_name"] for n, d in deployments.items()} == QUEUES
    assert deployments["program"]["schedules"] == [{"cron": "*/15 * * * *", "timezone": "Asia/Ho_Chi_Minh"}]
    assert deployments["due"]["schedules"][0]["cron"] == "* * * * *"
    scheduled = {n for n, d in deployments.items() if d.get("schedules")}
    # due also sweeps for crashed work: one run a minute
    assert scheduled == {"due", "program", "reports", "erase-feedback-contacts", "relay-due"}
    assert deployments["erase-feedback-contacts"]["schedules"] == [{"cron": "30 2 * * *",
                                                                    "timezone": "Asia/Ho_Chi_Minh"}]
    assert deployments["transcribe-feedback-voice"]["tags"] == ["bantin", "ml"]
    assert deployments["relay-due"]["schedules"][0]["cron"] == "* * * * *"
    assert deployments["reports"]["schedules"] == [{"cron": "*/10 * * * *", "timezone": "Asia/Ho_Chi_Minh"}]
    for name in ("program", "reports", "due"):  # runs never overlap, through 1-minute slots, not 5-minute leases
        assert "concurrency_limit" not in deployments[name]
    for name in ("relay-due", "erase-feedback-contacts"):  # overlapping runs do the work once (no limit needed)
        assert "concurrency_limit" not in deployments[name]
    assert deployments["program"]["parameters"] == deployments["reports"]["parameters"] == {"skip_if_busy": True}


def test_serve_offers_the_same_deployments(tmp_path: Path) -> None:
    assert set(DEPLOYMENTS) == set(EXPECTED)
    settings = Settings(home=tmp_path, program_build_interval_s=900)
    served = {d.name: d for d in build_deployments(settings)}
    assert {name: d.flow_name for name, d in served.items()} == EXPECTED
    assert {name: (d.work_pool_name, d.work_queue_name) for name, d in served.items()} == \
        {name: ("bantin", queue) for name, queue in QUEUES.items()}
    (schedule,) = served["program"].schedules
    assert schedule.schedule.interval.total_seconds() == 900
    assert served["due"].schedules[0].schedule.interval.total_seconds() == 60  # BANTIN_SWEEP_INTERVAL_S
    assert served["due"].concurrency_limit is None
    for name in ("program", "reports"):
        assert served[name].concurrency_limit is None
        assert served[name].parameters == {"skip_if_busy": True}
    assert build_deployments(settings, ["program"])[0].name == "program"
    (erase,) = served["erase-feedback-contacts"].schedules
    assert (erase.schedule.cron, erase.schedule.timezone) == ("30 2 * * *", "Asia/Ho_Chi_Minh")
    for name in ("relay-due", "erase-feedback-contacts"):  # tests/integration/test_overlapping_runs.py
        assert served[name].concurrency_limit is None and served[name].concurrency_options is None
    assert "ml" in served["transcribe-feedback-voice"].tags and not served["transcribe-feedback-voice"].schedules


def test_relay_airings_have_a_worker_of_their_own() -> None:
    from deployments.serve import worker_command

    main = worker_command(4)
    assert [main[i + 1] for i, a in enumerate(main) if a == "--work-queue"] == \
        ["emergency", "publishing", "production", "archive"]
    relay = worker_command(8, ("relay",))
    assert relay[-4:] == ["--work-queue", "relay", "--limit", "8"]


def test_prefect_telemetry_is_off_on_both_sides(monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """No network at run time but our own services: Prefect 3.8+ also sends client-side events unless
    DO_NOT_TRACK is set (the server's analytics are a separate switch)."""
    import os

    from prefect._internal.analytics import is_telemetry_enabled
    from prefect._internal.analytics.ci_detection import CI_ENV_VARS

    from settings import configure_prefect_env

    monkeypatch.setattr(os, "environ", dict(os.environ))  # configure_prefect_env's settings end with the test
    for var in ("DO_NOT_TRACK", "PREFECT_SERVER_ANALYTICS_ENABLED", "PREFECT_HOME", *CI_ENV_VARS):
        monkeypatch.delenv(var, raising=False)  # Prefect also goes quiet under CI; a user's machine is not CI
    assert is_telemetry_enabled()  # what a fresh shell on an operator's machine would do
    configure_prefect_env(Settings(home=tmp_path))
    assert not is_telemetry_enabled() and os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] == "false"


def test_importing_a_flow_sets_prefects_environment_before_prefect_reads_it(tmp_path: Path) -> None:
    """No call site has to remember it: a fresh process that only imports a flow module (as a worker or a
    script does) runs Prefect with its home inside the installation's and telemetry off."""
    import subprocess
    import sys

    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path / "user"), "BANTIN_HOME": str(tmp_path / "inst"),
           "PYTHONPATH": str(Path(__file__).parents[2])}  # no PREFECT_* nor DO_NOT_TRACK: an operator's shell
    (tmp_path / "inst").mkdir()
    code = ("import flows.archive\n"
            "from prefect.settings import get_current_settings\n"
            "s = get_current_settings()\n"
            "print(s.home, s.server.analytics_enabled, s.flows.heartbeat_frequency)")
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=tmp_path, capture_output=True, text=True,
                         timeout=60, check=True).stdout.split()
    assert out == [str(tmp_path / "inst" / "prefect"), "False", "30"]


def test_warm_workers_serve_production_and_the_urgent_queues_and_a_process_worker_the_archive() -> None:
    from deployments.serve import worker_commands

    cold, urgent, production = worker_commands(3, warm=True)
    assert [cold[i + 1] for i, arg in enumerate(cold) if arg == "--work-queue"] == ["archive"]
    assert cold[cold.index("--limit") + 1] == "3"
    assert urgent[1:] == ["-m", "deployments.warm", "--queue", "emergency", "--queue", "publishing", "--limit", "3"]
    assert production[1:] == ["-m", "deployments.warm", "--queue", "production", "--limit", "3"]
    (every,) = worker_commands(3, warm=False)  # one process worker polls every queue but relay
    assert [every[i + 1] for i, arg in enumerate(every) if arg == "--work-queue"] == \
        ["emergency", "publishing", "production", "archive"] and every[every.index("--pool") + 1] == "bantin"
    *_, relay = worker_commands(3, warm=True, relay_limit=8)  # relay airings: a process worker of their own
    assert relay[-4:] == ["--work-queue", "relay", "--limit", "8"]


def test_production_and_archive_workers_yield_the_cpu_to_urgent_ones() -> None:
    from deployments.serve import niceness, worker_commands

    cold, urgent, production, relay = worker_commands(3, warm=True, relay_limit=8)
    assert [niceness(c) for c in (cold, urgent, production, relay)] == [10, 0, 10, 0]  # relays stream: never nice
    (every,) = worker_commands(3, warm=False)  # one worker with the emergency queue: runs at full priority
    assert niceness(every) == 0
