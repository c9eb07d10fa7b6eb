"""The sweeper's audit checkpoint step as the log grows (SQLite, local store, a fresh temporary home).

Writing a checkpoint verifies the whole hash chain first (a broken log is never blessed), so it grows with
the log; a sweep with nothing new since the last checkpoint only reads the latest one.

Usage: .venv/bin/python benchmarks/audit_checkpoint.py [--sizes 1000,10000,50000]
"""

import argparse
import os
import tempfile
import time
from datetime import UTC, datetime, timedelta


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000,50000")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bantin-bench-") as home:
        os.environ["BANTIN_HOME"] = home
        from services import audit_anchor
        from services.runtime import object_store, session
        from settings import get_settings
        from storage.migrate import upgrade
        from storage.repositories import audit

        upgrade(get_settings().database_url)
        now, total = datetime(2026, 12, 7, 8, tzinfo=UTC), 0
        print("| audit entries | checkpoint written (s) | nothing new (s) |\n|---:|---:|---:|")
        for target in (int(x) for x in args.sizes.split(",")):
            with session() as s:
                for n in range(total, target):
                    audit.record(s, actor="bench", action="bench.entry", entity="bench", entity_id=n)
            total, now = target, now + timedelta(hours=1)
            started = time.perf_counter()
            with session() as s:
                document, _ = audit_anchor.checkpoint_if_due(s, object_store(), now=now, interval_s=300)
            written = time.perf_counter() - started
            started = time.perf_counter()
            with session() as s:
                idle, _ = audit_anchor.checkpoint_if_due(s, object_store(), now=now + timedelta(hours=1),
                                                         interval_s=300)
            quiet = time.perf_counter() - started
            assert document is not None and idle is None
            print(f"| {total:,} | {written:.2f} | {quiet:.3f} |")


if __name__ == "__main__":
    main()
