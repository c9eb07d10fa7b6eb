"""Production of a 600-word draft: what orchestration costs on top of the engines.

Rows (all in one run, on the same draft text, a fresh draft each time):
* ``engines``: the sum of the engine calls (summary, speech, loudness, slides) timed inside the in-process
  flow run below: the baseline (slides run beside the speech and loudness, so a run can take less than it);
* ``steps without Prefect, warm``: the flow's steps (``services.production``/``production_media``) called
  directly in this process, in the flow's order and with the slides beside the audio as in the flow: the same
  work, records and audit entries without the orchestrator (flow - steps = what Prefect costs);
* ``flow in process, warm``: ``produce_package`` called in this process against a running local Prefect
  server, models and segmenter loaded (the work a warm worker does);
* ``CLI cold``: ``bantin produce`` as a new process with no Prefect server (Prefect's temporary server);
* ``CLI warm``: ``bantin produce`` as a new process while ``bantin prefect up`` runs (reused server);
* ``CLI warm, nothing to produce``: ``bantin produce`` of a draft already produced, with the server up: the
  command's own cost (start-up, imports, the flow run on the server) without engine work;
* ``CLI with a warm worker``: ``bantin produce`` while the server and bantin's workers run (what ``bantin serve``
  starts): the command hands the run to the warm production worker, models loaded, and waits for it;
* ``--emergency``: approve -> the emergency's MQTT message on the device topic (what the device agent
  plays at once), through the work pool like the web app (``publish`` run on the ``publishing`` queue), with
  nothing queued and with ``--queued`` (50) produce runs waiting, for the warm worker (production runs in one
  warm process) and the process worker alone (``BANTIN_WARM_WORKER=false``). Needs Mosquitto on
  127.0.0.1:1883.

Each row: median, min and max wall seconds over ``--repeats`` and the ratio to the engine sum (goal: warm <=
1.25x, CLI warm <= 10 s; emergency < 10 s, every run), then every run's time. The 1-minute load average is
printed beside each row. The Prefect server (``bantin prefect up``) keeps its database in SQLite, or with
``--prefect-postgres postgresql://USER@HOST:PORT`` in a fresh PostgreSQL database on that server (created,
and dropped at the end), as ``BANTIN_PREFECT_DATABASE_URL`` does.

Usage: .venv/bin/python benchmarks/produce.py [--repeats 3] [--emergency [--queued 50]] [--no-cli] [--no-worker]
       [--prefect-postgres URL] [--port 4299]
"""

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
BIN = Path(sys.executable).parent

SENTENCES = (
    "Ủy ban nhân dân xã Tân Lập thông báo lịch tiêm chủng mở rộng cho trẻ em dưới năm tuổi trong tháng này.",
    "Buổi tiêm diễn ra vào sáng thứ bảy tại trạm y tế xã, bắt đầu từ bảy giờ ba mươi phút.",
    "Các gia đình cần mang theo sổ tiêm chủng và giấy khai sinh của trẻ để cán bộ y tế kiểm tra.",
    "Trẻ đang sốt, ho hoặc mắc bệnh cấp tính sẽ được hẹn tiêm vào đợt sau theo hướng dẫn của bác sĩ.",
    "Trạm y tế đề nghị các thôn trưởng thông báo rộng rãi đến từng hộ gia đình trong địa bàn.",
    "Sau khi tiêm, trẻ cần được theo dõi tại trạm ít nhất ba mươi phút để phát hiện phản ứng bất thường.",
    "Mọi thắc mắc xin liên hệ cán bộ chuyên trách y tế của xã trong giờ hành chính các ngày làm việc.",
    "Ban chỉ đạo xã cũng nhắc bà con giữ vệ sinh môi trường, phát quang bụi rậm và diệt lăng quăng.",
)


def draft_text(words: int = 600) -> str:
    out: list[str] = []
    n = 0
    while sum(len(s.split()) for s in out) < words:
        out.append(SENTENCES[n % len(SENTENCES)].replace("tháng này", f"đợt {n // len(SENTENCES) + 1}"))
        n += 1
    return "Thông báo lịch tiêm chủng mở rộng\n" + " ".join(out)


