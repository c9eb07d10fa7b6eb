"""Device polls per second (304 and full-schedule paths) and publish fan-out to many HTTP endpoints.

    .venv/bin/python benchmarks/devices.py [--devices 200] [--seconds 5] [--endpoints 1000] [--http]

Polls are measured two ways, each against a baseline in the same process so the ratio, not the machine,
is the result:

* in process: requests through the ASGI app (``httpx.ASGITransport``), no sockets: the app's own cost. The
  baseline is ``GET /device/v1/keys`` (unsigned, no database): what FastAPI costs per request here. Three
  cache regimes: answered from memory (a device polling again within ``BANTIN_DEVICE_CACHE_S``), checked
  against the database (the usual case for devices polling every minute: key lookup and a package
  generation check, the area's schedule reused) and rebuilt every poll (caching off, the worst case).
* over HTTP (``--http``): ``bantin serve``-style uvicorn in a subprocess (one worker per core), load from
  this process's threads; client and server share the machine's cores, so this is a lower bound.

The fan-out sends one package to N loopback endpoints (10% answering 503 until they are given up) and
compares with the same fan-out where every endpoint accepts.
"""

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _setup_home(devices: int) -> tuple[Path, list[Any]]:
    home = Path(tempfile.mkdtemp(prefix="bantin-bench-"))
    os.environ["BANTIN_HOME"] = str(home)
    os.environ["BANTIN_PUBLIC_BASE_URL"] = "http://bench.test"
    from services import runtime
    from services.runtime import session
    from settings import get_settings
    from storage.migrate import upgrade
    from storage.repositories import areas, users

    runtime.reset()
    upgrade(get_settings().database_url)
    from domain.approvals import Role

    with session() as s:
        areas.upsert_areas(s, areas.read_area_csv(seed=areas.LEGACY_SEED))
        users.add_user(s, username="admin", full_name="Admin", roles=[Role.ADMIN], password=None)
    from tests.devices.factory import published_package

    for n in range(5):  # a realistic commune: a handful of live bulletins, two languages each
        published_package(title=f"Bản tin {n}", languages="vi,km", slides=2, tag=str(n))
    return home, []


def _register(http: Any, count: int, kinds: tuple[str, ...] = ("speaker", "board")) -> list[Any]:
    from services import devices as device_service
    from services.runtime import session
    from tests.devices.factory import DeviceClient

    out = []
    for n in range(count):
        dev = DeviceClient.new(http)
        resp = dev.register("29377", kinds[n % len(kinds)])
        assert resp.status_code == 202, resp.text
        out.append(dev)
    with session() as s:
        for dev in out:
            device_service.authorise(s, dev.device_id, username="admin")
    return out


def _rate(fn: Any, seconds: float) -> float:
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        fn(n)
        n += 1
    return n / (time.perf_counter() - start)


