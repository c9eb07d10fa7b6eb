"""What plays when: emergencies, quiet hours, start times, slots, arrival, default content, withdrawal."""

from datetime import datetime
from zoneinfo import ZoneInfo

from device_agent.planner import Planner, PlanState, volume_percent
from tests.agent.helpers import item, ref

VN = ZoneInfo("Asia/Ho_Chi_Minh")
AUDIO = ref(b"audio")


def at(hhmm: str, day: int = 23) -> float:
    h, m = hhmm.split(":")
    return datetime(2026, 11, day, int(h), int(m), tzinfo=VN).timestamp()


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, VN).isoformat()


def planner(**kw) -> Planner:
    args = {"medium": "audio", "tz": VN, "slots": ["06:00", "17:00"], "default_every": 1800.0,
            "late_tolerance": 900.0}
    return Planner(**{**args, **kw})


def doc(items, **kw) -> dict:
    return {"items": items, "withdrawn": kw.get("withdrawn", []), "default_content": kw.get("default", []),
            "quiet_hours": kw.get("quiet", []), "volume_profile": kw.get("volume", []),
            "window": {"from": "2026-11-20T00:00:00Z", "until": "2026-12-31T00:00:00Z"}}


def run(p: Planner, schedule: dict, state: PlanState, now: float, duration: float = 60.0) -> str | None:
    choice, _ = p.choose(schedule, state, now)
    if choice is None:
        return None
    p.record(choice, state, now, now + duration)
    return f"{choice.trigger}:{choice.item['item_id']}"


def test_new_bulletin_plays_on_arrival_then_at_each_slot_priority_first() -> None:
    p, state = planner(), PlanState()
    s = doc([item("normal", audio=AUDIO), item("prio", audio=AUDIO, priority="uu_tien")])
    now = at("09:00")
    assert [run(p, s, state, now), run(p, s, state, now + 60), run(p, s, state, now + 120)] == \
        ["schedule:prio", "schedule:normal", None]
    assert run(p, s, state, at("16:59")) is None
    _, wake = p.choose(s, state, at("16:59"))
    assert wake == at("17:00")  # the loop sleeps exactly until the slot
    assert run(p, s, state, at("17:00")) == "schedule:prio"
    assert run(p, s, state, at("17:01")) == "schedule:normal"
    assert run(p, s, state, at("05:59", day=24)) is None
    assert run(p, s, state, at("06:10", day=24)) == "schedule:prio"  # within the late tolerance
    run(p, s, state, at("06:11", day=24))
    assert run(p, s, state, at("17:30", day=24)) is None  # a slot missed by more than 15 min is skipped


def test_emergency_interrupts_repeats_until_expiry_then_the_schedule_resumes() -> None:
    p, state = planner(default_every=0.0), PlanState()
    start = at("10:00")
    e = item("e", audio=AUDIO, kind="emergency", priority="khan_cap", repeat=600, expires_at=iso(start + 1500))
    default = item("d", audio=AUDIO)
    s = doc([e], default=[default])
    plays = [run(p, s, state, t) for t in (start, start + 60, start + 600, start + 1200, start + 1500)]
    assert plays == ["emergency:e", "default:d", "emergency:e", "emergency:e", "default:d"]
    assert sum(x == "emergency:e" for x in plays) == 3


def test_quiet_hours_silence_everything_but_emergencies_and_volume_follows_the_profile() -> None:
    p, state = planner(default_every=0.0), PlanState()
    quiet = [{"from": "22:00", "to": "05:00"}]
    e = item("e", audio=AUDIO, kind="emergency", priority="khan_cap", expires_at=iso(at("23:30") + 3600))
    s = doc([item("n", audio=AUDIO)], default=[item("d", audio=AUDIO)], quiet=quiet)
    assert run(p, s, state, at("23:00")) is None
    assert run(p, doc([e, item("n", audio=AUDIO)], quiet=quiet), state, at("23:30")) == "emergency:e"
    assert run(p, s, state, at("05:00", day=24)) == "schedule:n"  # arrived at night, plays in the morning
    vol = [{"from": "05:00", "to": "22:00", "percent": 80}, {"from": "22:00", "to": "05:00", "percent": 30}]
    assert volume_percent(doc([], volume=vol), at("12:00"), VN) == 80
    assert volume_percent(doc([], volume=vol), at("02:00"), VN) == 30
    assert volume_percent(doc([]), at("02:00"), VN) == 100


def test_timed_items_play_at_their_start_once_and_not_when_too_late() -> None:
    p, state = planner(slots=[]), PlanState()
    prog = item("p", audio=AUDIO, kind="program", starts_at=iso(at("06:00")))
    s = doc([prog])
    assert run(p, s, state, at("05:59")) is None
    _, wake = p.choose(s, state, at("05:59"))
    assert wake == at("06:00")
    assert run(p, s, state, at("06:00")) == "schedule:p"
    assert run(p, s, state, at("06:05")) is None
    assert run(planner(slots=[]), s, PlanState(), at("06:30")) is None  # 30 min late: skipped


def test_withdrawn_and_stopped_items_never_play_and_missing_files_wait() -> None:
    p, state = planner(), PlanState()
    a, b = item("a", audio=AUDIO), item("b", audio=AUDIO)
    s = doc([a, b], withdrawn=[a["manifest_hash"]])
    choice, _ = p.choose(s, state, at("09:00"), available=lambda i: i["item_id"] != "b")
    assert choice is None  # a is withdrawn, b is not cached yet
    assert run(p, s, state, at("09:01")) == "schedule:b"  # b's file arrived
    state.stopped.append("e")
    e = item("e", audio=AUDIO, kind="emergency", priority="khan_cap", expires_at=iso(at("12:00")))
    assert run(p, doc([e]), state, at("09:02")) is None


def test_default_content_rotates_when_idle_and_board_mode_needs_slides() -> None:
    p, state = planner(default_every=600.0), PlanState()
    s = doc([], default=[item("d1", audio=AUDIO), item("d2", audio=AUDIO)])
    t = at("09:00")
    assert [run(p, s, state, t), run(p, s, state, t + 100), run(p, s, state, t + 700),
            run(p, s, state, t + 1400)] == ["default:d1", None, "default:d2", "default:d1"]
    board = planner(medium="slides")
    s2 = doc([item("audio-only", audio=AUDIO), item("slides", slides=[ref(b"png", "png")])])
    assert run(board, s2, PlanState(), t) == "schedule:slides"


def test_state_round_trips_through_json() -> None:
    import json

    p, state = planner(), PlanState()
    run(p, doc([item("a", audio=AUDIO)]), state, at("09:00"))
    again = PlanState.from_json(json.loads(json.dumps(state.to_json())))
    assert again == state and run(p, doc([item("a", audio=AUDIO)]), again, at("09:10")) is None
