"""Pure rules of the device protocol and the delivery queue (no I/O)."""

import random
import uuid
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest

from domain.cap import CAP_NS, CapAlert, CapInfo, build_cap
from domain.deliveries import backoff_delay
from domain.devices import (
    DeviceStatus,
    emergency_document,
    etag_matches,
    file_name,
    is_safe_file_name,
    message_expiry_s,
    parse_ack,
    parse_inventory,
    parse_playlogs,
    parse_registration,
    request_message,
    schedule_body,
    schedule_etag,
    transition_device,
    verify_request,
    window_start,
)
from domain.errors import InvalidInput, InvalidTransition
from domain.feeds import FeedEntry, json_feed, rss_feed
from domain.payloads import package_payload, retraction_payload
from domain.signatures import SignatureInvalid, b64, generate_key, sign_bytes

NOW = datetime(2026, 11, 23, 9, 41, 7, tzinfo=UTC)
SHA = "ab" * 32


@pytest.mark.parametrize("name", ["../etc/passwd", f"{SHA}.mp3/../x", f"../{SHA}.mp3", f"{SHA}", f"{SHA}.MP3",
                                  f"a/{SHA}.mp3", f"{SHA[:-1]}.mp3", f"{SHA}.mp3\x00", ".."])
def test_unsafe_file_names_are_refused(name: str) -> None:
    assert not is_safe_file_name(name)


def test_file_names_come_from_the_content_hash() -> None:
    assert file_name(SHA, f"objects/ab/{SHA}.mp3") == f"{SHA}.mp3"
    assert is_safe_file_name(file_name(SHA, f"objects/ab/{SHA}.mp3"))
    with pytest.raises(InvalidInput):
        file_name(SHA, "objects/x/evil.m/p3")


def test_request_signature_binds_method_path_time_and_body() -> None:
    key = generate_key()
    ts = str(int(NOW.timestamp()))
    sig = sign_bytes(key, request_message("PUT", "/device/v1/inventory", ts, b'{"a":1}'))
    ok = dict(method="PUT", path_with_query="/device/v1/inventory", timestamp=ts, body=b'{"a":1}', signature_b64=sig,
              now=NOW, skew_s=300)
    verify_request(key.public, **ok)  # type: ignore[arg-type]
    for change in ({"method": "POST"}, {"path_with_query": "/device/v1/inventory?x=1"}, {"body": b'{"a":2}'},
                   {"now": NOW + timedelta(seconds=301)}, {"timestamp": "soon"}):
        with pytest.raises(SignatureInvalid):
            verify_request(key.public, **{**ok, **change})  # type: ignore[arg-type]
    with pytest.raises(SignatureInvalid):
        verify_request(generate_key().public, **ok)  # type: ignore[arg-type]


def test_registration_is_validated() -> None:
    good = {"hardware_id": "rpi-0001", "public_key": b64(generate_key().public), "name": "Loa thôn 3",
            "area_code": "29377", "kind": "speaker"}
    assert parse_registration(good).area_code == "29377"
    for field, value in (("hardware_id", "../x"), ("public_key", "bm90LWEta2V5"), ("area_code", "abc"),
                         ("kind", "radio")):
        with pytest.raises(InvalidInput, match=field):
            parse_registration({**good, field: value})


def test_device_states() -> None:
    assert transition_device(DeviceStatus.PENDING, DeviceStatus.AUTHORISED) is DeviceStatus.AUTHORISED
    assert transition_device(DeviceStatus.REVOKED, DeviceStatus.AUTHORISED) is DeviceStatus.AUTHORISED
    with pytest.raises(InvalidTransition):
        transition_device(DeviceStatus.AUTHORISED, DeviceStatus.PENDING)


