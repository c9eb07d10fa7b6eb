"""The device repository on SQLite and PostgreSQL: idempotent play logs and acks (INSERT ... ON CONFLICT)."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from domain.devices import Ack, DeviceKind, DeviceStatus, PlayEntry, PlayTrigger, Registration
from domain.errors import InvalidTransition
from domain.signatures import generate_key
from storage.db import make_engine, session_scope
from storage.migrate import upgrade
from storage.repositories import areas
from storage.repositories import devices as repo

pytestmark = pytest.mark.integration
NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def test_play_logs_and_acks_count_once(database_url: str) -> None:
    upgrade(database_url)
    engine = make_engine(database_url)
    with session_scope(engine) as s:
        areas.upsert_areas(s, areas.read_area_csv(seed=areas.LEGACY_SEED))
        dev = repo.add_device(s, Registration("hw-1", generate_key().public, "Loa", "29377", DeviceKind.SPEAKER))
        device_id = dev.id
        repo.set_device_status(s, dev, DeviceStatus.AUTHORISED, actor="admin")
        with pytest.raises(InvalidTransition):
            repo.set_device_status(s, dev, DeviceStatus.AUTHORISED, actor="admin")
    entries = [PlayEntry(str(uuid.uuid4()), "abc.vi", "ab" * 32, NOW + timedelta(minutes=n), None, True,
                         PlayTrigger.SCHEDULE) for n in range(3)]
    with session_scope(engine) as s:
        assert repo.add_play_logs(s, device_id, entries[:2], NOW) == 2
    with session_scope(engine) as s:
        assert repo.add_play_logs(s, device_id, entries, NOW) == 1
        assert len(repo.play_logs(s, device_id=device_id)) == 3
        ack = Ack("ab" * 32, "abc.vi", NOW, "mqtt")
        assert repo.add_ack(s, device_id, ack, NOW) is True
        assert repo.add_ack(s, device_id, Ack("ab" * 32, "abc.vi", NOW, "poll"), NOW) is False
        assert repo.acks_for(s, "ab" * 32)[device_id].channel == "mqtt"
    engine.dispose()
