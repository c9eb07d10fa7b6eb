"""Configuration, identity, clock, trusted keys and the play-log outbox (unit tests, no network)."""

import json
import os
import random
import stat
import threading
import time
from pathlib import Path

import pytest

from device_agent.agent import poll_wait
from device_agent.clock import Clock
from device_agent.config import ConfigError, load_config
from device_agent.identity import load_identity
from device_agent.planner import PlanState
from device_agent.playlog import BATCH, Outbox
from device_agent.state import load_plan
from device_agent.trust import TrustStore
from domain.signatures import b64, generate_key, sign_document

BASE = ["--server", "http://127.0.0.1:8000/", "--area-code", "29377"]


def test_flags_override_environment_which_overrides_the_toml_file(tmp_path: Path) -> None:
    toml = tmp_path / "agent.toml"
    toml.write_text('server = "http://toml:1"\narea_code = "29377"\npoll_interval = 30\nslots = ["07:00"]\n'
                    'trust = ["AAAA"]\nkind = "board"\n', encoding="utf-8")
    env = {"BANTIN_DEVICE_POLL_INTERVAL": "20", "BANTIN_DEVICE_MQTT_AREAS": "29377,847,84"}
    cfg, _ = load_config(["--config", str(toml), "--poll-interval", "5"], env)
    assert (cfg.server, cfg.poll_interval, cfg.kind, cfg.slots) == ("http://toml:1", 5.0, "board", ["07:00"])
    assert cfg.mqtt_areas == ["29377", "847", "84"]
    cfg, _ = load_config(["--config", str(toml)], env)
    assert cfg.poll_interval == 20.0
    cfg, _ = load_config(BASE + ["--trust", "K"], {})
    assert cfg.server == "http://127.0.0.1:8000" and cfg.mqtt_areas == ["29377"]  # commune only by default


