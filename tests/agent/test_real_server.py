"""Several ``bantin-device`` processes against the real web app (``bantin serve``), a real bulletin produced by
the real flows, and a real Mosquitto broker.

One scenario, in phases, because each phase starts from the state the last one left (as on a real box):
register -> authorise -> cache, verify and play -> offline for a simulated day -> back, backfill with no
duplicates -> an emergency over MQTT interrupts, repeats, expires, is acknowledged -> a tampered and a
path-traversal message are refused. The agents' playout clocks are driven through BANTIN_DEVICE_CLOCK_FILE
so a day passes in about 3 s; network timing stays real.
"""

import hashlib
import json
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from sqlalchemy import create_engine, text

from tests.agent.conftest import AgentProcess, Installation, free_port, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.flow, pytest.mark.slow]

HOURLY = [f"{h:02d}:00" for h in range(24)]
DAY = 86400.0


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


class Clock:
    """Writes the control file every agent's playout clock follows."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def set(self, scale: float, offset: float | None = None) -> None:
        spec: dict[str, float] = {"scale": scale}
        if offset is not None:
            spec["offset"] = offset
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(spec), encoding="utf-8")
        os.replace(tmp, self.path)


def utc(value: Any) -> datetime:
    """A time read back from the database (SQLite returns naive UTC strings)."""
    parsed = datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def query(home: Path, sql: str, **params: Any) -> list[Any]:
    engine = create_engine(f"sqlite:///{home / 'bantin.db'}")
    try:
        with engine.connect() as conn:
            return list(conn.execute(text(sql), params))
    finally:
        engine.dispose()


@dataclass
class Fleet:
    speakers: list[AgentProcess]
    board: AgentProcess
    kiosk: str
    clock: Clock


@pytest.fixture
def fleet(installation: Installation, mqtt_broker: tuple[str, int], tmp_path: Path) -> Iterator[Fleet]:
    """Two loudspeaker agents and one e-board agent for Xã Đa Lộc, playout clocks two days and an hour behind (the
    simulated offline day must stay in the past: the server refuses play logs from the future)."""
    host, port = mqtt_broker
    clock = Clock(tmp_path / "clock.json")
    env = {k: v for k, v in os.environ.items() if k != "BANTIN_HOME"}
    env["BANTIN_DEVICE_CLOCK_FILE"] = str(clock.path)
    common = ["--server", installation.server.url, "--area-code", "29377", "--trust", installation.trust_key,
              "--poll-interval", "0.5", "--time-scale", "60", "--clock-offset", str(-2 * DAY - 3600)]
    for slot in HOURLY:
        common += ["--slots", slot]
    speakers = [AgentProcess(f"loa-da-loc-{n}", tmp_path / f"agent{n}", common + [
        "--player", "null", "--mqtt", f"mqtt://{host}:{port}", "--mqtt-areas", "29377", "--mqtt-areas", "847",
        "--mqtt-areas", "84"], env) for n in (1, 2)]
    kiosk_port = free_port()
    board = AgentProcess("bang-tin-da-loc", tmp_path / "board", common + [
        "--kind", "board", "--slide-seconds", "300", "--kiosk-port", str(kiosk_port)], env)
    for p in [*speakers, board]:
        p.start()
    try:
        yield Fleet(speakers, board, f"http://127.0.0.1:{kiosk_port}", clock)
    finally:
        codes = [p.stop() for p in [*speakers, board]]
        assert codes == [0, 0, 0], f"agents did not stop cleanly on SIGTERM: {codes}"


@contextmanager
def logs_on_failure(fleet: Fleet, installation: Installation) -> Iterator[None]:
    """On a failure, show the tail of every agent's log and the server's."""
    try:
        yield
    except BaseException:
        for p in [*fleet.speakers, fleet.board]:
            sys.stderr.write(f"\n--- {p.name} ---\n{p.tail()}\n")
        sys.stderr.write(f"\n--- server ---\n{installation.server.tail()}\n")
        raise


def publish(host: str, port: int, topic: str, payload: bytes, *, retain: bool, expiry_s: int = 120) -> None:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"test-{time.monotonic_ns()}", protocol=mqtt.MQTTv5)
    client.connect(host, port)
    client.loop_start()
    props = Properties(PacketTypes.PUBLISH)
    props.MessageExpiryInterval = expiry_s
    info = client.publish(topic, payload, qos=1, retain=retain, properties=props)
    info.wait_for_publish(timeout=10)
    client.disconnect()
    client.loop_stop()


def test_agents_cache_play_backfill_and_obey_emergencies(installation: Installation, fleet: Fleet,
                                                         mqtt_broker: tuple[str, int]) -> None:
    with logs_on_failure(fleet, installation):
        scenario(installation, fleet, mqtt_broker)


def scenario(installation: Installation, fleet: Fleet, mqtt_broker: tuple[str, int]) -> None:
    procs, clock, board = fleet.speakers, fleet.clock, fleet.board
    home, server = installation.home, installation.server
    t0 = time.monotonic()

    def mark(phase: str) -> None:  # phase timings, shown with -s or on failure
        sys.stderr.write(f"{time.monotonic() - t0:6.1f} s  {phase}\n")

    # 1. Registration: pending until an admin authorises each device with the CLI.
    everyone = [*procs, board]
    all_ids = [wait_for(lambda p=p: p.status().get("device_id"), 30, f"{p.name} to register") for p in everyone]
    ids, board_id = all_ids[:2], all_ids[2]
    wait_for(lambda: all(p.status().get("status") == "pending" for p in everyone), 10, "403 pending")
    assert not any(p.status().get("files") for p in everyone)  # nothing before authorisation
    rows = query(home, "SELECT id, status, area_code, kind FROM devices ORDER BY id")
    assert [(r.id, r.status, r.area_code, r.kind) for r in rows] == [
        (i, "pending", "29377", "board" if i == board_id else "speaker") for i in sorted(all_ids)]
    # An admin authorises the first box with the CLI, the others through the service the CLI and the devices
    # page call (one CLI start-up is enough to show the operator's path; each costs seconds on 2 cores).
    assert "authorised" in server.cli("devices", "authorize", str(all_ids[0]), "--as", "admin")
    from services import devices as device_service
    from services.runtime import session

    with session() as s:
        for device_id in all_ids[1:]:
            device_service.authorise(s, device_id, username="admin")
    from flows.publish import publish_package

    assert publish_package(installation.package_id) == "published"

    mark("registered")
    # 2. Cache, verify, play, report.
    audio_name = f"{installation.audio_sha256}.mp3"
    for p in procs:
        wait_for(lambda p=p: audio_name in p.status().get("files", []), 30, f"{p.name} to cache the bulletin")
        data = (p.state / "files" / audio_name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == installation.audio_sha256
    speakers_sql = f"device_id IN ({ids[0]}, {ids[1]})"
    wait_for(lambda: query(home, f"SELECT count(DISTINCT device_id) FROM play_logs WHERE {speakers_sql}")[0][0] == 2,
             30, "both agents' first play to reach the server")
    first = query(home, f"SELECT manifest_hash, trigger, completed FROM play_logs WHERE {speakers_sql}")
    assert {(r.manifest_hash, r.trigger, r.completed) for r in first} == {(installation.manifest_hash, "schedule",
                                                                          True)}
    inventory = query(home, "SELECT last_inventory FROM devices WHERE kind = 'speaker'")
    assert all(installation.audio_sha256 in json.loads(r.last_inventory)["files"] for r in inventory)

    # The e-board shows the bulletin's slides on its kiosk page (verified files only), then reports the play.
    shown = wait_for(lambda: httpx.get(fleet.kiosk + "/state.json").json().get("slide"), 20, "a slide on the board")
    png = httpx.get(f"{fleet.kiosk}/slides/{shown}").content
    assert png.startswith(b"\x89PNG") and hashlib.sha256(png).hexdigest() == shown.split(".")[0]
    assert not (board.state / "files" / audio_name).exists()  # a board fetches slides, not audio
    wait_for(lambda: query(home, "SELECT trigger FROM play_logs WHERE device_id = :d", d=board_id), 40,
             "the board's play log")
    assert board.stop() == 0

    mark("played")
    # 3. Offline for a simulated day: the server stops, the agents keep playing from their cache.
    server.stop()
    clock.set(scale=28800)  # 24 h of playout time in 3 s
    wait_for(lambda: all(p.status().get("online") is False for p in procs), 10, "agents to notice")
    time.sleep(3.3)
    # Real speed, 20 minutes before the last hour boundary: no slot falls in the next phases.
    clock.set(scale=1, offset=time.time() - time.time() % 3600 - 1200 - time.time())
    offline = [wait_for(lambda p=p: p.status() if p.status().get("pending_logs", 0) >= 12
                        and p.status().get("playing") is None else None, 20,
                        f"{p.name} to queue a day of plays and finish the current one") for p in procs]

    mark("offline day done")
    # 4. Back online: the queue is uploaded, every play exactly once.
    server.start()
    for p in procs:
        wait_for(lambda p=p: p.status().get("online") and p.status().get("pending_logs") == 0, 30,
                 f"{p.name} to backfill")
    for p, device_id, before in zip(procs, ids, offline, strict=True):
        total, distinct, first_at, last_at = query(
            home, "SELECT count(*), count(DISTINCT log_id), min(started_at), max(started_at) FROM play_logs "
                  "WHERE device_id = :d", d=device_id)[0]
        assert total == distinct == p.status()["plays"] >= before["pending_logs"] + 1
        span = utc(last_at) - utc(first_at)
        assert span.total_seconds() > 0.75 * DAY  # the plays are spread over the simulated day

    mark("backfilled")
    # 5. Emergency (khẩn cấp) through the real publish flow, which pushes it over MQTT: it interrupts the bulletin
    #    playing at a slot, repeats every repeat_every_s, is acknowledged, and after it expires the agents revert
    #    on their own.
    from flows.publish import publish_package
    from services import signing

    schedule = json.loads((procs[0].state / "schedule.json").read_text(encoding="utf-8"))["schedule"]
    bulletin = schedule["items"][0]
    slot = time.time() - time.time() % 3600  # an hour boundary: a slot in Vietnam's time too (UTC+7)
    clock.set(scale=2, offset=slot - 2 - time.time())
    wait_for(lambda: all(p.status().get("playing") == bulletin["item_id"] for p in procs), 15,
             "the bulletin to start at the slot")
    host, port = mqtt_broker
    emergency_item = f"{installation.emergency_hash[:16]}.vi"
    try:
        assert publish_package(installation.emergency_id) == "published"
        wait_for(lambda: all(p.status().get("emergencies") == [emergency_item] for p in procs), 15,
                 "the emergency to reach both agents")
        assert all("EMERGENCY via mqtt" in p.log.read_text(encoding="utf-8") for p in procs)
        wait_for(lambda: len(query(home, "SELECT 1 FROM emergency_acks WHERE manifest_hash = :h",
                                   h=installation.emergency_hash)) == 2, 10, "both acknowledgements")
        clock.set(scale=60)  # the 30 s repeat in half a second

        def emergency_logs(device_id: int) -> list[Any]:
            return query(home, "SELECT started_at, ended_at, completed FROM play_logs WHERE device_id = :d AND "
                               "item_id = :i AND trigger = 'emergency' ORDER BY started_at", d=device_id,
                         i=emergency_item)
        for device_id in ids:
            wait_for(lambda d=device_id: len(emergency_logs(d)) >= 2, 20, "the emergency to repeat")
        expires = installation.emergency_expires.timestamp()
        mark("emergency repeated; time passes until it expires")
        clock.set(scale=16, offset=expires - 3 - time.time())
        for p in procs:
            wait_for(lambda p=p: p.status().get("emergencies") == [] and p.status().get("pending_logs") == 0
                     and p.status().get("playing") is None, 20, f"{p.name} to revert after expiry")
        for device_id in ids:
            cut = query(home, "SELECT started_at, ended_at FROM play_logs WHERE device_id = :d AND item_id = :i AND "
                              "completed = 0 AND trigger = 'schedule'", d=device_id, i=bulletin["item_id"])
            plays = emergency_logs(device_id)
            first = utc(plays[0].started_at)
            assert any(abs(utc(c.started_at).timestamp() - slot) < 5 and utc(c.ended_at) <= first
                       for c in cut)  # interrupted at once
            assert len(plays) >= 2
            assert all(utc(r.started_at).timestamp() < expires for r in plays)  # nothing started after expiry

        # 6. A tampered message and a validly signed one with a path-traversal file name are refused.
        mark("emergency done")
        refused_before = [p.status().get("mqtt_refused", 0) for p in procs]
        item = {**bulletin, "kind": "emergency", "priority": "khan_cap", "expires_at": iso(time.time() + DAY)}
        message = signing.sign({"schema": "bantin.emergency/1", "action": "play", "item": item, "items": [item],
                                "issued_at": iso(time.time())})
        tampered = {**message, "item": {**item, "item_id": "gia-mao.vi"}, "items": [{**item, "item_id": "gia-mao.vi"}]}
        traversal_item = {**item, "item_id": "duong-dan.vi", "audio": {**item["audio"],
                                                                      "name": "../../../../tmp/bantin-evil.mp3"}}
        traversal = signing.sign({**message, "item": traversal_item, "items": [traversal_item]})
        for payload in (tampered, traversal):
            publish(host, port, "bantin/v1/area/84/emergency", json.dumps(payload).encode(), retain=False)
        for p, before in zip(procs, refused_before, strict=True):
            wait_for(lambda p=p, before=before: p.status().get("mqtt_refused", 0) >= before + 2, 10,
                     f"{p.name} to refuse both")
            assert p.status()["emergencies"] == []
            assert not list(p.state.rglob("*evil*")) and not Path("/tmp/bantin-evil.mp3").exists()
    finally:
        publish(host, port, "bantin/v1/area/29377/emergency", b"", retain=True)  # clear the retained alert

    # 7. Withdrawal reaches the agents at their next poll: the bulletin's file is deleted, it never plays again.
    mark("refusals done")
    from services.approvals import withdraw_package

    with session() as s:
        withdraw_package(s, package_id=installation.package_id, username="demo-approver",
                         reason="Sai ngày tiêm, sẽ phát bản đính chính")
    for p in procs:
        wait_for(lambda p=p: audio_name not in p.status().get("files", [audio_name]), 15, f"{p.name} to drop it")
        stored = json.loads((p.state / "schedule.json").read_text(encoding="utf-8"))["schedule"]
        assert installation.manifest_hash in stored["withdrawn"]
        assert all(i["manifest_hash"] != installation.manifest_hash for i in stored["items"])
    mark("withdrawal done")

    # 8. A revoked box is shut out (403) and drops its schedule; the other one carries on.
    with session() as s:
        device_service.revoke(s, ids[1], username="admin", reason="Hộp phát bị mất")
    wait_for(lambda: procs[1].status().get("status") == "revoked" and procs[1].status().get("items") == 0, 10,
             "the revoked box to stop using its schedule")
    assert not (procs[1].state / "schedule.json").exists() and procs[0].status()["status"] == "authorised"
