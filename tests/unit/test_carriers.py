"""The carriers' heartbeat and timeout are settings, read in one place (services.carriers), with a clock a test
drives."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from settings import Settings, get_settings


@pytest.fixture
def carrier_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    monkeypatch.setenv("BANTIN_HOME", str(tmp_path / "var"))
    monkeypatch.delenv("BANTIN_ENV_FILE", raising=False)
    monkeypatch.delenv("BANTIN_CARRIER_HEARTBEAT_S", raising=False)
    monkeypatch.delenv("BANTIN_CARRIER_TIMEOUT_S", raising=False)
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


def test_the_defaults_and_the_environment(carrier_env: pytest.MonkeyPatch) -> None:
    from services import carriers

    assert (carriers.heartbeat_s(), carriers.timeout()) == (20.0, timedelta(seconds=120))
    carrier_env.setenv("BANTIN_CARRIER_HEARTBEAT_S", "5")
    carrier_env.setenv("BANTIN_CARRIER_TIMEOUT_S", "45")
    get_settings.cache_clear()
    assert (carriers.heartbeat_s(), carriers.timeout()) == (5.0, timedelta(seconds=45))


def test_a_timeout_shorter_than_three_heartbeats_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="at least three heartbeats"):
        Settings(home=tmp_path, carrier_heartbeat_s=30, carrier_timeout_s=60)
    assert Settings(home=tmp_path, carrier_heartbeat_s=30, carrier_timeout_s=90).carrier_timeout_s == 90.0


def test_a_pulse_is_due_once_per_heartbeat_on_the_injected_clock(carrier_env: pytest.MonkeyPatch) -> None:
    from services.carriers import Pulse

    fresh = Pulse()
    assert [fresh.due(t) for t in (100.0, 100.5, 119.9, 120.0, 139.0, 140.0)] == [True, False, False, True, False,
                                                                                 True]
    started = Pulse(1000.0)  # a carrier that just marked its run: the next beat one heartbeat later
    assert [started.due(t) for t in (1000.0, 1019.0, 1020.0)] == [False, False, True]


def test_overdue_reads_a_naive_stored_time_as_utc(carrier_env: pytest.MonkeyPatch) -> None:
    from services.carriers import overdue

    now = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
    assert overdue(datetime(2026, 12, 7, 11, 57, 59), now) is True  # 121 s, stored without its zone
    assert overdue(datetime(2026, 12, 7, 11, 58, 0, tzinfo=UTC), now) is False  # 120 s: not yet
