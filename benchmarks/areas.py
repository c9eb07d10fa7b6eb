"""Area lookups by name over today's 3,355 units, and moving a legacy installation to the 2025 units.

Baseline in the same process: a lookup by code (a dict hit). Name lookups fold every name once (cached), so
the first one pays for all and later ones scan folded strings. The migration is timed on a temporary
SQLite database holding the pre-2025 pilot list and a few hundred records that follow their unit.

Usage: python benchmarks/areas.py [--lookups 200] [--devices 300]
"""

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from domain.approvals import Role
from domain.areas import resolve_area
from domain.devices import DeviceKind, Registration
from domain.users import Membership
from services import areas as area_service
from storage.db import make_engine, session_scope
from storage.migrate import upgrade
from storage.repositories import areas, devices, users

NAMES = ["Châu Thành, Vĩnh Long", "chau thanh, tay ninh", "Phường Hòa Thuận", "hoa thuan, an giang",
         "Xã Thái Bình, Tuyên Quang", "Đặc khu Hoàng Sa", "vinh long", "Phường Ba Đình"]


def _ms(fn, n: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    times = []
    for i in range(n):
        start = time.perf_counter()
        fn(i)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), max(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lookups", type=int, default=200)
    parser.add_argument("--devices", type=int, default=300)
    args = parser.parse_args()
    tree = areas.read_area_csv()
    codes = sorted(tree)
    rows = []
    base, _ = _ms(lambda i: resolve_area(codes[i % len(codes)], tree), args.lookups)
    start = time.perf_counter()
    resolve_area(NAMES[0], tree)
    cold = (time.perf_counter() - start) * 1000
    warm, worst = _ms(lambda i: resolve_area(NAMES[i % len(NAMES)], tree), args.lookups)
    rows += [("lookup by code (baseline)", base, 1.0),
             ("lookup by name, first (folds every name)", cold, cold / base),
             ("lookup by name, later (median)", warm, warm / base),
             ("lookup by name, later (worst)", worst, worst / base)]

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        upgrade(url)
        engine = make_engine(url)
        legacy = areas.read_area_csv(seed=areas.LEGACY_SEED)
        communes = [c for c, a in legacy.items() if a.level.value == "commune"]
        with session_scope(engine) as s:
            areas.upsert_areas(s, legacy)
            users.add_user(s, username="root", full_name="Root", memberships=[Membership(Role.ADMIN)])
            for i in range(args.devices):
                devices.add_device(s, Registration(f"hw-{i}", bytes([i % 256]) * 32, f"Cụm loa {i}",
                                                   communes[(i * 7) % len(communes)], DeviceKind.SPEAKER))
        with session_scope(engine) as s:
            start = time.perf_counter()
            dry = area_service.migrate(s, actor="root", to="2025", assign=[], dry_run=True)
            dry_ms = (time.perf_counter() - start) * 1000
        assign = [f"{c.old_code}={c.candidates[0]}" for c in dry.conflicts]
        with session_scope(engine) as s:
            start = time.perf_counter()
            done = area_service.migrate(s, actor="root", to="2025", assign=assign, dry_run=False)
            apply_ms = (time.perf_counter() - start) * 1000
        engine.dispose()
    rows += [(f"migrate dry run ({len(dry.moves)} codes in use, {len(dry.conflicts)} conflicts)", dry_ms,
              dry_ms / base),
             (f"migrate apply ({sum(done.changed.values())} rows moved, {done.retired} units retired)", apply_ms,
              apply_ms / base)]
    print(f"{'case':<62} {'ms':>10} {'x baseline':>12}")
    for name, ms, ratio in rows:
        print(f"{name:<62} {ms:>10.3f} {ratio:>12.0f}")


if __name__ == "__main__":
    main()
