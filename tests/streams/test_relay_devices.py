"""A relay slot reaches two real device agents on time, an emergency preempts it on both and the relay
resumes, and both report the plays: real icecast2, a real upstream (ffmpeg sine), the real web app (device
API and Icecast's listener check), ``bantin-device`` processes with the null sink (which decodes the stream)."""

import base64
import os
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.agent.conftest import AgentProcess, wait_for
from tests.streams.test_relay_air import _slot, admin_user, real_package, slot_ahead

ON_TIME_S = 5.0  # audio flows on both boxes within this long after the slot's start


@pytest.mark.slow
def test_a_relay_reaches_two_devices_on_time_an_emergency_preempts_it_and_plays_are_logged(
        icecast: object, upstream: object, web_url: str, tmp_path: Path, record_property: Callable[..., None]) -> None:
    from domain.devices import DeviceStatus
    from services import devices, relay_air, signing
    from services.runtime import session
    from storage.models_devices import DeviceRecord, PlayLogRecord

    admin_user()
    station = upstream("/vov1.mp3")  # type: ignore[operator]
    starts, ends, day, start_at = slot_ahead()
    slot_id, _ = _slot(station, span=(starts, ends, day))
    key = base64.b64encode(signing.listed_keys()[0].public_key).decode()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BANTIN_")}
    env["PYTHONPATH"] = str(Path(__file__).parents[2])
    agents = [AgentProcess(f"loa-{n}", tmp_path / f"loa-{n}", ["--server", web_url, "--area-code", "29377",
                                                               "--kind", "speaker", "--trust", key,
                                                               "--poll-interval", "2", "--player", "null",
                                                               "--log-level", "INFO"], env) for n in (1, 2)]
    carrier = threading.Thread(target=relay_air.carry, args=(slot_id, day), daemon=True)
    try:
        for agent in agents:
            agent.start()

        def registered() -> list[int]:
            with session() as s:
                ids = [d.id for d in s.query(DeviceRecord).order_by(DeviceRecord.id)]
            return ids if len(ids) == 2 else []
        device_ids = wait_for(registered, 30, "both boxes to register")
        with session() as s:
            for device_id in device_ids:
                devices.authorise(s, device_id, username="admin")
        carrier.start()  # feeds the mount from 5 s before the slot to its end

        def streaming(agent: AgentProcess) -> float | None:
            stream = agent.status().get("stream") or {}
            return stream.get("connected_at") if stream.get("item_id") == f"relay-{slot_id}-{day}" else None
        for agent in agents:
            connected = wait_for(lambda a=agent: streaming(a), start_at - time.time() + 20,
                                 f"{agent.name} to hear the relay")
            assert start_at - 0.5 <= connected <= start_at + ON_TIME_S, (connected - start_at, agent.tail())
            record_property(f"{agent.name}_audio_after_start_s", round(connected - start_at, 2))

        # an emergency for the commune, published mid-slot: both boxes cut the relay, play it, then resume
        _, emergency = real_package(tmp_path, title="Cảnh báo lũ quét", priority="khan_cap",
                                    expires_at=datetime.now(UTC) + timedelta(minutes=10), frequency=1200)
        published = time.time()
        for agent in agents:
            wait_for(lambda a=agent: a.status().get("playing", "").startswith(emergency[:16]), 15,
                     f"{agent.name} to play the emergency")
        took = time.time() - published
        for agent in agents:
            wait_for(lambda a=agent: a.status().get("playing") == f"relay-{slot_id}-{day}", 20,
                     f"{agent.name} to resume the relay")
        carrier.join(timeout=start_at + 90 - time.time())
        assert not carrier.is_alive()

        def logged() -> dict[int, list[tuple[str, bool]]]:
            with session() as s:
                rows = s.query(PlayLogRecord).order_by(PlayLogRecord.device_id, PlayLogRecord.started_at).all()
            found: dict[int, list[tuple[str, bool]]] = {}
            for r in rows:
                found.setdefault(r.device_id, []).append((r.item_id, r.completed))
            done = all(len(v) == 3 for v in found.values()) and len(found) == 2
            return found if done else {}
        plays = wait_for(logged, 30, "both boxes to report three plays")
    finally:
        for agent in agents:
            agent.stop()
        carrier.join(timeout=90)
    relay = f"relay-{slot_id}-{day}"
    expected = [(relay, False), (f"{emergency[:16]}.vi", True), (relay, True)]
    assert plays == {device_ids[0]: expected, device_ids[1]: expected}, [a.tail() for a in agents]
    assert took < 10.0
    with session() as s:
        assert {DeviceStatus(d.status) for d in s.query(DeviceRecord)} == {DeviceStatus.AUTHORISED}
    record_property("emergency_reached_both_s", round(took, 1))
