"""Operations reports at a province's scale: dashboard and quarterly report times on SQLite and PostgreSQL.

    .venv/bin/python benchmarks/reports.py [--devices 3000] [--plays 10000000] [--db sqlite|postgresql|both]
        [--pg-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres] [--runs 5]
        [--sqlite-path FILE] [--pg-database NAME] [--build-only]

Builds one simulated province (Tuyên Quang, code 08, every commune of the pre-2025 three-tier seed):
``--devices`` authorised devices spread over its communes, 4 bulletins a day for the 92 days of Q3 2026
(targeted at a commune, a district or the province; one emergency a week) published through the audit log,
``--plays`` play log rows spread over those days (each device plays what targets its area), device health and
online/offline changes, and one emergency in force now. A quarter of the bulletins are bilingual (vi, km): a
third of the devices play their Khmer variant. The issue's scale is 3,000 devices and 90 days, about 10 million
rows (``--plays 10000000``: about 12 minutes to write at a load of 13 on 2 cores, and 4-5 minutes to fold at a
load of 4-7, 17 at 13); the default here is 1 million so a run takes minutes.

Timed (median of ``--runs``): folding every play log into the rollups (``services.rollups.fold_all``, once);
the province's dashboard and one commune's (``services.dashboard.build``) and the provincial admin's panels
(``services.dashboard_roles``); one bulletin's proof of play from the
raw log (``services.coverage``); the province's Q3 report figures (``services.reports.compute``) and its PDF.
The baseline, in the same process, is what the report's per-commune minutes and plays-per-day cost read
straight from ``play_logs`` (one aggregate query over the quarter): the ratio column is time / baseline.
Each line shows the median wall time, the CPU time of this process (all the work on SQLite; on PostgreSQL the
server's share is not in it) and the 1-minute load average when it was measured: on a shared machine the wall
time depends on what else runs. The PDF's time is the first in the process (matplotlib and reportlab imported).
Goals (issue 20): dashboard under 300 ms, a province's quarterly report (figures, and the PDF) under 30 s.

``--sqlite-path`` / ``--pg-database`` keep the built database (it is not dropped) and reuse it when it already
holds devices, so a 10-million-row province is built once (``--build-only``) and timed again after a change.
Play logs are written with the driver's bulk path (sqlite3 ``executemany``, PostgreSQL ``COPY``).
"""

import argparse
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, func, insert, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

PROVINCE = "08"
Q_START = date(2026, 7, 1)
DAYS = 92


def _setup(url: str) -> None:
    import os

    os.environ["BANTIN_DATABASE_URL"] = url
    os.environ["BANTIN_HOME"] = tempfile.mkdtemp(prefix="bantin-bench-reports-")
    from services import runtime
    from storage.db import get_engine
    from storage.migrate import upgrade

    get_engine.cache_clear()
    runtime.reset()
    upgrade(url)


