"""``BANTIN_PREFECT_DATABASE_URL``: ``bantin prefect up`` runs the installation's Prefect server on
PostgreSQL (creating the database), a bantin worker takes a run from the work pool, and the run's states are
rows of that PostgreSQL database, not of a SQLite file under the home."""

import subprocess
import uuid
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.orchestration.stack import BIN, ROOT, clean_env, free_port, pause, register, wait_for, worker

pytestmark = [pytest.mark.flow, pytest.mark.integration, pytest.mark.slow]


def test_the_prefect_server_keeps_its_runs_in_postgresql_and_a_worker_runs_one(
        tmp_path: Path, home: Path, postgres_admin_url: str) -> None:
    name = f"bantin_prefect_{uuid.uuid4().hex[:10]}"
    url = make_url(postgres_admin_url).set(drivername="postgresql", database=name)
    admin = create_engine(postgres_admin_url, isolation_level="AUTOCOMMIT")
    env = clean_env(BANTIN_HOME=str(home), PYTHONPATH=str(ROOT),
                    BANTIN_PREFECT_DATABASE_URL=url.render_as_string(hide_password=False))
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    try:
        up = subprocess.run([str(BIN / "bantin"), "prefect", "up", "--port", str(port)], env=env, cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
        assert up.returncode == 0, up.stdout[-1000:] + up.stderr[-2000:]
        assert f"Prefect server running: {api}" in up.stdout and "database: PostgreSQL" in up.stdout
        register(api, tmp_path)
        for d in httpx.post(f"{api}/deployments/filter", json={}, timeout=10).json():
            pause(api, d["id"])  # only the run started below, not the schedules'
        start = subprocess.run(
            [str(BIN / "python"), "-c", "from tasks.runs import start_deployment; "
             "print(start_deployment('due', {}, username='demo-editor'))"],
            env=dict(env, PREFECT_API_URL=api), cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert start.returncode == 0, start.stderr[-2000:]
        run_id = start.stdout.strip().splitlines()[-1]

        with worker(api, home, tmp_path / "worker.log"):
            def finished() -> str | None:
                state = httpx.get(f"{api}/flow_runs/{run_id}", timeout=10).json()["state_type"]
                return state if state in ("COMPLETED", "FAILED", "CRASHED") else None

            assert wait_for("the due run to finish on a worker", finished, 300) == "COMPLETED", \
                (tmp_path / "worker.log").read_text(errors="replace")[-3000:]

        pg = create_engine(url.set(drivername="postgresql+psycopg"))
        try:
            with pg.connect() as conn:
                row = conn.execute(text("SELECT f.name, r.state_type, r.work_queue_name FROM flow_run r "
                                        "JOIN flow f ON f.id = r.flow_id WHERE r.id = :id"), {"id": run_id}).one()
        finally:
            pg.dispose()
        assert tuple(row) == ("publish-due", "COMPLETED", "publishing")
        assert not list((home / "prefect").glob("*.db"))  # no SQLite database beside it
    finally:
        subprocess.run([str(BIN / "bantin"), "prefect", "down"], env=env, cwd=ROOT, capture_output=True, timeout=120)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
