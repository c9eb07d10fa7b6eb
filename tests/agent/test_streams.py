"""Relay streams on the device: when the planner plays them (start to end, after emergencies, not in quiet
hours, not on boards), how a dropped stream reconnects with backoff, and what a schedule must say about one."""

import random
import subprocess
import sys
import threading
from typing import Any

import pytest

from device_agent.clock import Clock
from device_agent.planner import PlanState, quiet_from
from device_agent.schedule import ScheduleRefused, check_item
from device_agent.streams import StreamStats, backoff, play_stream
from tests.agent.helpers import item
from tests.agent.test_planner import AUDIO, VN, at, doc, iso, planner, run

URL = "http://radio.test/area-29377.mp3?t=7.1.ab"


def stream(item_id: str, start: str, end: str, url: str = URL, priority: str = "uu_tien") -> dict[str, Any]:
    out = item(item_id, kind="stream", priority=priority, starts_at=iso(at(start)), expires_at=iso(at(end)))
    out["stream"] = {"mount": "/area-29377.mp3", "url": url}
    return out


def test_a_relay_plays_from_its_start_to_its_end_and_a_box_joins_mid_slot() -> None:
    p, state = planner(play_on_arrival=False), PlanState()
    s = doc([stream("relay-1-2026-11-23", "06:00", "06:30"), item("normal", audio=AUDIO)])
    choice, wake = p.choose(s, state, at("05:50"))
    assert choice is None and wake == at("06:00")  # the loop sleeps exactly until the relay
    assert run(p, s, state, at("06:00")) == "schedule:relay-1-2026-11-23"
    assert run(p, s, state, at("06:12")) == "schedule:relay-1-2026-11-23"  # rebooted mid-slot: joins again
    # over: back to files; the bulletin whose 06:00 slot the relay took plays now
    assert run(p, s, state, at("06:30")) == "schedule:normal"
    assert run(p, s, state, at("06:31")) is None
    assert p.next_stream_start(s, state, at("05:00")) == at("06:00")
    assert p.next_stream_start(s, state, at("06:00")) is None


def test_an_emergency_preempts_the_relay_which_resumes_after_it() -> None:
    p, state = planner(), PlanState()
    emergency = item("lu", audio=AUDIO, priority="khan_cap", kind="emergency", expires_at=iso(at("07:00")))
    s = doc([stream("relay-1", "06:00", "06:30"), emergency])
    assert run(p, s, state, at("06:05")) == "emergency:lu"
    assert run(p, s, state, at("06:06")) == "schedule:relay-1"


def test_quiet_hours_silence_a_relay_and_cut_one_that_runs_into_them() -> None:
    p, state = planner(), PlanState()
    s = doc([stream("relay-1", "21:30", "22:30")], quiet=[{"from": "22:00", "to": "05:00"}])
    assert run(p, s, state, at("22:10")) is None
    assert run(p, s, state, at("21:40")) == "schedule:relay-1"
    assert quiet_from(s, at("21:40"), at("22:30"), VN) == at("22:00")  # the agent stops the stream there
    assert quiet_from(s, at("21:00"), at("21:50"), VN) is None


def test_an_emergency_live_session_overrides_emergency_files_relays_and_quiet_hours() -> None:
    p, state = planner(), PlanState()
    flood = item("lu", audio=AUDIO, priority="khan_cap", kind="emergency", repeat=600, expires_at=iso(at("23:30")))
    live = stream("live-4", "21:50", "22:50", priority="khan_cap")
    quiet = [{"from": "22:00", "to": "05:00"}]
    s = doc([stream("relay-1", "21:30", "23:00"), flood, live], quiet=quiet)
    assert run(p, s, state, at("21:55")) == "emergency:live-4"  # before the emergency file and the relay
    assert run(p, s, state, at("22:10")) == "emergency:live-4"  # quiet hours do not silence it
    assert run(p, s, state, at("22:50")) == "emergency:lu"  # over: the emergency file plays, in quiet hours
    assert run(p, s, state, at("22:51")) is None  # the relay does not (quiet hours)
    assert run(p, doc([live], quiet=[]), PlanState(), at("21:49")) is None  # not before its start


def test_an_ordinary_live_session_keeps_quiet_hours_and_yields_to_emergency_files() -> None:
    p, state = planner(), PlanState()
    flood = item("lu", audio=AUDIO, priority="khan_cap", kind="emergency", expires_at=iso(at("23:30")))
    s = doc([stream("live-5", "21:50", "22:50"), flood], quiet=[{"from": "22:00", "to": "05:00"}])
    assert run(p, s, state, at("21:55")) == "emergency:lu"
    assert run(p, s, state, at("21:56")) == "schedule:live-5"
    assert run(p, s, state, at("22:10")) is None


def test_boards_never_play_streams_and_a_stream_without_url_is_refused() -> None:
    p, state = planner(medium="slides"), PlanState()
    assert run(p, doc([stream("relay-1", "06:00", "06:30")]), state, at("06:05")) is None
    good = stream("relay-1", "06:00", "06:30")
    assert check_item(good) is good
    for bad in ({**good, "stream": {"url": "file:///etc/passwd"}}, {**good, "stream": None},
                {**good, "starts_at": None}):
        with pytest.raises(ScheduleRefused, match="stream needs"):
            check_item(bad)


def test_backoff_doubles_to_thirty_seconds_with_jitter() -> None:
    rng = random.Random(4)
    waits = [backoff(n, rng) for n in range(1, 8)]
    for wait, base in zip(waits, [1, 2, 4, 8, 16, 30, 30], strict=True):
        assert base * 0.75 <= wait <= base * 1.25


def test_a_stream_that_keeps_dropping_is_retried_until_the_slot_ends(tmp_path: Any) -> None:
    clock = Clock()
    stats = StreamStats("relay-1")
    launched: list[float] = []

    def launch(err: Any) -> list[subprocess.Popen[bytes]]:  # a player that fails at once, every time
        launched.append(clock.time())
        return [subprocess.Popen([sys.executable, "-c", "import sys; sys.stderr.write('404 Not Found'); sys.exit(1)"],
                                 stdout=subprocess.PIPE, stderr=err)]

    start = clock.time()
    completed = play_stream(launch, start + 4.0, clock, threading.Event(), stats, progress=True,
                            rng=random.Random(1))
    assert completed is False  # no audio ever came
    assert stats.connected_at is None and stats.last_error == "404 Not Found"
    assert len(launched) == 3 == stats.reconnects  # at about 0 s, 1 s and 3 s; the next wait passes the end
    assert clock.time() - start >= 4.0


def test_a_stop_ends_a_stream_at_once() -> None:
    clock, stop = Clock(), threading.Event()
    stats = StreamStats("relay-1")

    def launch(err: Any) -> list[subprocess.Popen[bytes]]:  # prints progress like ffmpeg, then waits
        code = "import sys, time; print('out_time_us=500000', flush=True); time.sleep(60)"
        return [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=err)]

    threading.Timer(1.5, stop.set).start()
    assert play_stream(launch, clock.time() + 60, clock, stop, stats, progress=True) is False
    assert stats.connected_at is not None and stats.seconds == 0.5 and stats.reconnects == 0