def bench_in_process(devices: int, seconds: float) -> list[tuple[str, float]]:
    import httpx

    from web.app import create_app

    app = create_app()
    transport = httpx.ASGITransport(app=app)

    class SyncOverAsync:
        """DeviceClient wants a sync client; drive the ASGI app on one event loop."""

        def __init__(self) -> None:
            self.loop = asyncio.new_event_loop()
            self.client = httpx.AsyncClient(transport=transport, base_url="http://bench.test")

        def request(self, method: str, path: str, **kw: Any) -> httpx.Response:
            return self.loop.run_until_complete(self.client.request(method, path, **kw))

        def post(self, path: str, **kw: Any) -> httpx.Response:
            return self.request("POST", path, **kw)

        def get(self, path: str, **kw: Any) -> httpx.Response:
            return self.request("GET", path, **kw)

    http = SyncOverAsync()
    devs = _register(http, devices)
    etags = {}
    for d in devs:
        r = d.request("GET", "/device/v1/schedule")
        assert r.status_code == 200, r.text
        etags[d.device_id] = r.headers["ETag"]

    def keys(n: int) -> None:
        assert http.get("/device/v1/keys").status_code == 200

    def poll_304(n: int) -> None:
        d = devs[n % len(devs)]
        r = d.request("GET", "/device/v1/schedule", headers={"If-None-Match": etags[d.device_id]})
        assert r.status_code == 304, r.status_code

    def poll_full(n: int) -> None:
        d = devs[n % len(devs)]
        assert d.request("GET", "/device/v1/schedule").status_code == 200

    from domain.signatures import generate_key, sign_bytes
    from settings import get_settings

    key = generate_key()
    rows = [("client request signing alone (Ed25519)",
             _rate(lambda n: sign_bytes(key, b"GET\n/device/v1/schedule\n1\n" + bytes(64)), seconds / 2)),
            ("baseline: GET /keys (no auth, no DB)", _rate(keys, seconds))]
    for ttl, label in (("60", "answered from memory"), ("0.001", "checked against the database"),
                       ("0", "rebuilt every poll")):
        os.environ["BANTIN_DEVICE_CACHE_S"] = ttl
        get_settings.cache_clear()
        for d in devs:  # warm up (and, with a cache, fill it)
            d.request("GET", "/device/v1/schedule", headers={"If-None-Match": etags[d.device_id]})
        rows.append((f"poll, 304 Not Modified ({label})", _rate(poll_304, seconds)))
        rows.append((f"poll, full signed schedule ({label})", _rate(poll_full, seconds)))
    os.environ.pop("BANTIN_DEVICE_CACHE_S")
    get_settings.cache_clear()
    return rows


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def bench_http(devices: int, seconds: float, workers: int, threads: int, ttl: str) -> list[tuple[str, float]]:
    """Real sockets: uvicorn with ``workers`` processes; the load comes from ``threads`` client threads."""
    import httpx

    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "BANTIN_DEVICE_CACHE_S": ttl}
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "web.app:create_app", "--factory", "--host", "127.0.0.1", "--port",
         str(port), "--workers", str(workers), "--log-level", "warning", "--no-access-log"],
        cwd=ROOT, env=env)
    try:
        base_url = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                httpx.get(f"{base_url}/device/v1/keys", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        http = httpx.Client(base_url=base_url, timeout=10)
        devs = _register(http, devices)
        etags = {d.device_id: d.request("GET", "/device/v1/schedule").headers["ETag"] for d in devs}

        def run(kind: str) -> float:
            stop = time.perf_counter() + seconds
            counts = [0] * threads

            def worker(i: int) -> None:
                client = httpx.Client(base_url=base_url, timeout=10)
                mine = devs[i::threads]
                from tests.devices.factory import DeviceClient

                local = [DeviceClient(client, d.key, d.hardware_id, d.device_id) for d in mine]
                n = 0
                while time.perf_counter() < stop:
                    d = local[n % len(local)]
                    if kind == "keys":
                        assert client.get("/device/v1/keys").status_code == 200
                    elif kind == "304":
                        assert d.request("GET", "/device/v1/schedule",
                                         headers={"If-None-Match": etags[d.device_id]}).status_code == 304
                    else:
                        assert d.request("GET", "/device/v1/schedule").status_code == 200
                    n += 1
                counts[i] = n

            ts = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
            start = time.perf_counter()
            for t in ts:
                t.start()
            for t in ts:
                t.join()
            return sum(counts) / (time.perf_counter() - start)

        return [(f"HTTP baseline: GET /keys ({workers} workers, {threads} client threads)", run("keys")),
                (f"HTTP poll, 304 Not Modified (cache {ttl} s)", run("304")),
                (f"HTTP poll, full signed schedule (cache {ttl} s)", run("full"))]
    finally:
        server.terminate()
        server.wait(timeout=20)


def bench_fanout(endpoints: int) -> list[tuple[str, float, str]]:
    from domain.deliveries import DestinationKind
    from domain.packages import PackageStatus
    from services.runtime import session
    from storage.repositories import destinations, outbox
    from tasks.outbox import fan_out
    from tests.devices.factory import published_package
    from tests.flows.receivers import fleet

    os.environ["BANTIN_DELIVERY_MAX_ATTEMPTS"] = "3"
    os.environ["BANTIN_DELIVERY_BACKOFF_SECONDS"] = "0.2"
    os.environ["BANTIN_DELIVERY_CONCURRENCY"] = "32"
    from services import runtime

    runtime.reset()
    rows = []
    for label, failing in (("all accept", 0), ("10% answer 503 until dead", endpoints // 10)):
        package_id, manifest = published_package(status=PackageStatus.APPROVED, languages="vi", tag=label)
        scripts = [[("status", 503)]] * failing + [[("status", 201)]] * (endpoints - failing)
        with fleet(scripts) as f:
            with session() as s:
                ids = []
                for n in range(endpoints):
                    dest = destinations.add_destination(s, name=f"bench-{label[:3]}-{n}", kind=DestinationKind.HTTP,
                                                      url=f.url(n))
                    ids.append(outbox.ensure(s, package_id=package_id, manifest_hash=manifest,
                                                          destination_id=dest.id).id)
                for d in destinations.list_destinations(s):  # only this round's endpoints
                    if d.id not in {x.destination_id for x, _ in outbox.of_package(s, package_id)}:
                        d.enabled = False
            start = time.perf_counter()
            counts = fan_out(ids)
            elapsed = time.perf_counter() - start
            posts = sum(len(k) for k in f.keys)
            dup = sum(1 for kept in f.kept if len(kept) > 1)
        rows.append((label, elapsed, f"{json.dumps(counts)}; {posts} POSTs; {dup} duplicated"))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--devices", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--endpoints", type=int, default=1000)
    parser.add_argument("--http", action="store_true", help="also measure over real sockets with uvicorn")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    _setup_home(args.devices)
    print(f"cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.1f}, devices: {args.devices}")
    rows = bench_in_process(args.devices, args.seconds)
    base = rows[1][1]
    print("\n| in process (ASGI, no sockets) | requests/s | vs baseline |\n|---|---:|---:|")
    for label, rate in rows:
        print(f"| {label} | {rate:,.0f} | {rate / base:.2f} |")
    if args.http:
        hrows = bench_http(args.devices, args.seconds, args.workers, args.threads, "60")
        hbase = hrows[0][1]
        print("\n| over HTTP (uvicorn) | requests/s | vs baseline |\n|---|---:|---:|")
        for label, rate in hrows:
            print(f"| {label} | {rate:,.0f} | {rate / hbase:.2f} |")
    if args.endpoints:
        frows = bench_fanout(args.endpoints)
        fbase = frows[0][1]
        print(f"\n| fan-out to {args.endpoints} endpoints | seconds | vs all-accept | outcome |\n|---|---:|---:|---|")
        for label, secs, outcome in frows:
            print(f"| {label} | {secs:.1f} | {secs / fbase:.2f} | {outcome} |")


if __name__ == "__main__":
    main()
