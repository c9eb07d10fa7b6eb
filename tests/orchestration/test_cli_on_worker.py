"""``bantin produce`` with the installation's Prefect server and a worker running hands the run to the worker
(its models loaded; the command imports no engine) and waits for it; with nobody polling the queue, or without
the deployment, it runs the flow itself. A real Prefect server; the slow test also runs a real worker and the
real command."""

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from domain.drafts import DraftContent
from domain.languages import parse_languages
from domain.packages import PackageStatus
from domain.priority import Priority
from services.runtime import session
from storage.repositories import drafts, packages
from tests.orchestration.stack import ROOT, clean_env, prefect_server, register, runs, wait_for, worker

pytestmark = [pytest.mark.flow, pytest.mark.integration, pytest.mark.slow]


def test_a_queue_counts_as_served_only_while_a_worker_polls_it_and_a_failed_run_is_reported(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings
    from prefect.states import Failed

    from deployments.setup import ensure_work_pool
    from tasks.runs import RunFailed, queue_served, start_if_served, wait_for_run

    with prefect_server(tmp_path) as api, temporary_settings({PREFECT_API_URL: api}):
        monkeypatch.setenv("PREFECT_API_URL", api)
        assert not queue_served("production")  # no pool yet
        ensure_work_pool()
        assert not queue_served("production")  # never polled
        with get_client(sync_client=True) as client:
            client.get_scheduled_flow_runs_for_work_pool("bantin", work_queue_names=["production"])  # a poll
            polled = wait_for("the poll to be recorded", lambda: client.read_work_queue_by_name(
                "production", work_pool_name="bantin").last_polled, 60)  # the server records it a moment later
            assert queue_served("production", now=polled + timedelta(seconds=29))
            assert not queue_served("production", now=polled + timedelta(seconds=31))  # its worker is gone
            assert not queue_served("emergency", now=polled)  # another queue: nobody polled it
            # Served, but bantin's deployments are not registered on this server: run it here.
            assert start_if_served("produce", {"draft_id": 1}) is None

            flow_id = client.create_flow_from_name("produce-package")
            client.create_deployment(flow_id=flow_id, name="produce", work_pool_name="bantin",
                                     work_queue_name="production", entrypoint="flows/produce.py:produce_package")
            run_id = start_if_served("produce", {"draft_id": 7}, username="cli")
            assert run_id is not None
            run = client.read_flow_run(run_id)
            assert (run.parameters, run.work_queue_name) == ({"draft_id": 7}, "production")
            client.set_flow_run_state(run_id, Failed(message="Flow run encountered an exception: boom"), force=True)
            with pytest.raises(RunFailed, match="failed: Flow run encountered an exception: boom"):
                wait_for_run(run_id)


def test_bantin_produce_hands_the_run_to_the_running_worker(tmp_path: Path, home: Path) -> None:
    with session() as s:
        rev = drafts.create_draft(s, content=DraftContent(
            title="Lịch tiêm chủng", body="Trạm y tế xã tiêm vắc xin sởi cho trẻ em từ 9 đến 24 tháng tuổi vào "
            "sáng thứ Bảy. Phụ huynh mang theo sổ tiêm chủng của trẻ.", area_codes=("29377",),
            languages=parse_languages("vi"), priority=Priority.THUONG), author="demo-editor")
    with prefect_server(tmp_path) as api:
        register(api, tmp_path)
        with worker(api, home, tmp_path / "worker.log", limit=2):
            env = clean_env(PREFECT_API_URL=api, PREFECT_HOME=str(home / "prefect-cli"), BANTIN_HOME=str(home),
                            PYTHONPATH=str(ROOT))
            # The worker's first poll: within a few seconds of its start.
            def polled() -> bool:
                import httpx

                queue = httpx.get(f"{api}/work_pools/bantin/queues/production", timeout=10).json()
                return bool(queue.get("last_polled"))

            wait_for("the warm worker to poll the production queue", polled, 300)
            out = subprocess.run([str(Path(sys.executable).parent / "bantin"), "produce", str(rev.draft_id)],
                                 env=env, cwd=ROOT, capture_output=True, text=True, timeout=600)
            assert out.returncode == 0, out.stderr[-2000:]
            assert "handed to a worker" in out.stderr
            (run,) = runs(api, flow_runs={"tags": {"all_": ["user:cli"]}})
            assert (run["state_type"], run["parameters"]) == ("COMPLETED", {"draft_id": rev.draft_id})
            # Run by the warm production worker, which yields the CPU to the emergency and publishing one.
            assert os.getpriority(os.PRIO_PROCESS, int(run["infrastructure_pid"])) == 10
    with session() as s:
        (pkg,) = packages.packages_of_draft(s, rev.draft_id)
        assert pkg.status == PackageStatus.IN_REVIEW
    first, *rest = out.stdout.strip().splitlines()
    assert first == f"package {pkg.id} produced; review it with: bantin package show {pkg.id}"
    # Two sentences cannot fill a 60 s slot: read whole, and said so (never padded).
    assert len(rest) == 1 and rest[0].startswith("[vi] WARNING: The bulletin lasts only ")
    assert "short of its 60 s slot: the whole draft is" in rest[0]