@pytest.mark.parametrize(("extra", "message"), [
    ([], "--trust"),
    (["--trust", "K", "--slots", "25:00"], "HH:MM"),
    (["--trust", "K", "--timezone", "Mars/Base"], "time zone"),
    (["--trust", "K", "--mqtt", "tcp://x"], "mqtt://"),
    (["--trust", "K", "--hours", "500"], "1 and 168"),
])
def test_bad_configuration_names_the_option(extra: list[str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(BASE + extra, {})


def test_trust_file_accepts_pasted_keys_show_lines(tmp_path: Path) -> None:
    key = generate_key()
    f = tmp_path / "trust"
    f.write_text(f"# bantin keys show\n{key.key_id}  {b64(key.public)}  current\n", encoding="utf-8")
    cfg, _ = load_config(BASE + ["--trust-file", str(f)], {})
    assert cfg.trusted_keys_b64() == [b64(key.public)]
    assert TrustStore(cfg.trusted_keys_b64(), tmp_path).keys() == {key.key_id: key.public}


def test_identity_is_made_once_kept_private_and_bound_to_its_hardware_id(tmp_path: Path) -> None:
    first = load_identity(tmp_path / "s")
    again = load_identity(tmp_path / "s")
    assert again.key.private == first.key.private and again.hardware_id == first.hardware_id
    assert stat.S_IMODE(os.stat(tmp_path / "s" / "device.key").st_mode) == 0o600
    with pytest.raises(ValueError, match="belongs to hardware id"):
        load_identity(tmp_path / "s", hardware_id="another-box")


def test_clock_scale_offset_and_control_file(tmp_path: Path) -> None:
    control = tmp_path / "clock.json"
    clock = Clock(offset_s=-86400, scale=1.0, control_file=control)
    assert abs(clock.time() - (time.time() - 86400)) < 1
    control.write_text(json.dumps({"scale": 3600}), encoding="utf-8")
    before = clock.time()
    t0 = time.monotonic()
    assert clock.wait(1800, threading.Event()) is False  # half an hour of playout time in about half a second
    assert time.monotonic() - t0 < 2.0 and clock.time() - before >= 1800
    control.write_text(json.dumps({"scale": 1, "offset": 0}), encoding="utf-8")
    os.utime(control, ns=(time.time_ns(), time.time_ns() + 1000))
    assert abs(clock.time() - time.time()) < 1
    stop = threading.Event()
    stop.set()
    assert clock.wait(60, stop) is True


def test_rotated_key_is_learned_only_through_an_endorsement_by_a_trusted_key(tmp_path: Path) -> None:
    old, new, rogue = generate_key(), generate_key(), generate_key()
    trust = TrustStore([b64(old.public)], tmp_path)

    def entry(key, endorser):
        endorsement = sign_document(endorser, {"schema": "bantin.key/1", "key_id": key.key_id,
                                               "public_key": b64(key.public)})
        return {"key_id": key.key_id, "public_key": b64(key.public), "not_after": None, "endorsement": endorsement}

    assert trust.learn([entry(rogue, rogue)]) == []  # self-endorsed: refused
    forged = entry(rogue, old)
    forged["public_key"] = b64(generate_key().public)
    assert trust.learn([forged]) == []  # endorsement names another key
    assert trust.learn([entry(new, old)]) == [new.key_id]
    assert new.key_id in TrustStore([b64(old.public)], tmp_path).keys()  # persisted


def test_outbox_sends_in_batches_and_keeps_what_the_server_did_not_accept(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "outbox.sqlite3")
    for n in range(121):
        box.add_play(item_id=f"i{n}", manifest_hash="a" * 64, started_at="2026-11-23T00:00:00Z",
                     ended_at="2026-11-23T00:00:10Z", completed=True, trigger="schedule")
    sent: list[list[dict]] = []

    def failing_second(batch: list[dict]) -> None:
        sent.append(batch)
        if len(sent) == 2:
            raise ConnectionError("server went away")

    with pytest.raises(ConnectionError):
        box.flush_plays(failing_second, batch=50)
    assert box.pending_plays() == 71  # the first batch went, the second stays
    box.close()
    box = Outbox(tmp_path / "outbox.sqlite3")  # survives a restart
    resent: list[list[dict]] = []
    assert box.flush_plays(resent.append, batch=50) == 71
    assert [len(b) for b in sent] == [50, 50] and [len(b) for b in resent] == [50, 21]
    assert [e["log_id"] for e in resent[0]] == [e["log_id"] for e in sent[1]]  # same ids: idempotent re-send
    assert box.pending_plays() == 0 and BATCH == 500  # the protocol's limit per batch
    assert box.add_ack(item_id="e1", manifest_hash="b" * 64, received_at="x", channel="mqtt") is True
    assert box.add_ack(item_id="e1", manifest_hash="b" * 64, received_at="y", channel="poll") is False
    acks: list[dict] = []
    assert box.flush_acks(acks.append) == 1 and box.flush_acks(acks.append) == 0
    assert acks[0]["channel"] == "mqtt"


def test_an_entry_the_server_refuses_is_set_aside_instead_of_blocking_the_queue(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "outbox.sqlite3")
    for n in range(10):
        box.add_play(item_id="bad" if n == 6 else f"i{n}", manifest_hash="a" * 64, started_at="s", ended_at="e",
                     completed=True, trigger="schedule")
    accepted: list[str] = []

    def server(batch: list[dict]) -> None:
        if any(e["item_id"] == "bad" for e in batch):
            raise ValueError("422 entries[0]: ended_at before started_at")
        accepted.extend(e["item_id"] for e in batch)

    assert box.flush_plays(server, batch=4, rejected=(ValueError,)) == 9
    assert accepted == [f"i{n}" for n in range(10) if n != 6]  # order kept, nothing lost
    assert box.pending_plays() == 0 and box.rejected_plays() == 1


def test_a_clock_jump_wakes_a_planner_sleep_but_not_a_play(tmp_path: Path) -> None:
    control = tmp_path / "clock.json"
    clock = Clock(control_file=control)
    stop = threading.Event()
    woke: list[float] = []
    t = threading.Thread(target=lambda: woke.append(clock.wait(3600, stop, max_real=0.05, wake_on_jump=True)
                                                    or time.monotonic()))
    t0 = time.monotonic()
    t.start()
    time.sleep(0.1)
    control.write_text(json.dumps({"scale": 1, "offset": -3600}), encoding="utf-8")
    t.join(timeout=5)
    assert woke and woke[0] - t0 < 2  # re-planned at once instead of sleeping an hour
    control.write_text(json.dumps({"scale": 4, "offset": 7200}), encoding="utf-8")
    t0 = time.monotonic()
    assert clock.wait(0.8, stop, max_real=0.05) is False  # a play keeps its length across the jump
    assert 0.15 < time.monotonic() - t0 < 1.5


def test_a_stepped_system_clock_wakes_a_planner_sleep() -> None:
    # a box without a real-time clock boots with a stale time; NTP then steps it forward by hours
    clock = Clock()
    step = [0.0]
    clock._wall = lambda: time.time() + step[0]
    woke: list[float] = []
    t = threading.Thread(target=lambda: woke.append(clock.wait(3600, threading.Event(), max_real=0.05,
                                                               wake_on_jump=True) or time.monotonic()))
    t0 = time.monotonic()
    t.start()
    time.sleep(0.1)
    step[0] = 3 * 3600.0
    t.join(timeout=5)
    assert woke and woke[0] - t0 < 2  # re-planned at once, not an hour of real time later


def test_the_outbox_is_bounded_and_drops_the_oldest(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "outbox.sqlite3", max_queued=5)
    for n in range(8):
        box.add_play(item_id=f"i{n}", manifest_hash="a" * 64, started_at="s", ended_at="e", completed=True,
                     trigger="schedule")
    sent: list[list[dict]] = []
    assert box.pending_plays() == 5 and box.dropped == 3
    box.flush_plays(sent.append)
    assert [e["item_id"] for e in sent[0]] == ["i3", "i4", "i5", "i6", "i7"]  # the newest are kept


def test_unreadable_identity_files_are_set_aside_and_the_box_starts_again(tmp_path: Path) -> None:
    state = tmp_path / "s"
    first = load_identity(state, "hw-1")
    (state / "identity.json").write_text("{not json", encoding="utf-8")
    again = load_identity(state, "hw-1")
    assert again.key.private == first.key.private and again.hardware_id == "hw-1" and again.device_id is None
    assert [p.read_text(encoding="utf-8") for p in state.glob("identity.json.corrupt-*")] == ["{not json"]
    (state / "device.key").write_bytes(b"short")
    fresh = load_identity(state, "hw-1")
    assert fresh.key.private != first.key.private and len(fresh.key.private) == 32
    assert [p.read_bytes() for p in state.glob("device.key.corrupt-*")] == [b"short"]
    assert load_identity(state, "hw-1").key.private == fresh.key.private  # the new key is kept


def test_a_corrupt_outbox_is_set_aside_and_a_fresh_one_records_plays(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    box = Outbox(path)
    box.add_play(item_id="i", manifest_hash="a" * 64, started_at="s", ended_at="e", completed=True, trigger="schedule")
    assert box.pending_plays() == 1
    box.close()
    assert [p.read_bytes()[:22] for p in tmp_path.glob("outbox.sqlite3.corrupt-*")] == [b"this is not a database"]
    assert Outbox(path).pending_plays() == 1  # the fresh one is kept across restarts


def test_poll_waits_are_spread_around_the_interval() -> None:
    rng = random.Random(7)
    waits = [poll_wait(60.0, rng) for _ in range(500)]
    assert all(54.0 <= w <= 66.0 for w in waits)
    assert max(waits) - min(waits) > 10.0  # boxes started together drift apart


def test_unreadable_plan_and_learned_keys_are_set_aside(tmp_path: Path) -> None:
    (tmp_path / "plan.json").write_text("[1, 2", encoding="utf-8")
    (tmp_path / "learned-keys.json").write_text("[5]", encoding="utf-8")  # JSON, but not a key list
    assert load_plan(tmp_path) == PlanState()
    assert TrustStore([], tmp_path).keys() == {}
    names = sorted(p.name.split(".corrupt-")[0] for p in tmp_path.glob("*.corrupt-*"))
    assert names == ["learned-keys.json", "plan.json"]
