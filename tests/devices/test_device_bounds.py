"""Attacks on the device API from issue 17 (item 5): a registration flood, play logs dated 9999-12-31,
play logs and acks for packages the device was never sent. Each is refused with a 4xx and
nothing is stored."""

import uuid
from datetime import UTC, datetime, timedelta

from services.runtime import session
from storage.repositories import devices as device_repo
from tests.devices.factory import DeviceClient, published_package
from tests.devices.test_device_api import authorised
from web.security import RateLimit


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def _entry(manifest: str, started: datetime, ended: datetime | None) -> dict:  # type: ignore[type-arg]
    return {"log_id": str(uuid.uuid4()), "item_id": f"{manifest[:16]}.vi", "manifest_hash": manifest,
            "started_at": started.isoformat(), "ended_at": ended.isoformat() if ended else None,
            "completed": True, "trigger": "schedule"}


def test_registration_flood_is_limited_per_client_and_overall(client) -> None:  # type: ignore[no-untyped-def]
    clock = FakeClock()
    client.app.state.registrations = RateLimit(3, 3600.0, clock=clock)
    client.app.state.registrations_all = RateLimit(5, 3600.0, clock=clock)
    answers = [DeviceClient.new(client).register().status_code for _ in range(5)]
    assert answers == [202, 202, 202, 429, 429]
    with session() as s:
        assert len(device_repo.list_devices(s)) == 3  # the refused ones stored nothing
    clock.t += 3600  # an hour later the client may register again
    assert DeviceClient.new(client).register().status_code == 202
    client.app.state.registrations = RateLimit(100, 3600.0, clock=clock)  # many clients: the overall cap holds
    results = [DeviceClient.new(client).register().status_code for _ in range(6)]
    assert results == [202] * 4 + [429] * 2


def test_play_logs_outside_the_window_are_refused(client) -> None:  # type: ignore[no-untyped-def]
    _, manifest = published_package(languages="vi")
    dev = authorised(client)
    now = datetime.now(UTC)
    for started, ended, field in [
        (now - timedelta(minutes=5), datetime(9999, 12, 31, tzinfo=UTC), "ended_at"),
        (datetime(1970, 1, 1, tzinfo=UTC), now, "started_at"),
        (now + timedelta(days=2), None, "started_at"),
    ]:
        resp = dev.request("POST", "/device/v1/playlogs", {"entries": [_entry(manifest, started, ended)]})
        assert resp.status_code == 422 and field in resp.json()["error"], resp.text
    ok = dev.request("POST", "/device/v1/playlogs",
                     {"entries": [_entry(manifest, now - timedelta(minutes=3), now - timedelta(minutes=2))]})
    assert ok.json() == {"accepted": 1, "duplicates": 0}
    late_ack = {"manifest_hash": manifest, "item_id": f"{manifest[:16]}.vi", "channel": "mqtt",
                "received_at": "9999-12-31T00:00:00+00:00"}
    assert dev.request("POST", "/device/v1/ack", late_ack).status_code == 422
    with session() as s:
        assert len(device_repo.play_logs(s, device_id=dev.device_id or 0)) == 1


def test_play_logs_and_acks_only_for_what_the_device_was_sent(client) -> None:  # type: ignore[no-untyped-def]
    _, ours = published_package(languages="vi", areas=("29377",))
    _, elsewhere = published_package(languages="vi", areas=("08",))  # Tuyên Quang: never sent to Đa Lộc
    _, province = published_package(languages="vi", areas=("84",))  # Trà Vinh: reaches Đa Lộc from above
    dev = authorised(client, area="29377")
    now = datetime.now(UTC)
    made_up = "ab" * 32
    for manifest in (elsewhere, made_up):
        batch = [_entry(ours, now - timedelta(minutes=2), now), _entry(manifest, now - timedelta(minutes=2), now)]
        resp = dev.request("POST", "/device/v1/playlogs", {"entries": batch})
        assert resp.status_code == 422 and "never sent to device" in resp.json()["error"]
        ack = {"manifest_hash": manifest, "item_id": f"{manifest[:16]}.vi", "channel": "poll",
               "received_at": now.isoformat()}
        assert dev.request("POST", "/device/v1/ack", ack).status_code == 422
    with session() as s:
        assert device_repo.play_logs(s, device_id=dev.device_id or 0) == []  # the whole batch was refused
    both = [_entry(ours, now - timedelta(minutes=2), now), _entry(province, now - timedelta(minutes=2), now)]
    assert dev.request("POST", "/device/v1/playlogs", {"entries": both}).json() == {"accepted": 2, "duplicates": 0}