def test_etag_ignores_time_and_signature_but_not_content() -> None:
    body = schedule_body(device_id=7, area_code="29377", start=window_start(NOW), end=window_start(NOW) +
                         timedelta(hours=48), items=[{"item_id": "a"}], withdrawn=["x", "x"], default_content=[],
                         quiet_hours=[], volume_profile=[])
    assert body["window"]["from"] == "2026-11-23T09:00:00Z" and body["withdrawn"] == ["x"]
    etag = schedule_etag(body)
    assert schedule_etag({**body, "generated_at": "later", "signature": {}, "etag": "old"}) == etag
    assert schedule_etag({**body, "items": []}) != etag
    assert schedule_etag({**body, "device_id": 8}) != etag
    assert etag_matches(f'"{etag}"', etag) and etag_matches(etag, etag) and etag_matches(f'W/"{etag}", "x"', etag)
    assert not etag_matches(None, etag) and not etag_matches('"other"', etag)


def test_play_log_batches_are_validated_whole() -> None:
    entry = {"log_id": str(uuid.uuid4()), "item_id": "abc.vi", "manifest_hash": SHA,
             "started_at": "2026-11-23T06:00:00+07:00", "ended_at": "2026-11-23T06:01:00+07:00", "completed": True,
             "trigger": "schedule"}
    parsed = parse_playlogs({"entries": [entry]})
    assert parsed[0].started_at == datetime(2026, 11, 22, 23, 0, tzinfo=UTC)
    for bad in ({"log_id": "1"}, {"started_at": "2026-11-23T06:00:00"}, {"ended_at": "2026-11-23T05:00:00+07:00"},
                {"completed": "yes"}, {"manifest_hash": "abc"}, {"item_id": "../x"}):
        with pytest.raises(InvalidInput):
            parse_playlogs({"entries": [entry, {**entry, **bad}]})
    with pytest.raises(InvalidInput, match="at most 500"):
        parse_playlogs({"entries": [entry] * 501})


def test_inventory_and_ack_bodies() -> None:
    inv = parse_inventory({"files": [SHA, SHA], "free_bytes": 10, "playing": None, "agent_version": "1"})
    assert inv.files == (SHA,)
    with pytest.raises(InvalidInput, match="free_bytes"):
        parse_inventory({"files": [], "free_bytes": -1})
    with pytest.raises(InvalidInput, match="channel"):
        parse_ack({"manifest_hash": SHA, "item_id": "a.vi", "received_at": NOW.isoformat(), "channel": "sms"})


def test_emergency_message_and_expiry() -> None:
    doc = emergency_document(action="play", items=[{"item_id": "a.vi"}, {"item_id": "a.km"}], issued_at=NOW)
    assert doc["item"] == {"item_id": "a.vi"} and len(doc["items"]) == 2 and doc["schema"] == "bantin.emergency/1"
    with pytest.raises(InvalidInput):
        emergency_document(action="pause", items=[{}], issued_at=NOW)
    assert message_expiry_s(NOW + timedelta(minutes=30), NOW) == 1800
    assert message_expiry_s(NOW - timedelta(minutes=1), NOW) == 1


def test_backoff_doubles_with_jitter_and_a_cap() -> None:
    assert backoff_delay(0, 2.0) == 0.0
    assert [backoff_delay(n, 2.0, rand=0.5) for n in (1, 2, 3, 4)] == [2.0, 4.0, 8.0, 16.0]
    assert backoff_delay(20, 2.0, rand=0.5) == 300.0
    rng = random.Random(7)
    spread = {round(backoff_delay(3, 2.0, rand=rng.random()), 3) for _ in range(50)}
    assert len(spread) > 40 and min(spread) >= 4.0 and max(spread) <= 12.0


def test_payloads_carry_routing_fields() -> None:
    manifest = {"priority": "uu_tien", "areas": ["29377"], "embargo_at": None, "expires_at": "2026-12-01T00:00:00Z",
                "variants": [{"language": "vi", "assets": [{"key": "k1", "kind": "audio", "media_type": "audio/mpeg",
                                                            "size": 3, "sha256": SHA}]}]}
    p = package_payload(manifest_hash=SHA, manifest=manifest, asset_urls={"k1": "http://x/k1"}, idempotency_key="i")
    assert (p["priority"], p["areas"], p["valid_until"]) == ("uu_tien", ["29377"], "2026-12-01T00:00:00Z")
    assert p["assets"] == [{"key": "k1", "language": "vi", "kind": "audio", "media_type": "audio/mpeg", "size": 3,
                            "sha256": SHA, "url": "http://x/k1"}]
    assert retraction_payload(manifest_hash=SHA, action="kill", reason="r", retracted_at="t",
                              idempotency_key="i")["action"] == "kill"
    with pytest.raises(ValueError):
        retraction_payload(manifest_hash=SHA, action="pause", reason="", retracted_at="t", idempotency_key="i")


