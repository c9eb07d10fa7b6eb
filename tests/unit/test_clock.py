"""domain.clock: one reading of stored naive times (UTC) and one refusal of naive inputs, used everywhere."""

import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from domain.clock import as_utc, require_aware
from domain.errors import InvalidInput

ROOT = Path(__file__).resolve().parents[2]


def test_a_naive_stored_time_is_read_as_utc_and_an_aware_one_is_kept() -> None:
    assert as_utc(datetime(2026, 12, 7, 23, 0)) == datetime(2026, 12, 7, 23, 0, tzinfo=UTC)
    assert as_utc(datetime(2026, 12, 7, 23, 0)).tzinfo is UTC
    hanoi = timezone(timedelta(hours=7))
    kept = as_utc(datetime(2026, 12, 8, 6, 0, tzinfo=hanoi))
    assert kept.tzinfo is hanoi and kept == datetime(2026, 12, 7, 23, 0, tzinfo=UTC)


def test_a_naive_input_is_refused() -> None:
    with pytest.raises(InvalidInput, match="time zone"):
        require_aware(datetime(2026, 12, 7, 23, 0))
    moment = datetime(2026, 12, 7, 23, 0, tzinfo=UTC)
    assert require_aware(moment) is moment


def test_no_module_keeps_its_own_copy() -> None:
    """The conversion is written once, in domain/clock.py (device_agent runs on devices: it has its own)."""
    copy = re.compile(r"if \w+(\[\d+\])?\.tzinfo else|def _?aware\(")
    found = [str(p.relative_to(ROOT)) for top in ("domain", "storage", "engines", "services", "web", "cli", "tasks",
                                                  "flows", "deployments")
             for p in (ROOT / top).rglob("*.py") if copy.search(p.read_text(encoding="utf-8"))]
    assert found == ["domain/clock.py"]
