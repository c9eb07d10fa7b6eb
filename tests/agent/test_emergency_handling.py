"""The agent's handling of verified emergency messages (in process, no server): interrupt, dedupe, stop."""

import threading
import time
from pathlib import Path

from device_agent.agent import Agent
from device_agent.config import load_config
from device_agent.planner import Choice
from device_agent.streams import StreamStats
from domain.signatures import b64, generate_key
from tests.agent.helpers import emergency, item, ref

KEY = generate_key()


def make_agent(tmp_path: Path) -> Agent:
    cfg, _ = load_config(["--server", "http://127.0.0.1:9", "--area-code", "29377", "--trust", b64(KEY.public),
                          "--state-dir", str(tmp_path / "state"), "--player", "null"], {})
    return Agent(cfg)


def test_emergency_interrupts_once_is_acknowledged_once_and_stop_wins_over_older_plays(tmp_path: Path) -> None:
    agent = make_agent(tmp_path)
    audio = b"emergency audio"
    r = ref(audio)
    (agent.cache.root / r["name"]).write_bytes(audio)  # already cached: it can preempt at once
    alert = item("lu-quet.vi", audio=r, kind="emergency", priority="khan_cap", repeat=600,
                 expires_at="2099-01-01T00:00:00Z")
    agent.current = Choice(item("bulletin.vi", audio=ref(b"x")), "schedule", "bulletin.vi@1")
    agent.handle_emergency(emergency(KEY, alert, issued_at="2026-11-23T10:00:00Z"), "mqtt")
    deadline = time.monotonic() + 5
    while not agent.interrupt.is_set() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert agent.interrupt.is_set()  # the bulletin playing is cut
    assert list(agent.plan.emergencies) == ["lu-quet.vi"]
    agent.handle_emergency(emergency(KEY, alert, issued_at="2026-11-23T10:00:00Z"), "poll")  # retained copy
    acks: list[dict] = []
    assert agent.outbox.flush_acks(acks.append) == 1 and acks[0]["channel"] == "mqtt"

    agent.current = Choice(alert, "emergency", "lu-quet.vi")
    agent.interrupt.clear()
    agent.handle_emergency(emergency(KEY, alert, "stop", issued_at="2026-11-23T10:05:00Z"), "mqtt")
    assert agent.interrupt.is_set() and agent.plan.emergencies == {}
    agent.handle_emergency(emergency(KEY, alert, issued_at="2026-11-23T10:01:00Z"), "mqtt")  # older than stop
    assert agent.plan.emergencies == {}
    choice, _ = agent.planner.choose({"items": [alert]}, agent.plan, time.time(), agent._available)
    assert choice is None  # stopped: not even the pull schedule's copy plays
    agent.handle_emergency(emergency(KEY, alert, issued_at="2026-11-23T11:00:00Z"), "mqtt")  # issued again
    assert list(agent.plan.emergencies) == ["lu-quet.vi"]
    agent.join_helpers()
    agent.outbox.close()


class RecordingPlayer:
    """Records the streams the agent asks for (url, until) and returns at once as if played to the end."""

    name = "recording"

    def __init__(self) -> None:
        self.streams: list[tuple[str, float]] = []

    def stream(self, url: str, until: float, volume: int, stop: object, stats: object) -> bool:
        self.streams.append((url, until))
        return True


def _live_item(priority: str, starts: float, ends: float) -> dict:
    from device_agent.state import iso

    out = item(f"live-{priority}", kind="stream", priority=priority, starts_at=iso(starts), expires_at=iso(ends))
    out["stream"] = {"mount": "/area-live-4.mp3", "url": "http://127.0.0.1:9/area-live-4.mp3?t=7.1.ab"}
    return out


def _quiet_now(from_minutes: int = -60) -> list[dict]:
    """Quiet hours from ``from_minutes`` from now (an hour ago by default) to two hours later (Vietnam time)."""
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    start = datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")) + timedelta(minutes=from_minutes)
    return [{"from": start.strftime("%H:%M"), "to": (start + timedelta(hours=2)).strftime("%H:%M")}]


def test_an_emergency_live_session_interrupts_a_playing_emergency_file(tmp_path: Path) -> None:
    agent = make_agent(tmp_path)
    audio = b"emergency audio"
    r = ref(audio)
    (agent.cache.root / r["name"]).write_bytes(audio)
    flood = item("lu-quet.vi", audio=r, kind="emergency", priority="khan_cap", repeat=600,
                 expires_at="2099-01-01T00:00:00Z")
    now = time.time()
    agent.schedule = {"items": [flood], "quiet_hours": _quiet_now(), "withdrawn": []}
    agent.current = Choice(flood, "emergency", "lu-quet.vi")
    agent._maybe_preempt()
    assert not agent.interrupt.is_set()  # an emergency file is not cut by itself, nor by another file

    ordinary = _live_item("uu_tien", now - 5, now + 600)
    agent.schedule["items"] = [flood, ordinary]
    agent._maybe_preempt()
    assert not agent.interrupt.is_set()  # an ordinary live session waits for the emergency file

    override = _live_item("khan_cap", now - 5, now + 600)
    agent.schedule["items"] = [flood, override]
    agent._maybe_preempt()
    assert agent.interrupt.is_set()  # the emergency live session cuts it

    agent.interrupt.clear()
    agent.current = Choice(override, "emergency", "live-khan_cap@x")
    agent.plan.emergencies["lu-quet.vi"] = flood  # an emergency file arriving over MQTT meanwhile
    agent._maybe_preempt()
    assert not agent.interrupt.is_set()  # nothing cuts the emergency live session but its end
    agent.outbox.close()


