"""The agent's handling of verified emergency messages (in process, no server): interrupt, dedupe, stop."""

import time
from pathlib import Path

from device_agent.agent import Agent
from device_agent.config import load_config
from device_agent.planner import Choice
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
