"""Device admin pages, the dead-letter queue with resend, the package page's device block, the public feeds
and the CAP 1.2 export."""

import io
import re
import uuid
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import zxingcpp
from PIL import Image

from domain.cap import CAP_NS
from domain.deliveries import DeliveryStatus, DestinationKind
from domain.errors import InvalidInput
from domain.packages import PackageStatus
from services.emergency import cap_xml
from services.runtime import object_store, session
from storage.repositories import destinations, outbox, packages
from tests.devices.conftest import ADMIN_PASSWORD
from tests.devices.factory import DeviceClient, published_package, sha

pytestmark = pytest.mark.integration


def csrf_of(html: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    assert m, "no CSRF token on the page"
    return m.group(1)


def login(client: Any) -> str:
    token = csrf_of(client.get("/login").text)
    resp = client.post("/login", data={"username": "admin", "password": ADMIN_PASSWORD, "csrf": token},
                       follow_redirects=False)
    assert resp.status_code == 303
    return csrf_of(client.get("/devices").text)


def test_admin_authorises_a_device_and_sees_its_play_log(client: Any) -> None:
    package_id, manifest = published_package(languages="vi", priority="khan_cap")
    dev = DeviceClient.new(client)
    dev.register()
    assert client.get("/devices", follow_redirects=False).status_code == 303  # sign in first
    token = login(client)
    page = client.get("/devices?status=pending").text
    assert f'id="device-{dev.device_id}"' in page and "Chờ cấp phép" in page
    resp = client.post(f"/devices/{dev.device_id}/authorize", data={"csrf": token}, follow_redirects=False)
    assert resp.status_code == 303
    assert dev.request("GET", "/device/v1/schedule").status_code == 200
    started = datetime.now(UTC) - timedelta(minutes=2)
    entry = {"log_id": str(uuid.uuid4()), "item_id": f"{manifest[:16]}.vi", "manifest_hash": manifest,
             "started_at": started.isoformat(), "ended_at": (started + timedelta(seconds=40)).isoformat(),
             "completed": True, "trigger": "emergency"}
    assert dev.request("POST", "/device/v1/playlogs", {"entries": [entry]}).json()["accepted"] == 1
    inv = {"files": [], "free_bytes": 3_500_000_000, "playing": None, "agent_version": "0.1"}
    assert dev.request("PUT", "/device/v1/inventory", inv).status_code == 204
    detail = client.get(f"/devices/{dev.device_id}").text
    assert "Dung lượng trống: 3.5 GB" in detail and "3500000000" not in detail  # free space for people
    assert "khẩn cấp" in detail
    # the play log names the bulletin (with a link), not the item's hash
    assert f'<a href="/packages/{package_id}">' in detail and f"{manifest[:16]}.vi" not in detail
    # a live session is no package: the page names it by its title, in the log and as what plays now
    from domain.devices import PlayEntry, PlayTrigger
    from services import live
    from storage.repositories import devices as device_repo

    with session() as s:
        session_id = live.start(s, area_codes=["29377"], actor="admin", title="Họp dân ấp Mỹ Hòa").id
        device_repo.add_play_logs(s, dev.device_id, [PlayEntry(
            str(uuid.uuid4()), f"live-{session_id}", "", started, started + timedelta(seconds=30), True,
            PlayTrigger.SCHEDULE)], datetime.now(UTC))
    inv["playing"] = f"live-{session_id}"
    assert dev.request("PUT", "/device/v1/inventory", inv).status_code == 204
    detail = client.get(f"/devices/{dev.device_id}").text
    assert detail.count("Họp dân ấp Mỹ Hòa") == 2 and f"live-{session_id}" not in detail
    pkg_page = client.get(f"/packages/{package_id}").text
    assert 'id="unconfirmed"' in pkg_page and "1/1" in pkg_page  # an emergency nobody confirmed yet
    ack = {"manifest_hash": manifest, "item_id": entry["item_id"], "received_at": datetime.now(UTC).isoformat(),
           "channel": "poll"}
    assert dev.request("POST", "/device/v1/ack", ack).status_code == 204
    pkg_page = client.get(f"/packages/{package_id}").text
    assert 'id="unconfirmed"' not in pkg_page and "Đã xác nhận" in pkg_page
    # Revoking from the page shuts the device out.
    client.post(f"/devices/{dev.device_id}/revoke", data={"csrf": token, "reason": "mất cắp"})
    assert dev.request("GET", "/device/v1/schedule").status_code == 403


def test_dead_letters_are_listed_and_resent(client: Any) -> None:
    package_id, manifest = published_package(languages="vi", status=PackageStatus.APPROVED)
    with session() as s:
        dest = destinations.add_destination(s, name="htttn-tinh", kind=DestinationKind.HTTTN, url="http://127.0.0.1:9/x")
        d = outbox.ensure(s, package_id=package_id, manifest_hash=manifest, destination_id=dest.id)
        outbox.set_status(s, d, DeliveryStatus.SENDING)
        outbox.set_status(s, d, DeliveryStatus.DEAD, error="HTTP 503: down")
        delivery_id = d.id
    started: list[int] = []
    client.app.state.flows.publish = started.append  # the flow itself is covered by test_fanout
    token = login(client)
    page = client.get("/deliveries?dead=1").text
    assert f'id="delivery-{delivery_id}"' in page and "HTTP 503" in page
    resp = client.post(f"/deliveries/{delivery_id}/resend", data={"csrf": token}, follow_redirects=False)
    assert resp.status_code == 303 and started == [package_id]
    with session() as s:
        d = outbox.get(s, delivery_id)
        assert (d.status, d.attempts) == ("pending", 0)
    assert f'id="delivery-{delivery_id}"' not in client.get("/deliveries?dead=1").text


def test_feeds_list_published_bulletins_for_the_area(client: Any) -> None:
    package_id, manifest = published_package(title="Lịch tiêm vắc xin", languages="vi,km")
    published_package(title="Tin ở Tuyên Quang", areas=("08",), languages="vi")
    feed = client.get("/feeds/29377.json")
    assert feed.status_code == 200 and feed.headers["content-type"].startswith("application/feed+json")
    items = feed.json()["items"]
    assert sorted((i["_bantin"]["manifest_hash"], i["language"]) for i in items) == [(manifest, "km"), (manifest, "vi")]
    vi = next(i for i in items if i["language"] == "vi")
    assert vi["title"] == "Lịch tiêm vắc xin"
    audio = vi["attachments"][0]
    data = client.get(audio["url"].removeprefix("http://bantin.test")).content
    assert sha(data) == audio["_sha256"] and len(data) == audio["size_in_bytes"]
    rss = ET.fromstring(client.get("/feeds/29377.rss").content)
    assert {g.text for g in rss.iter("guid")} == {f"{manifest[:16]}.vi", f"{manifest[:16]}.km"}
    # Every item links to the commune's feedback page citing the bulletin, with its QR code.
    feedback = f"http://bantin.test/phan-anh/29377?ban-tin={package_id}"
    assert [c.text for c in rss.iter("comments")] == [feedback, feedback]
    for item in items:
        assert item["_bantin"]["feedback_url"] == feedback
        qr_url = f"http://bantin.test/phan-anh/29377/ma-qr.png?ban-tin={package_id}"
        assert item["_bantin"]["feedback_qr_url"] == qr_url
        assert f'<a href="{feedback}">' in item["content_html"] and f'<img src="{qr_url}"' in item["content_html"]
    png = client.get(qr_url.removeprefix("http://bantin.test"))
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert [r.text for r in zxingcpp.read_barcodes(Image.open(io.BytesIO(png.content)))] == [feedback]
    assert client.get("/phan-anh/99999/ma-qr.png").status_code == 404
    assert client.get(f"/feeds/files/{'0' * 64}").status_code == 404
    assert client.get("/feeds/99999.json").status_code == 404


def test_cap_export_has_one_info_per_language_and_cancels_a_withdrawal(home: Any) -> None:
    package_id, manifest = published_package(title="Cảnh báo lũ quét", languages="vi,km", priority="khan_cap")
    store = object_store()
    with session() as s:
        root = ET.fromstring(cap_xml(s, store, package_id).encode())
    ns = {"cap": CAP_NS}
    assert root.tag == f"{{{CAP_NS}}}alert"
    assert root.findtext("cap:msgType", namespaces=ns) == "Alert"
    assert root.findtext("cap:identifier", namespaces=ns) == f"bantin-{manifest[:32]}"
    infos = root.findall("cap:info", ns)
    assert [i.findtext("cap:language", namespaces=ns) for i in infos] == ["km-VN", "vi-VN"]
    for info in infos:
        assert info.findtext("cap:urgency", namespaces=ns) == "Immediate"
        assert info.findtext("cap:severity", namespaces=ns) == "Severe"
        assert info.find("cap:expires", ns) is not None
        assert info.findtext("cap:area/cap:geocode/cap:value", namespaces=ns) == "29377"
        res = info.find("cap:resource", ns)
        assert res is not None and len(res.findtext("cap:digest", namespaces=ns) or "") == 40
    vi = next(i for i in infos if i.findtext("cap:language", namespaces=ns) == "vi-VN")
    assert vi.findtext("cap:headline", namespaces=ns) == "Cảnh báo lũ quét"
    km = next(i for i in infos if i.findtext("cap:language", namespaces=ns) == "km-VN")
    assert km.findtext("cap:headline", namespaces=ns) != "Cảnh báo lũ quét"  # never the Vietnamese title
    with session() as s:
        packages.set_status(s, packages.get_package(s, package_id), PackageStatus.WITHDRAWN, actor="test")
        cancel = ET.fromstring(cap_xml(s, store, package_id).encode())
    assert cancel.findtext("cap:msgType", namespaces=ns) == "Cancel"
    assert f"bantin-{manifest[:32]}" in (cancel.findtext("cap:references", namespaces=ns) or "")
    in_review, _ = published_package(languages="vi", status=PackageStatus.IN_REVIEW)
    with session() as s, pytest.raises(InvalidInput, match="only approved"):
        cap_xml(s, store, in_review)


def test_an_officer_downloads_an_emergencys_cap_alert_from_its_page(client: Any) -> None:
    package_id, manifest = published_package(title="Cảnh báo lũ quét", languages="vi", priority="khan_cap")
    ordinary, _ = published_package(title="Lịch tiêm chủng", languages="vi")
    login(client)
    page = client.get(f"/packages/{package_id}").text
    assert f'href="/packages/{package_id}/cap.xml"' in page and "Tải cảnh báo CAP 1.2" in page
    download = client.get(f"/packages/{package_id}/cap.xml")
    assert download.status_code == 200 and download.headers["content-type"].startswith("application/xml")
    assert f'filename="bantin-{package_id}-cap.xml"' in download.headers["content-disposition"]
    root = ET.fromstring(download.content)
    assert root.findtext(f"{{{CAP_NS}}}identifier") == f"bantin-{manifest[:32]}"
    assert "cap.xml" not in client.get(f"/packages/{ordinary}").text  # CAP is for emergencies only
    refused = client.get(f"/packages/{ordinary}/cap.xml")
    assert refused.status_code == 422 and "<alert" not in refused.text