def test_a_relay_starting_cuts_an_ordinary_file_but_never_an_emergency_file(tmp_path: Path) -> None:
    agent = make_agent(tmp_path)
    now = time.time()
    relay = _live_item("uu_tien", now - 5, now + 600)  # an ordinary stream due now (a relay slot)
    agent.schedule = {"items": [relay], "quiet_hours": [], "withdrawn": []}
    flood = item("lu-quet.vi", audio=ref(b"flood"), kind="emergency", priority="khan_cap", repeat=0,
                 expires_at="2099-01-01T00:00:00Z")
    agent.current = Choice(flood, "emergency", "lu-quet.vi")  # a one-off emergency file plays to its end
    agent._maybe_preempt()
    assert not agent.interrupt.is_set()
    agent.current = Choice(item("bulletin.vi", audio=ref(b"x")), "schedule", "bulletin.vi@1")
    agent._maybe_preempt()
    assert agent.interrupt.is_set()  # an ordinary bulletin gives way to the relay
    agent.outbox.close()


def test_an_emergency_live_session_plays_through_quiet_hours_and_an_ordinary_one_is_cut_there(
        tmp_path: Path) -> None:
    agent = make_agent(tmp_path)
    player = agent.player = RecordingPlayer()  # type: ignore[assignment]
    now = time.time()
    ends = now + 600
    agent.schedule = {"items": [_live_item("uu_tien", now - 5, ends)], "quiet_hours": _quiet_now(), "withdrawn": []}
    choice, _ = agent.planner.choose(agent.schedule, agent.plan, now, agent._available)
    assert choice is None  # quiet hours: the ordinary session is not played

    agent.schedule["items"].append(_live_item("khan_cap", now - 5, ends))
    agent._playout_step()
    assert len(player.streams) == 1 and abs(player.streams[0][1] - ends) < 1  # played to its end, not cut
    plays: list[dict] = []
    agent.outbox.flush_plays(plays.extend)
    assert [(p["item_id"], p["trigger"], p["completed"]) for p in plays] == [("live-khan_cap", "emergency", True)]

    # an ordinary session that runs into quiet hours is stopped where they begin, and logged as not completed
    agent.schedule = {"items": [_live_item("uu_tien", now - 5, ends)], "withdrawn": [], "quiet_hours": _quiet_now(
        from_minutes=5)}
    agent._playout_step()
    assert len(player.streams) == 2 and now + 240 <= player.streams[1][1] <= now + 360
    plays.clear()
    agent.outbox.flush_plays(plays.extend)
    assert [(p["item_id"], p["completed"]) for p in plays] == [("live-uu_tien", False)]
    agent.outbox.close()


class BlockingPlayer:
    """Plays a stream (audio flows at once) until the agent stops it."""

    name = "blocking"

    def stream(self, url: str, until: float, volume: int, stop: threading.Event, stats: StreamStats) -> bool:
        stats.connected_at = time.time()
        stop.wait(20)
        return False


def _play_then_drop(agent: Agent, playing: dict) -> dict:
    """Play ``playing`` from a signed schedule, then take it off the schedule; the play log entry."""
    from tests.agent.helpers import schedule

    agent.identity.device_id = 7
    agent.player = BlockingPlayer()  # type: ignore[assignment]
    agent._accept(schedule(KEY, [playing]), '"e1"')
    worker = threading.Thread(target=agent._playout_step)
    worker.start()
    deadline = time.monotonic() + 5
    while agent.current is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert agent.current is not None and agent.current.item["item_id"] == playing["item_id"]
    agent._accept(schedule(KEY, []), '"e2"')  # the session stopped (or the relay slot was removed)
    worker.join(5)
    assert not worker.is_alive()
    plays: list[dict] = []
    agent.outbox.flush_plays(plays.extend)
    agent.outbox.close()
    assert len(plays) == 1
    return plays[0]


def test_a_live_session_the_officer_ends_is_logged_as_completed(tmp_path: Path) -> None:
    now = time.time()
    play = _play_then_drop(make_agent(tmp_path), _live_item("uu_tien", now - 5, now + 600))
    assert (play["item_id"], play["trigger"], play["completed"]) == ("live-uu_tien", "schedule", True)


def test_a_relay_taken_off_the_schedule_is_logged_as_interrupted(tmp_path: Path) -> None:
    now = time.time()
    relay = {**_live_item("uu_tien", now - 5, now + 600), "item_id": "relay-3-2026-12-07"}
    play = _play_then_drop(make_agent(tmp_path), relay)
    assert (play["item_id"], play["completed"]) == ("relay-3-2026-12-07", False)
