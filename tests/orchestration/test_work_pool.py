"""The web app's real flow starter against a real Prefect server and a real bantin worker: runs wait on the
server's prioritised queues (a restart of the web app loses none), an emergency run is taken before the
others, one editor's queued runs are capped with a Vietnamese 429, and stopping the worker leaves no process.
"""

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from services import runtime
from services.runtime import session
from settings import get_settings
from storage.repositories import packages
from tests.orchestration.stack import ROOT, clean_env, pause, prefect_server, runs, wait_for

pytestmark = [pytest.mark.flow, pytest.mark.integration, pytest.mark.slow]


def _children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def test_web_app_runs_go_through_prioritised_queues_and_survive_a_restart(
        tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from fastapi.testclient import TestClient
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from services import credentials
    from web.app import create_app

    with prefect_server(tmp_path) as api:
        env = clean_env(PREFECT_API_URL=api, PREFECT_HOME=str(tmp_path / "client"), BANTIN_HOME=str(home),
                        PYTHONPATH=str(ROOT))
        reg = subprocess.run([sys.executable, "-m", "deployments.serve", "--register-only"], env=env, cwd=ROOT,
                             capture_output=True, timeout=300)
        assert reg.returncode == 0, reg.stderr.decode(errors="replace")[-2000:]
        queues = httpx.post(f"{api}/work_pools/bantin/queues/filter", json={}, timeout=10).json()
        order = [q["name"] for q in sorted(queues, key=lambda q: q["priority"])]
        assert order[:4] == ["emergency", "publishing", "production", "archive"]
        registered = httpx.post(f"{api}/deployments/filter", json={}, timeout=10).json()
        deployments = {d["name"]: d["work_queue_name"] for d in registered}
        assert (deployments["emergency"], deployments["publish"], deployments["produce"]) == \
            ("emergency", "publishing", "production")
        for d in registered:  # only the runs this test starts, not the schedules' (due, program, reports)
            pause(api, d["id"])

        monkeypatch.setenv("PREFECT_API_URL", api)
        monkeypatch.setenv("BANTIN_MAX_QUEUED_RUNS_PER_USER", "1")
        runtime.reset()
        get_settings.cache_clear()
        with temporary_settings({PREFECT_API_URL: api}):
            app = create_app(get_settings())
            with TestClient(app, base_url="http://bantin.test") as client:
                with runtime.session() as s:
                    token = credentials.create_api_token(s, "demo-editor", days=1, actor="demo-editor")[1]
                auth = {"Authorization": "Bearer " + token}
                made = client.post("/api/v1/drafts", headers=auth, json={
                    "title": "Lịch tiêm chủng", "body": "Trạm y tế xã tiêm vắc xin sởi cho trẻ em vào sáng thứ Bảy.",
                    "areas": ["29377"], "languages": ["vi"]})
                assert made.status_code == 201, made.text
                draft_id = made.json()["id"]
                assert client.post(f"/api/v1/drafts/{draft_id}/produce", headers=auth).status_code == 202
                refused = client.post(f"/api/v1/drafts/{draft_id}/produce", headers=auth)
                assert refused.status_code == 429
                assert refused.json() == {"error": "Bạn đang có quá nhiều việc chờ xử lý. Vui lòng đợi các việc "
                                                   "trước hoàn tất rồi thử lại."}
                # Emergencies and other publishing work are never refused and go to their own queues.
                from tasks.runs import start_deployment

                sweeps = [start_deployment("due", {}, username="demo-editor")]
                urgent = start_deployment("emergency", {"package_id": 999999}, username="demo-editor")
        # The web app is gone (a restart): the produce run waits on the server, not in its memory.
        (queued,) = runs(api, flow_runs={"tags": {"all_": ["user:demo-editor", "queue:production"]}})
        assert (queued["state_type"], queued["work_queue_name"]) == ("SCHEDULED", "production")

        worker = subprocess.Popen([sys.executable, "-m", "deployments.serve", "--worker-only", "--limit", "1"],
                                  env=env, cwd=ROOT, stdout=(tmp_path / "worker.log").open("wb"),
                                  stderr=subprocess.STDOUT, start_new_session=True)
        try:
            def finished() -> list[dict] | None:  # type: ignore[type-arg]
                found = runs(api, flow_runs={"tags": {"all_": ["user:demo-editor"]}})
                bad = [r for r in found if r["state_type"] in ("FAILED", "CRASHED") and r["id"] != urgent]
                if bad:
                    raise AssertionError(f"{bad[0]['name']} {bad[0]['state_name']}: "
                                         f"{(tmp_path / 'worker.log').read_text(errors='replace')[-3000:]}")
                done = [r for r in found if r["state_type"] in ("COMPLETED", "FAILED", "CRASHED")]
                return found if len(done) == 3 else None

            found = wait_for("the three runs to finish", finished, 600)
            with session() as s:
                (pkg,) = packages.packages_of_draft(s, draft_id)
                assert pkg.status == "in_review"
            started = {r["id"]: r["start_time"] for r in found}
            assert started[urgent] < min(started[i] for i in sweeps)  # the emergency before publishing work
            children = _children(worker.pid)
            assert len(children) == 3  # the prefect worker (archive), the warm urgent and production workers
            # Production ran in a warm worker's own process, beside the one the emergency runs in.
            assert {r["infrastructure_pid"] for r in found if r["id"] == queued["id"]} < {str(c) for c in children}
        finally:
            worker.send_signal(signal.SIGTERM)
            rc = worker.wait(timeout=90)
        assert rc == 0
        for pid in children:
            with pytest.raises(ProcessLookupError):
                os.kill(pid, 0)
