"""Planning scheduled programmes: 1,000 communes x 2 slots, time and peak memory.

A temporary SQLite database holds one province with 10 districts of 100 communes, two province-wide
programmes (06:00 and 17:00) and the areas' two languages; packages are generated in memory (a mix of
province-, district- and commune-targeted, some embargoed or expired, some without Khmer audio). The
baseline, run in the same process on the same inputs, is the naive plan: every edition scans every
package (no index by area). Rows report seconds, ms per edition, Python peak memory (tracemalloc) and the
ratio to the baseline.

Usage: .venv/bin/python benchmarks/programs.py [--communes 1000] [--packages 300] [--repeats 3]
"""

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

DAY = date(2026, 11, 24)


def build_world(communes: int, n_packages: int) -> tuple[list, dict]:  # type: ignore[type-arg]
    from domain.areas import Area, AreaLevel
    from domain.editions import AudioRef, Candidate
    from domain.priority import Priority
    from services import programs
    from services.runtime import session
    from storage.repositories import areas

    tree = {"84": Area("84", "Tỉnh Thử Nghiệm", AreaLevel.PROVINCE, None, ("vi", "km"))}
    districts = max(1, communes // 100)
    for d in range(districts):
        dcode = f"{900 + d:03d}"
        tree[dcode] = Area(dcode, f"Huyện {d}", AreaLevel.DISTRICT, "84")
        for c in range(communes // districts):
            ccode = f"{d:02d}{c:03d}"
            tree[ccode] = Area(ccode, f"Xã {d}-{c}", AreaLevel.COMMUNE, dcode)
    with session() as s:
        areas.upsert_areas(s, tree)
        programs.save_program(s, area_code="84", name="Bản tin sáng", at="06:00", actor="bench")
        programs.save_program(s, area_code="84", name="Bản tin chiều", at="17:00", actor="bench")
    rng = random.Random(6)
    codes = list(tree)
    slot = datetime(2026, 11, 23, 23, 0, tzinfo=UTC)
    cands = []
    for pid in range(1, n_packages + 1):
        target = rng.choice(codes)
        langs = ("vi", "km") if rng.random() < 0.6 else ("vi",)
        audio = {lang: AudioRef(f"objects/{pid}.mp3", f"{pid:064x}", 1000, rng.uniform(30, 120)) for lang in langs}
        cands.append(Candidate(
            pid, f"{pid:064x}", f"Tin {pid}", Priority.UU_TIEN if rng.random() < 0.2 else Priority.THUONG,
            (target,), audio, embargo_at=slot + timedelta(hours=2) if rng.random() < 0.05 else None,
            expires_at=slot - timedelta(hours=1) if rng.random() < 0.05 else None,
            ready_at=slot - timedelta(minutes=pid)))
    return cands, tree


def naive_plan(cands: list, tree: dict) -> int:  # type: ignore[type-arg]
    """Baseline: the same rules, but every edition scans every package."""
    from domain.editions import Frame, effective_languages, lineage_of, select_for_slot

    editions = 0
    for at in (datetime(2026, 11, 23, 23, 0, tzinfo=UTC), datetime(2026, 11, 24, 10, 0, tzinfo=UTC)):
        for code in (c for c, a in tree.items() if a.level.value != "district"):  # the planner's targets
            lineage = lineage_of(code, tree)
            for lang in effective_languages(code, tree):
                select_for_slot(cands, lineage=lineage, language=lang, starts_at=at, max_s=900, frame=Frame(8, 6, 2))
                editions += 1
    return editions


def measure(fn: Callable[[], int], repeats: int) -> tuple[float, float, int]:
    times, peaks, result = [], [], 0
    for _ in range(repeats):
        tracemalloc.start()
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
        peaks.append(tracemalloc.get_traced_memory()[1] / 2**20)
        tracemalloc.stop()
    return statistics.median(times), max(peaks), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--communes", type=int, default=1000)
    parser.add_argument("--packages", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bantin-bench-") as tmp:
        os.environ["BANTIN_HOME"] = tmp
        from services import programs
        from services.runtime import session
        from settings import get_settings
        from storage.migrate import upgrade

        upgrade(get_settings().database_url)
        cands, tree = build_world(args.communes, args.packages)

        start, end = programs.day_window(DAY)

        def plan() -> int:
            with session() as s:
                return len(programs.plan_editions(s, start=start, end=end, candidates=cands))

        base_t, base_m, base_n = measure(lambda: naive_plan(cands, tree), args.repeats)
        plan_t, plan_m, plan_n = measure(plan, args.repeats)
    rows = [
        ("naive: every edition scans every package (baseline)", base_t, base_m, base_n),
        ("plan_editions: packages indexed by area, one DB read", plan_t, plan_m, plan_n),
    ]
    print(f"\nPlanning {args.communes} communes x 2 slots, {args.packages} packages, 2 languages "
          f"(median of {args.repeats})\n")
    print(f"| {'method':<54} | {'editions':>8} | {'seconds':>8} | {'ms/edition':>10} | {'peak MB':>8} "
          f"| {'x baseline':>10} |")
    print(f"|{'-' * 56}|{'-' * 10}|{'-' * 10}|{'-' * 12}|{'-' * 10}|{'-' * 12}|")
    for name, t, m, n in rows:
        print(f"| {name:<54} | {n:>8} | {t:>8.2f} | {1000 * t / max(n, 1):>10.3f} | {m:>8.1f} | {t / base_t:>10.2f} |")


if __name__ == "__main__":
    main()