def test_cap_refuses_incomplete_alerts() -> None:
    base = CapAlert(identifier="x", sender="s", sent=NOW, priority="khan_cap", msg_type="Alert",
                    effective=None, expires=NOW, areas=(("29377", "Đa Lộc"),),
                    infos=(CapInfo("vi-VN", "Lũ", "Sơ tán", sender_name="UBND"),))
    root = ET.fromstring(build_cap(base).encode())
    assert root.findtext(f"{{{CAP_NS}}}sent") == "2026-11-23T09:41:07-00:00"  # CAP 1.2: UTC is -00:00
    assert root.findtext(f"{{{CAP_NS}}}info/{{{CAP_NS}}}event") == "Cảnh báo khẩn cấp"
    for change in ({"infos": ()}, {"areas": ()}, {"msg_type": "Cancel"}, {"priority": "x"}):
        with pytest.raises(InvalidInput):
            build_cap(CapAlert(**{**base.__dict__, **change}))


def test_feeds_shape() -> None:
    e = FeedEntry(id="a.vi", title="Tin", text="Nội dung", language="vi", priority="thuong", published_at=NOW,
                  expires_at=None, audio_url="http://x/a.mp3", audio_type="audio/mpeg", audio_size=3,
                  audio_sha256=SHA, manifest_hash=SHA)
    doc = json_feed(title="T", home_url="http://x", feed_url="http://x/f.json", entries=[e])
    assert doc["items"][0]["attachments"][0]["size_in_bytes"] == 3
    rss = ET.fromstring(rss_feed(title="T", link="http://x", description="d", entries=[e]).encode())
    assert rss.find("channel/item/enclosure").get("url") == "http://x/a.mp3"  # type: ignore[union-attr]
    assert "content_html" not in doc["items"][0] and rss.find("channel/item/comments") is None  # no link given


def test_feed_items_link_the_feedback_page_with_everything_escaped() -> None:
    e = FeedEntry(id="a.vi", title="Tin", text="Đoạn <b>một</b>\n\nĐoạn hai & ba", language="vi", priority="thuong",
                  published_at=NOW, expires_at=None, audio_url=None, audio_type=None, audio_size=None,
                  audio_sha256=None, manifest_hash=SHA, feedback_url="http://x/phan-anh/29377?ban-tin=4&a=\"b\"",
                  feedback_qr_url="http://x/phan-anh/29377/ma-qr.png?ban-tin=4")
    item = json_feed(title="T", home_url="http://x", feed_url="http://x/f.json", entries=[e])["items"][0]
    assert item["content_html"] == (
        "<p>Đoạn &lt;b&gt;một&lt;/b&gt;</p><p>Đoạn hai &amp; ba</p>"
        '<p><a href="http://x/phan-anh/29377?ban-tin=4&amp;a=&quot;b&quot;">'
        "Gửi phản ánh, kiến nghị về bản tin này</a></p>"
        '<p><img src="http://x/phan-anh/29377/ma-qr.png?ban-tin=4" width="240" height="240" '
        'alt="Mã QR gửi phản ánh, kiến nghị"></p>')
    assert item["_bantin"]["feedback_url"] == "http://x/phan-anh/29377?ban-tin=4&a=\"b\""
    rss = ET.fromstring(rss_feed(title="T", link="http://x", description="d", entries=[e]).encode())
    assert rss.findtext("channel/item/comments") == "http://x/phan-anh/29377?ban-tin=4&a=\"b\""
