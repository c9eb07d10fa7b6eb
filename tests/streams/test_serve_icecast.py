"""``bantin serve`` runs the installation's Icecast beside the web app, with the app as its listener check,
and a stop of the service's process group stops Icecast too (no orphan holding the port)."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from tests.agent.conftest import port_open, wait_for
from tests.streams.conftest import free_port


def test_bantin_serve_runs_icecast_and_stops_it(icecast_binary: str, stream_home: Path, tmp_path: Path) -> None:
    from services import streaming

    web, ice = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BANTIN_")}
    env.update({"BANTIN_HOME": str(stream_home), "BANTIN_ICECAST_PORT": str(ice),
                "PREFECT_API_URL": "http://127.0.0.1:9/api"})  # --no-flows: the web app alone
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([str(Path(sys.executable).parent / "bantin"), "serve", "--no-flows", "--port",
                                 str(web)], env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for(lambda: port_open("127.0.0.1", web) and port_open("127.0.0.1", ice), 60, "bantin serve and Icecast")
        admin = streaming.stream_secrets().admin_password
        assert httpx.get(f"http://127.0.0.1:{ice}/admin/stats", auth=("admin", admin), timeout=5).status_code == 200
        # every mount is behind the app's listener check: no token, no stream
        assert httpx.get(f"http://127.0.0.1:{ice}/area-29377.mp3", timeout=5).status_code in (401, 404)
        config = (stream_home / "icecast" / "icecast.xml").read_text(encoding="utf-8")
        assert f'value="http://127.0.0.1:{web}/icecast/v1/listener"' in config
        assert f"Icecast (relays) on http://127.0.0.1:{ice}/" in log.read_text(encoding="utf-8")
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    wait_for(lambda: not port_open("127.0.0.1", ice), 10, "Icecast to stop with bantin serve")