def _build(devices: int, plays: int, seed: int = 7) -> dict[str, Any]:
    from domain.approvals import Role
    from services.runtime import db_engine, session
    from storage.models import DraftRecord, DraftRevisionRecord, PackageRecord
    from storage.models_devices import DeviceRecord
    from storage.models_reports import DeviceHealthRecord, DeviceStateChangeRecord
    from storage.repositories import areas, audit, users

    rnd = random.Random(seed)
    tree = areas.read_area_csv(seed=areas.LEGACY_SEED)
    with session() as s:
        areas.upsert_areas(s, tree)
        users.add_user(s, username="admin", full_name="Admin", roles=[Role.ADMIN], password=None)
    districts = sorted(c for c, a in tree.items() if a.parent_code == PROVINCE)
    communes = sorted(c for c, a in tree.items() if a.parent_code in districts)
    now = datetime.now(UTC)
    t0 = time.perf_counter()
    engine = db_engine()
    with engine.begin() as conn:
        rows = [{"hardware_id": f"bench-{n:05d}", "public_key": "A" * 44, "name": f"Cụm loa {n}",
                 "area_code": communes[n % len(communes)], "kind": "speaker" if n % 5 else "board",
                 "status": "authorised", "registered_at": now, "last_inventory": {}, "agent_version": "bench",
                 "last_seen_at": now - timedelta(seconds=rnd.choice([30, 60, 120, 900, 7200]))}
                for n in range(devices)]
        conn.execute(insert(DeviceRecord.__table__), rows)
        ids = [r[0] for r in conn.execute(select(DeviceRecord.id).order_by(DeviceRecord.id))]
        conn.execute(insert(DeviceHealthRecord.__table__), [
            {"device_id": i, "uptime_s": rnd.randint(60, 9 * 86400), "reboots_total": rnd.randint(0, 5),
             "temperature_c": round(rnd.uniform(30, 70), 1), "network": rnd.choice(["wifi", "cellular", "ethernet"]),
             "free_bytes": rnd.randint(50, 4000) * 2**20, "reported_at": now, "rejected_values": 0, "updated_at": now}
            for i in ids])
        changes = []
        for i in ids:  # about one outage a fortnight, hours long
            t = datetime(2026, 7, 1, tzinfo=UTC)
            changes.append({"device_id": i, "at": t, "online": True, "reason": "poll"})
            while True:
                t += timedelta(days=rnd.uniform(5, 25))
                if t > now:
                    break
                changes += [{"device_id": i, "at": t, "online": False, "reason": "silent"},
                            {"device_id": i, "at": t + timedelta(hours=rnd.uniform(1, 30)), "online": True,
                             "reason": "poll"}]
        conn.execute(insert(DeviceStateChangeRecord.__table__), changes)
    area_of = dict(zip(ids, (r["area_code"] for r in rows), strict=True))
    # Bulletins: 4 a day, targeted at a commune (60 %), a district (30 %) or the province; one emergency a week.
    packages: list[tuple[str, datetime, set[str], bool]] = []
    with session() as s:
        for day in range(DAYS + 1):
            for k in range(4):
                live = day < DAYS
                at = (datetime(2026, 7, 1, 0, tzinfo=UTC) + timedelta(days=day, hours=1 + 3 * k) if live
                      else now - timedelta(minutes=20))
                target = (rnd.choice(communes) if k < 2 else rnd.choice(districts) if k == 2 else PROVINCE)
                emergency = (k == 3 and day % 7 == 0) or not live
                d = DraftRecord(author="bench")
                s.add(d)
                s.flush()
                langs = ["vi", "km"] if k == 1 else ["vi"]
                rev = DraftRevisionRecord(draft_id=d.id, number=1, title=f"Bản tin {day}-{k}", body="…",
                                          area_codes=[target], languages=langs,
                                          priority="khan_cap" if emergency else "thuong", channels=["loudspeaker"],
                                          content_hash=uuid.uuid4().hex, author="bench",
                                          expires_at=at + timedelta(hours=2 if emergency else 48))
                s.add(rev)
                s.flush()
                manifest = uuid.uuid4().hex + uuid.uuid4().hex
                pkg = PackageRecord(draft_id=d.id, revision_id=rev.id, status="published", manifest_hash=manifest)
                s.add(pkg)
                s.flush()
                s.add(_audit_at(s, audit, pkg.id, at))
                s.flush()
                reached = {c for c in communes if target in (c, tree[c].parent_code, PROVINCE)}
                packages.append((manifest, at, reached, len(langs) > 1))
                if not live:
                    break
    build_meta = time.perf_counter() - t0
    # Play logs: each device plays, on each day, bulletins live for its commune.
    t1 = time.perf_counter()
    per_device_day = max(1, plays // (devices * DAYS))
    by_day: dict[int, list[tuple[str, datetime, set[str], bool]]] = {}
    for manifest, at, reached, bilingual in packages[:-1]:
        day = (at - datetime(2026, 7, 1, tzinfo=UTC)).days
        for dd in (day, day + 1):
            by_day.setdefault(dd, []).append((manifest, at, reached, bilingual))
    written = 0
    with _bulk_plays(engine) as sink:
        fmt = sink.time
        batch: list[tuple[Any, ...]] = []
        seq = 0
        for day in range(DAYS):
            live = by_day.get(day, [])
            morning = datetime(2026, 7, 1, tzinfo=UTC) + timedelta(days=day, hours=5)
            for i in ids:
                mine = [p for p in live if area_of[i] in p[2]] or live[:1]
                for n in range(per_device_day):
                    manifest, at, _, bilingual = mine[n % len(mine)]
                    start = max(at, morning) + timedelta(minutes=7 * n + int(rnd.random() * 6))
                    lang = "km" if bilingual and i % 3 == 0 else "vi"
                    seq += 1
                    s_start = fmt(start)
                    batch.append((i, f"b{seq:x}", f"{manifest[:16]}.{lang}", manifest, s_start,
                                  fmt(start + timedelta(seconds=30 + int(rnd.random() * 151))),
                                  rnd.random() > 0.1, "schedule", s_start))
                if len(batch) >= 200_000:
                    sink.write(batch)
                    written += len(batch)
                    batch = []
        if batch:
            sink.write(batch)
            written += len(batch)
        em_manifest = packages[-1][0]
        at = fmt(now - timedelta(minutes=19))
        sink.write([(i, str(uuid.uuid4()), f"{em_manifest[:16]}.vi", em_manifest, at, None, True, "emergency",
                     fmt(now)) for i in ids[: len(ids) // 2]])
    return {"communes": len(communes), "packages": len(packages), "plays": written, "build_meta_s": build_meta,
            "build_plays_s": time.perf_counter() - t1, "commune": communes[0], "package_manifest": packages[5][0]}


PLAY_COLUMNS = ("device_id", "log_id", "item_id", "manifest_hash", "started_at", "ended_at", "completed", "trigger",
                "received_at")


class _PlaySink:
    """Writes play log tuples (``PLAY_COLUMNS``, times already formatted by :meth:`time`) through the driver's
    bulk path, one transaction a batch: PostgreSQL ``COPY`` text, SQLite ``executemany``."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.pg = engine.dialect.name == "postgresql"
        self._times: dict[datetime, str] = {}

    def time(self, at: datetime) -> str:
        """A UTC time as the column stores it (SQLite: naive text as SQLAlchemy writes it; PostgreSQL: ISO text
        with its zone), cached: the simulated starts fall on few distinct instants."""
        s = self._times.get(at)
        if s is None:
            s = self._times[at] = (at.isoformat(sep=" ") if self.pg
                                   else at.astimezone(UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f"))
        return s

    def write(self, rows: list[tuple[Any, ...]]) -> None:
        cols = ", ".join(PLAY_COLUMNS)
        raw = self.engine.raw_connection()
        try:
            if self.pg:
                text_rows = "".join(
                    f"{r[0]}\t{r[1]}\t{r[2]}\t{r[3]}\t{r[4]}\t{r[5] or chr(92) + 'N'}\t{'t' if r[6] else 'f'}\t"
                    f"{r[7]}\t{r[8]}\n" for r in rows)
                with raw.driver_connection.cursor() as cur, cur.copy(f"COPY play_logs ({cols}) FROM STDIN") as cp:
                    cp.write(text_rows.encode())
            else:
                raw.cursor().execute("PRAGMA synchronous=OFF")  # this connection only; a crash loses the bench
                raw.cursor().executemany(f"INSERT INTO play_logs ({cols}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                                         [(*r[:6], int(r[6]), *r[7:]) for r in rows])
            raw.commit()
        finally:
            raw.close()


@contextmanager
def _bulk_plays(engine: Any) -> Iterator[_PlaySink]:
    """A sink for a bulk load of ``play_logs``: its secondary indexes (and on PostgreSQL its unique and foreign
    key constraints) are dropped for the load and built again after it, one sort each instead of ten million
    random B-tree inserts; SQLite's batches are written without syncing."""
    from sqlalchemy import inspect

    insp = inspect(engine)
    indexes = [ix for ix in insp.get_indexes("play_logs")
               if not ix.get("unique") and not ix.get("duplicates_constraint")]
    pg = engine.dialect.name == "postgresql"
    uniques = insp.get_unique_constraints("play_logs") if pg else []
    fks = insp.get_foreign_keys("play_logs") if pg else []
    with engine.begin() as conn:
        for ix in indexes:
            conn.exec_driver_sql(f'DROP INDEX "{ix["name"]}"')
        for c in [*uniques, *fks]:
            conn.exec_driver_sql(f'ALTER TABLE play_logs DROP CONSTRAINT "{c["name"]}"')
    try:
        yield _PlaySink(engine)
    finally:
        with engine.begin() as conn:
            for ix in indexes:
                cols = ", ".join(f'"{c}"' for c in ix["column_names"])
                conn.exec_driver_sql(f'CREATE INDEX "{ix["name"]}" ON play_logs ({cols})')
            for c in uniques:
                cols = ", ".join(f'"{x}"' for x in c["column_names"])
                conn.exec_driver_sql(f'ALTER TABLE play_logs ADD CONSTRAINT "{c["name"]}" UNIQUE ({cols})')
            for c in fks:
                cols = ", ".join(f'"{x}"' for x in c["constrained_columns"])
                ref = ", ".join(f'"{x}"' for x in c["referred_columns"])
                conn.exec_driver_sql(f'ALTER TABLE play_logs ADD CONSTRAINT "{c["name"]}" FOREIGN KEY ({cols}) '
                                     f'REFERENCES "{c["referred_table"]}" ({ref})')


def _existing(devices: int) -> dict[str, Any] | None:
    """What ``_build`` returns, read back from a database built before (None: empty)."""
    from services.runtime import session
    from storage.models import PackageRecord
    from storage.models_devices import DeviceRecord, PlayLogRecord
    from storage.repositories import areas

    with session() as s:
        n = s.scalar(select(func.count()).select_from(DeviceRecord))
        if not n:
            return None
        if n != devices:
            raise SystemExit(f"the kept database holds {n} devices, not {devices}")
        tree = areas.read_area_csv(seed=areas.LEGACY_SEED)
        districts = {c for c, a in tree.items() if a.parent_code == PROVINCE}
        communes = sorted(c for c, a in tree.items() if a.parent_code in districts)
        manifests = list(s.scalars(select(PackageRecord.manifest_hash).order_by(PackageRecord.id)))
        plays = s.scalar(select(func.count()).select_from(PlayLogRecord))
    return {"communes": len(communes), "packages": len(manifests), "plays": plays, "build_meta_s": 0.0,
            "build_plays_s": 0.0, "commune": communes[0], "package_manifest": manifests[5]}


def _audit_at(s: Any, audit: Any, package_id: int, at: datetime) -> Any:
    """A ``package.published`` audit entry dated ``at``, chained like ``audit.record`` does (the benchmark needs
    history, which the live chain only ever gets by waiting)."""
    from sqlalchemy import update

    from domain.audit import AuditEntry, entry_hash
    from storage.models import AuditHeadRecord, AuditRecord

    seq, prev = audit._advance_head(s)
    entry = AuditEntry(seq=seq, at=at, actor="bench", action="package.published", entity="package",
                       entity_id=str(package_id), detail={}, prev_hash=prev)
    digest = entry_hash(entry)
    s.execute(update(AuditHeadRecord).where(AuditHeadRecord.id == audit.HEAD_ID).values(hash=digest))
    return AuditRecord(seq=seq, at=at, actor="bench", action="package.published", entity="package",
                       entity_id=str(package_id), detail={}, prev_hash=prev, hash=digest)


def _median(fn: Any, runs: int) -> tuple[float, float]:
    """Median wall time and median CPU time of this process (on SQLite that is all the work; on PostgreSQL the
    server's share is not in it), in seconds."""
    walls, cpus = [], []
    for _ in range(runs):
        t, c = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
    return statistics.median(walls), statistics.median(cpus)


def _load() -> str:
    """The 1-minute load average (the machine may be shared: a figure is only as good as the cores it got)."""
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except OSError:
        return "?"


def run(name: str, url: str, devices: int, plays: int, runs: int, build_only: bool = False) -> list[str]:
    _setup(url)
    meta = _existing(devices) or _build(devices, plays)
    from domain.reports import parse_period
    from services import coverage, dashboard, dashboard_roles, report_files, reports, rollups
    from services.runtime import session
    from storage.models import PackageRecord
    from storage.models_devices import PlayLogRecord

    t = time.perf_counter()
    folded = rollups.fold_all(session, chunk=100_000)
    fold_s = time.perf_counter() - t
    if build_only:
        return [f"| {name} | built: {meta['plays']:,} play logs, {devices:,} devices | "
                f"{meta['build_meta_s'] + meta['build_plays_s']:.0f} s; fold {fold_s:.0f} s | | | {_load()} | |"]
    if url.startswith("postgresql"):  # statistics and visibility maps after a bulk load, as autovacuum keeps them
        from services.runtime import db_engine

        with db_engine().connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    now = datetime.now(UTC)
    th = rollups.Thresholds(300, 3600)
    period = parse_period("2026-Q3", today=now.date())
    start, end = datetime(2026, 7, 1, tzinfo=UTC) - timedelta(hours=7), datetime(2026, 10, 1, tzinfo=UTC)

    def baseline() -> None:
        with session() as s:
            s.execute(select(PlayLogRecord.device_id, func.count(), func.min(PlayLogRecord.started_at))
                      .where(PlayLogRecord.started_at >= start, PlayLogRecord.started_at < end)
                      .group_by(PlayLogRecord.device_id)).all()

    def dash(code: str) -> Any:
        def go() -> None:
            with session() as s:
                dashboard.build(s, code, now=now, thresholds=th)
        return go

    def panels() -> None:
        with session() as s:
            dashboard_roles.panels(s, "admin", PROVINCE, now=now)

    with session() as s:
        pid = s.scalar(select(PackageRecord.id).where(PackageRecord.manifest_hash == meta["package_manifest"]))

    def cov() -> None:
        with session() as s:
            coverage.package_coverage(s, pid, now=now, thresholds=th)

    def report() -> None:
        with session() as s:
            reports.compute(s, period, PROVINCE, now=now)

    def pdf() -> None:
        with session() as s:
            report_files.render(reports.compute(s, period, PROVINCE, now=now), "pdf")

    base, _ = _median(baseline, max(1, runs // 2))
    rows: list[tuple[str, float, float | None, str]] = [("fold rollups (once)", fold_s, None, _load())]
    for label, fn, n in [("dashboard, province", dash(PROVINCE), runs),
                         ("dashboard, commune", dash(meta["commune"]), runs),
                         ("dashboard panels, provincial admin", panels, runs),
                         ("coverage, one bulletin", cov, runs),
                         ("quarterly report figures", report, max(1, runs // 2)),
                         ("quarterly report PDF (figures + render; the first in this process)", pdf, 1)]:
        wall, cpu = _median(fn, n)
        rows.append((label, wall, cpu, _load()))
    built = (f"{meta['build_meta_s'] + meta['build_plays_s']:.0f} s" if meta["build_plays_s"]
             else "kept from an earlier run")
    out = [f"| {name} | build: {meta['plays']:,} play logs, {devices:,} devices, {meta['communes']} communes, "
           f"{meta['packages']} bulletins | {built} | | | | |",
           f"| {name} | baseline: quarter's plays per device straight from play_logs | {base * 1000:,.0f} ms "
           f"| | 1.00 | {_load()} | |"]
    goals = {"dashboard, province": 0.3, "quarterly report figures": 30.0}
    for label, secs, cpu, load in rows:
        goal = goals.get(label, 30.0 if label.startswith("quarterly report PDF") else None)
        verdict = "" if goal is None else ("meets goal" if secs < goal else "MISSES goal") + f" (< {goal:g} s)"
        cpu_ms = "" if cpu is None else f"{cpu * 1000:,.0f} ms"
        out.append(f"| {name} | {label} | {secs * 1000:,.0f} ms | {cpu_ms} | {secs / base:.2f} | {load} | {verdict} |")
    out.append(f"| {name} | rows folded | {folded:,} | | | | |")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--devices", type=int, default=3000)
    ap.add_argument("--plays", type=int, default=1_000_000, help="play log rows (the issue's scale: 10,000,000)")
    ap.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    ap.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--sqlite-path", type=Path, help="keep (or reuse) the SQLite database in this file")
    ap.add_argument("--pg-database", help="keep (or reuse) the PostgreSQL database of this name")
    ap.add_argument("--build-only", action="store_true", help="build and fold, time nothing")
    args = ap.parse_args()
    lines = ["| db | what | time | CPU (this process) | ratio to baseline | load (1 min) | goal |",
             "|---|---|---|---|---|---|---|"]
    print("\n".join(lines), flush=True)
    if args.db in ("sqlite", "both"):
        path = args.sqlite_path or Path(tempfile.mkdtemp(prefix="bantin-bench-reports-")) / "bench.db"
        part = run("sqlite", f"sqlite:///{path}", args.devices, args.plays, args.runs, args.build_only)
        print("\n".join(part), flush=True)
    if args.db in ("postgresql", "both"):
        name = args.pg_database or f"bantin_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(args.pg_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            if not conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}):
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            url = make_url(args.pg_url).set(database=name).render_as_string(hide_password=False)
            print("\n".join(run("postgresql", url, args.devices, args.plays, args.runs, args.build_only)),
                  flush=True)
        finally:
            from storage.db import get_engine

            get_engine.cache_clear()
            if not args.pg_database:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


if __name__ == "__main__":
    main()
