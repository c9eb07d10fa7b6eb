"""The device API end to end in process: register, authorise, signed schedule with ETag/304, files with
Range, inventory, idempotent play logs, acks, and the refusals (bad signature, stale clock, revoked)."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from domain.devices import is_safe_file_name
from domain.errors import DomainError, InvalidInput
from domain.packages import PackageStatus
from domain.signatures import SignatureInvalid, generate_key, unb64, verify_document
from services import device_schedule, signing
from services import devices as device_service
from services.runtime import session
from storage.repositories import audit as audit_repo
from storage.repositories import devices as device_repo
from tests.devices.factory import DeviceClient, published_package, sha

pytestmark = pytest.mark.integration


def trusted() -> dict[str, bytes]:
    return {k["key_id"]: unb64(k["public_key"]) for k in signing.keys_document()["keys"]}


def authorised(client, area: str = "29377", kind: str = "speaker") -> DeviceClient:  # type: ignore[no-untyped-def]
    dev = DeviceClient.new(client)
    assert dev.register(area, kind).status_code == 202
    with session() as s:
        device_service.authorise(s, dev.device_id or 0, username="admin")
    return dev


def test_registration_is_idempotent_and_a_second_key_conflicts(client) -> None:  # type: ignore[no-untyped-def]
    dev = DeviceClient.new(client)
    first = dev.register()
    assert first.status_code == 202 and first.json()["status"] == "pending"
    assert dev.register().json()["device_id"] == first.json()["device_id"]
    assert dev.register(key=generate_key()).status_code == 409
    assert client.post("/device/v1/register", json={"hardware_id": "x"}).status_code == 422
    # A pending device is known but not yet allowed.
    assert dev.request("GET", "/device/v1/schedule").status_code == 403
    with session() as s, pytest.raises(Exception, match="not an admin"):
        device_service.authorise(s, dev.device_id or 0, username="demo-editor")


def test_schedule_is_signed_lists_files_and_answers_304_until_something_changes(client) -> None:  # type: ignore[no-untyped-def]
    pkg_id, manifest = published_package(languages="vi,km")
    published_package(title="Ở tỉnh khác", areas=("08",))  # Tuyên Quang: not for a device in Trà Vinh
    dev = authorised(client)
    resp = dev.request("GET", "/device/v1/schedule")
    assert resp.status_code == 200
    doc = resp.json()
    assert verify_document(doc, trusted()) == signing.current_key().key_id
    assert resp.headers["ETag"].strip('"') == doc["etag"]
    assert doc["schema"] == "bantin.schedule/1" and doc["device_id"] == dev.device_id
    until = datetime.fromisoformat(doc["window"]["until"].replace("Z", "+00:00"))
    start = datetime.fromisoformat(doc["window"]["from"].replace("Z", "+00:00"))
    assert until - start == timedelta(hours=48)
    assert [(i["manifest_hash"], i["language"]) for i in doc["items"]] == [(manifest, "km"), (manifest, "vi")] or \
        sorted((i["manifest_hash"], i["language"]) for i in doc["items"]) == [(manifest, "km"), (manifest, "vi")]
    item = doc["items"][0]
    assert item["slides"] == []  # a loudspeaker gets no board slides
    assert is_safe_file_name(item["audio"]["name"])
    assert item["audio"]["url"] == f"http://bantin.test/device/v1/files/{item['audio']['sha256']}"

    # Download with a resume: the first 100 bytes, then the rest with Range.
    path = item["audio"]["url"].removeprefix("http://bantin.test")
    whole = dev.request("GET", path)
    assert whole.status_code == 200 and sha(whole.content) == item["audio"]["sha256"]
    assert len(whole.content) == item["audio"]["size"]
    tail = dev.request("GET", path, headers={"Range": "bytes=100-"})
    assert tail.status_code == 206 and whole.content[:100] + tail.content == whole.content
    assert dev.request("GET", f"/device/v1/files/{'0' * 64}").status_code == 404

    again = dev.request("GET", "/device/v1/schedule", headers={"If-None-Match": resp.headers["ETag"]})
    assert again.status_code == 304 and again.content == b""
    assert dev.request("GET", "/device/v1/schedule", headers={"If-None-Match": doc["etag"]}).status_code == 304

    # Withdrawal: the item leaves, its manifest is listed as withdrawn, and the ETag changes.
    with session() as s:
        from storage.repositories import packages

        packages.set_status(s, packages.get_package(s, pkg_id), PackageStatus.WITHDRAWN, actor="test")
    device_schedule.invalidate()
    changed = dev.request("GET", "/device/v1/schedule", headers={"If-None-Match": resp.headers["ETag"]})
    assert changed.status_code == 200
    assert changed.json()["items"] == [] and changed.json()["withdrawn"] == [manifest]
    assert dev.request("GET", path).status_code == 404  # no longer served


def test_boards_get_slides_and_the_window_follows_hours(client) -> None:  # type: ignore[no-untyped-def]
    published_package(languages="vi", slides=2)
    board = authorised(client, kind="board")
    doc = board.request("GET", "/device/v1/schedule?hours=6").json()
    assert len(doc["items"]) == 1 and len(doc["items"][0]["slides"]) == 2
    start = datetime.fromisoformat(doc["window"]["from"].replace("Z", "+00:00"))
    assert datetime.fromisoformat(doc["window"]["until"].replace("Z", "+00:00")) - start == timedelta(hours=6)
    assert board.request("GET", "/device/v1/schedule?hours=500").status_code == 422


def test_expired_and_embargoed_packages_stay_out_of_the_window(client) -> None:  # type: ignore[no-untyped-def]
    now = datetime.now(UTC)
    published_package(title="Đã hết hạn", languages="vi", expires_at=now - timedelta(hours=2))
    published_package(title="Ba ngày nữa", languages="vi", embargo_at=now + timedelta(hours=72))
    _, live = published_package(title="Trong cửa sổ", languages="vi", embargo_at=now + timedelta(hours=3))
    dev = authorised(client)
    items = dev.request("GET", "/device/v1/schedule").json()["items"]
    assert [i["manifest_hash"] for i in items] == [live]
    assert items[0]["starts_at"] is not None


def test_tampered_requests_are_refused(client) -> None:  # type: ignore[no-untyped-def]
    dev = authorised(client)
    ok = dev.headers("GET", "/device/v1/schedule")
    assert client.get("/device/v1/schedule", headers=ok).status_code == 200
    # Signed for another path, replayed from far in the past, no headers, or a key that is not the device's.
    assert client.get("/device/v1/schedule?hours=2", headers=ok).status_code == 401
    dev.clock_offset = -3600
    assert dev.request("GET", "/device/v1/schedule").status_code == 401
    dev.clock_offset = 0
    assert client.get("/device/v1/schedule").status_code == 401
    impostor = DeviceClient(client, generate_key(), dev.hardware_id, dev.device_id)
    assert impostor.request("GET", "/device/v1/schedule").status_code == 401
    # A body changed after signing.
    body = b'{"files": [], "free_bytes": 1, "playing": null, "agent_version": "t"}'
    h = dev.headers("PUT", "/device/v1/inventory", body)
    assert client.put("/device/v1/inventory", content=body.replace(b"1", b"2"), headers=h).status_code == 401
    assert client.put("/device/v1/inventory", content=body, headers=h).status_code == 204


def test_revoked_device_gets_403(client) -> None:  # type: ignore[no-untyped-def]
    dev = authorised(client)
    with session() as s:
        device_service.revoke(s, dev.device_id or 0, username="admin", reason="stolen")
    assert dev.request("GET", "/device/v1/schedule").status_code == 403


def test_a_box_that_lost_its_key_comes_back_only_after_an_admin_revokes_and_authorises_it(client) -> None:  # type: ignore[no-untyped-def]
    dev = authorised(client)
    device_id, old_key, new_key = dev.device_id, dev.key, generate_key()
    refused = dev.register(key=new_key)
    assert refused.status_code == 409 and f"revokes device {device_id}" in refused.json()["error"]
    with session() as s:
        device_service.revoke(s, device_id or 0, username="admin", reason="key lost")
    again = dev.register(key=new_key)
    assert again.status_code == 202 and again.json() == {"device_id": device_id, "status": "pending"}
    dev.key = new_key
    assert dev.request("GET", "/device/v1/schedule").status_code == 403  # pending: an admin must look first
    with session() as s:
        device_service.authorise(s, device_id or 0, username="admin")
        actions = [a.action for a in audit_repo.entries(s, entity="device", entity_id=device_id or 0)]
    assert dev.request("GET", "/device/v1/schedule").status_code == 200
    dev.key = old_key  # the lost key no longer speaks for the box
    assert dev.request("GET", "/device/v1/schedule").status_code == 401
    assert actions[-3:] == ["device.revoked", "device.rekeyed", "device.authorised"]


def test_inventory_play_logs_and_acks_are_recorded_once(client) -> None:  # type: ignore[no-untyped-def]
    _, manifest = published_package(languages="vi", priority="khan_cap")
    dev = authorised(client)
    inv = {"files": [sha(b"a")], "free_bytes": 1000, "playing": None, "agent_version": "0.1"}
    assert dev.request("PUT", "/device/v1/inventory", inv).status_code == 204
    assert dev.request("PUT", "/device/v1/inventory", {"files": ["../etc"]}).status_code == 422
    now = datetime.now(UTC)
    entries = [{"log_id": str(uuid.uuid4()), "item_id": f"{manifest[:16]}.vi", "manifest_hash": manifest,
                "started_at": (now - timedelta(minutes=n + 1)).isoformat(),
                "ended_at": (now - timedelta(minutes=n)).isoformat(), "completed": True,
                "trigger": "emergency"} for n in range(3)]
    first = dev.request("POST", "/device/v1/playlogs", {"entries": entries})
    assert first.json() == {"accepted": 3, "duplicates": 0}
    fresh = {**entries[0], "log_id": str(uuid.uuid4())}
    resent = dev.request("POST", "/device/v1/playlogs", {"entries": entries[1:] + [fresh]})
    assert resent.json() == {"accepted": 1, "duplicates": 2}
    bad = dev.request("POST", "/device/v1/playlogs", {"entries": [{**entries[0], "trigger": "bogus"}]})
    assert bad.status_code == 422 and "trigger" in bad.json()["error"]
    ack = {"manifest_hash": manifest, "item_id": f"{manifest[:16]}.vi", "received_at": now.isoformat(),
           "channel": "mqtt"}
    assert dev.request("POST", "/device/v1/ack", ack).status_code == 204
    assert dev.request("POST", "/device/v1/ack", ack).status_code == 204
    with session() as s:
        d = device_repo.get_device(s, dev.device_id or 0)
        assert d.last_inventory["files"] == [sha(b"a")] and d.agent_version == "0.1"
        assert len(device_repo.play_logs(s, device_id=d.id)) == 4
        assert list(device_repo.acks_for(s, manifest)) == [d.id]
        status = device_service.package_device_status(s, manifest, ["29377"])
        assert [(r["id"], r["plays"], r["channel"]) for r in status] == [(d.id, 4, "mqtt")]


def test_emergency_items_come_first_and_repeat(client) -> None:  # type: ignore[no-untyped-def]
    published_package(title="Thường", languages="vi")
    _, urgent = published_package(title="Lũ quét", languages="vi", priority="khan_cap")
    dev = authorised(client)
    items = dev.request("GET", "/device/v1/schedule").json()["items"]
    assert items[0]["manifest_hash"] == urgent and items[0]["kind"] == "emergency"
    assert items[0]["repeat_every_s"] > 0 and items[0]["expires_at"] is not None
    assert items[1]["kind"] == "package" and items[1]["repeat_every_s"] is None


def test_keys_rotation_lists_both_keys_with_an_endorsement(client) -> None:  # type: ignore[no-untyped-def]
    old = signing.current_key()
    first = client.get("/device/v1/keys").json()["keys"]
    assert [k["key_id"] for k in first] == [old.key_id] and first[0]["endorsement"] is None
    new = signing.rotate()
    listed = client.get("/device/v1/keys").json()["keys"]
    assert [k["key_id"] for k in listed] == [old.key_id, new.key_id]
    assert listed[0]["not_after"] is not None
    # A device that trusts only the old key can check the new one's endorsement.
    assert verify_document(listed[1]["endorsement"], {old.key_id: old.public}) == old.key_id
    forged = {**listed[1]["endorsement"], "public_key": listed[0]["public_key"]}
    with pytest.raises(SignatureInvalid):
        verify_document(forged, {old.key_id: old.public})
    assert signing.current_key().key_id == new.key_id
    # After the grace period the old key is no longer listed and its private half is gone.
    later = datetime.now(UTC) + timedelta(days=15)
    assert [e.key_id for e in signing.listed_keys(later)] == [new.key_id]
    signing.rotate(now=later)
    assert not (signing.keys_dir() / f"{old.key_id}.key").exists()


def test_default_content_is_inherited_ordered_and_drops_what_is_withdrawn(client) -> None:  # type: ignore[no-untyped-def]
    from services import default_content
    from storage.repositories import packages

    province, _ = published_package(title="Giới thiệu tỉnh", areas=("84",), languages="vi,km")
    commune, commune_manifest = published_package(title="Đường dây nóng xã", languages="vi")
    elsewhere, _ = published_package(title="Ở tỉnh khác", areas=("08",), languages="vi")
    alarm, _ = published_package(title="Bão khẩn cấp", languages="vi", priority="khan_cap")
    with session() as s:
        for ids, message in (([elsewhere], "not at 84"), ([alarm], "emergency"), ([99999], "no package"),
                             (list(range(11)), "at most 10")):
            with pytest.raises(DomainError, match=message):
                default_content.set_default_content(s, area_code="84", package_ids=ids, actor="admin")
        default_content.set_default_content(s, area_code="84", package_ids=[province], actor="admin")
    dev = authorised(client)  # in commune 29377, under province 84
    doc = dev.request("GET", "/device/v1/schedule").json()
    assert [(i["language"], i["starts_at"]) for i in doc["default_content"]] == [("km", None), ("vi", None)]
    assert all(i["item_id"].startswith("default-") and i["audio"]["sha256"] for i in doc["default_content"])

    with session() as s:  # the commune's own list wins over the province's, in the officer's order
        default_content.set_default_content(s, area_code="29377", package_ids=[commune, province, commune],
                                            actor="admin")
        assert default_content.default_packages(s, "29377") == ("29377", [commune, province])
        assert default_content.default_packages(s, "29380") == ("84", [province])  # a sibling commune inherits
    device_schedule.invalidate()  # as another node would see it after BANTIN_DEVICE_CACHE_S
    doc = dev.request("GET", "/device/v1/schedule").json()
    assert [i["manifest_hash"] == commune_manifest for i in doc["default_content"]] == [True, False, False]

    with session() as s:
        packages.set_status(s, packages.get_package(s, commune), PackageStatus.WITHDRAWN, actor="test")
    device_schedule.invalidate()
    doc = dev.request("GET", "/device/v1/schedule").json()
    assert len(doc["default_content"]) == 2 and commune_manifest not in {i["manifest_hash"]
                                                                      for i in doc["default_content"]}
    with session() as s, pytest.raises(InvalidInput, match="only published"):
        default_content.set_default_content(s, area_code="29377", package_ids=[commune], actor="admin")