class EngineClock:
    """Times the engine entry points the production tasks call (module attributes, looked up at call time); a
    call made inside another timed one (``summarize_with`` -> ``summarize``) is counted once."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.calls = 0
        self._undo: list[Callable[[], None]] = []
        self._depth = threading.local()

    def wrap(self, owner: Any, name: str) -> None:
        real = getattr(owner, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            depth = getattr(self._depth, "n", 0)
            self._depth.n = depth + 1
            start = time.perf_counter()
            try:
                return real(*args, **kwargs)
            finally:
                self._depth.n = depth
                if depth == 0:
                    self.seconds += time.perf_counter() - start
                    self.calls += 1

        setattr(owner, name, timed)
        self._undo.append(lambda: setattr(owner, name, real))

    def __enter__(self) -> "EngineClock":
        from engines import audio, slides, summarize, tts

        self.wrap(summarize, "summarize")  # the extractive summary (services.framing calls it directly)
        self.wrap(summarize, "summarize_with")  # the registry's model
        self.wrap(tts.EspeakTTS, "synthesize")
        self.wrap(audio, "normalize_to_mp3")
        self.wrap(slides, "render_slides")
        return self

    def __exit__(self, *exc: object) -> None:
        for undo in reversed(self._undo):
            undo()


def produce_directly(draft_id: int) -> None:
    """The produce flow's steps without Prefect: the same service calls in the same order, the slides beside
    the speech and loudness (``flows.produce``), each language's steps at once as the flow's maps run them."""
    from domain.packages import PackageStatus
    from services import production, production_media

    start = production.start(draft_id)
    if start.status != PackageStatus.PRODUCING:
        return
    pid, langs = start.package_id, list(start.languages)
    for language in langs:
        production.write_texts(pid, language)
    with ThreadPoolExecutor() as pool:
        slides = [pool.submit(production_media.render_board_slides, pid, lang) for lang in langs]
        list(pool.map(lambda lang: production_media.synthesize_speech(pid, lang), langs))
        list(pool.map(lambda lang: production_media.normalize_audio(pid, lang), langs))
        for done in slides:
            done.result()
    production.finalize(pid)


def load() -> float:
    return os.getloadavg()[0]


def run(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    out = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=900)
    took = time.perf_counter() - start
    if out.returncode != 0:
        sys.exit(f"{' '.join(cmd[1:3])} failed: {out.stderr[-1500:]}")
    return took


def submit(env: dict[str, str], text_file: Path) -> int:
    out = subprocess.run([str(BIN / "bantin"), "draft", "submit", str(text_file), "--area", "00070", "--as",
                          "demo-editor"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
    if out.returncode != 0:
        sys.exit(f"draft submit failed: {out.stderr[-1500:]}")
    return int(next(w for w in out.stdout.replace(":", " ").split() if w.isdigit()))


def with_worker(env: dict[str, str], api: str) -> subprocess.Popen[bytes]:
    """Register the deployments and start bantin's workers (warm ones for production and the urgent queues);
    returns once the production queue has been polled."""
    import httpx

    env = dict(env, PREFECT_API_URL=api)
    reg = subprocess.run([sys.executable, "-m", "deployments.serve", "--register-only"], env=env, cwd=ROOT,
                         capture_output=True, text=True, timeout=600)
    if reg.returncode != 0:
        sys.exit(f"registering the deployments failed: {reg.stderr[-1500:]}")
    logs = Path(env["BANTIN_HOME"]) / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    worker = subprocess.Popen([sys.executable, "-m", "deployments.serve", "--worker-only"], env=env, cwd=ROOT,
                              start_new_session=True, stdout=(logs / "bench-worker.log").open("wb"),
                              stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if httpx.get(f"{api}/work_pools/bantin/queues/production", timeout=10).json().get("last_polled"):
            return worker
        time.sleep(1)
    sys.exit("the worker did not poll the production queue within 300 s")


def stop_worker(worker: subprocess.Popen[bytes]) -> None:
    worker.send_signal(signal.SIGTERM)
    try:
        worker.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(worker.pid, signal.SIGKILL)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--emergency", action="store_true", help="also measure emergency approve -> device")
    parser.add_argument("--queued", type=int, default=50, help="produce runs waiting during --emergency")
    parser.add_argument("--no-cli", action="store_true", help="skip the CLI and in-process rows")
    parser.add_argument("--no-worker", action="store_true", help="skip the CLI-with-a-warm-worker row")
    parser.add_argument("--prefect-postgres", default="", metavar="URL",
                        help="keep the Prefect server's database on this PostgreSQL server (a fresh database)")
    parser.add_argument("--port", type=int, default=4299, help="the Prefect server's port (one free for this run)")
    args = parser.parse_args()
    api = f"http://127.0.0.1:{args.port}/api"
    home = Path(tempfile.mkdtemp(prefix="bantin-bench-produce-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "BANTIN_"))}
    env.update(BANTIN_HOME=str(home), PYTHONPATH=str(ROOT), PREFECT_SERVER_ANALYTICS_ENABLED="false",
               DO_NOT_TRACK="1", PREFECT_LOGGING_LEVEL="WARNING")
    text_file = home / "draft.txt"
    text_file.write_text(draft_text(), encoding="utf-8")
    prefect_db = prefect_database(args.prefect_postgres) if args.prefect_postgres else ""
    if prefect_db:
        env["BANTIN_PREFECT_DATABASE_URL"] = prefect_db
    print(f"draft: {len(draft_text().split())} words; home {home}; Prefect database: "
          f"{'PostgreSQL' if prefect_db else 'SQLite'}")
    run([str(BIN / "bantin"), "init", "--demo-users"], env)

    rows: dict[str, list[tuple[float, float]]] = {}

    def add(name: str, seconds: float) -> None:
        rows.setdefault(name, []).append((seconds, load()))

    for _ in range(0 if args.no_cli else args.repeats):  # CLI cold: a temporary Prefect server per command
        add("CLI cold (temporary Prefect server)", run([str(BIN / "bantin"), "produce", str(submit(env, text_file))],
                                                        env))
    run([str(BIN / "bantin"), "prefect", "up", "--port", str(args.port)], env)
    engines: list[float] = []
    try:
        for _ in range(0 if args.no_cli else args.repeats):  # CLI warm: the recorded server is reused
            draft_id = submit(env, text_file)
            add("CLI warm (bantin prefect up)", run([str(BIN / "bantin"), "produce", str(draft_id)], env))
            add("CLI warm, nothing to produce", run([str(BIN / "bantin"), "produce", str(draft_id)], env))
        if not (args.no_cli or args.no_worker):  # CLI with bantin's workers running: the run goes to the warm one
            worker = with_worker(env, api)
            try:
                run([str(BIN / "bantin"), "produce", str(submit(env, text_file))], env)  # warm-up: models load
                for _ in range(args.repeats):
                    draft_id = submit(env, text_file)
                    add("CLI with a warm worker (bantin serve)",
                        run([str(BIN / "bantin"), "produce", str(draft_id)], env))
            finally:
                stop_worker(worker)
        os.environ.update(BANTIN_HOME=str(home), PREFECT_API_URL=api,
                          PREFECT_SERVER_ANALYTICS_ENABLED="false", DO_NOT_TRACK="1")
        from flows.produce import produce_package
        from settings import configure_prefect_env, get_settings

        configure_prefect_env(get_settings())
        produce_package(submit(env, text_file))  # warm-up: imports, segmenter, voices
        for _ in range(args.repeats):  # one of each per round, so both see the same load
            for name, produce in (("flow in process, warm", produce_package),
                                  ("steps without Prefect, warm", produce_directly)):
                draft_id = submit(env, text_file)
                with EngineClock() as clock:
                    start = time.perf_counter()
                    produce(draft_id)
                    add(name, time.perf_counter() - start)
                engines.append(clock.seconds)
        if args.emergency:
            from benchmarks.emergency import measure

            for name, seconds, avg in measure(env, api, text_file, args.repeats,
                                              args.queued):
                print(f"{name}: {seconds:.2f} s (load {avg:.1f})", flush=True)
                rows.setdefault(name, []).append((seconds, avg))
    finally:
        run([str(BIN / "bantin"), "prefect", "down"], env)
        if prefect_db:
            drop_database(prefect_db)
    base = statistics.median(engines) if engines else float("nan")
    print(f"\nengines (sum of calls, warm): {base:.2f} s median")
    print(f"{'path':<64} {'median s':>9} {'min s':>7} {'max s':>7} {'x engines':>10} {'load 1 min':>11}")
    for name, values in rows.items():
        times = [v for v, _ in values]
        med = statistics.median(times)
        ratio = f"{med / base:>9.2f}x" if not name.startswith("emergency") else f"{'':>10}"
        avg = statistics.median(a for _, a in values)
        print(f"{name:<64} {med:>9.2f} {min(times):>7.2f} {max(times):>7.2f} {ratio} {avg:>11.1f}")
    print("\nevery run (s, load):")
    for name, values in rows.items():
        print(f"  {name}: " + ", ".join(f"{v:.2f} ({a:.1f})" for v, a in values))
    flow, steps = rows.get("flow in process, warm"), rows.get("steps without Prefect, warm")
    if flow and steps:
        cost = statistics.median(f - s for (f, _), (s, _) in zip(flow, steps, strict=True))
        print(f"Prefect's cost per warm run (flow - steps, median of the rounds): {cost:.2f} s")


def prefect_database(server: str) -> str:
    """A fresh database on the PostgreSQL ``server`` for the Prefect server; its URL."""
    import uuid

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    url = make_url(server).set(drivername="postgresql+psycopg", database=f"bantin_bench_{uuid.uuid4().hex[:8]}")
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{url.database}"'))
    admin.dispose()
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    parsed = make_url(url).set(drivername="postgresql+psycopg")
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
    admin.dispose()


if __name__ == "__main__":
    main()
