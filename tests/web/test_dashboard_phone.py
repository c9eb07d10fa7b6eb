"""The operations dashboard on a phone (headless Chromium at 360 px, axe at 360 and 1366 px): from the province
to the commune, to a loudspeaker box and its play log, to the bulletin's proof of play, by following links, on
today's two-tier units (Xã Châu Thành, Tỉnh Vĩnh Long). The box registers and reports its play through the
device API of the running server."""

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from services import devices as device_service
from services.runtime import session
from tests.devices.factory import DeviceClient, published_package
from tests.web.accounts import TWO_TIER_AREA
from tests.web.conftest import Tabs, no_horizontal_scroll, sign_in

pytestmark = [pytest.mark.integration, pytest.mark.flow, pytest.mark.slow]

TITLE = "Lịch tiêm vắc xin sởi tháng 12"


def test_drill_down_on_a_phone(two_tier_server: str, chromium, request: pytest.FixtureRequest) -> None:  # type: ignore[no-untyped-def]
    base = two_tier_server
    pid, manifest = published_package(title=TITLE, areas=(TWO_TIER_AREA,), languages="vi")
    with httpx.Client(base_url=base, timeout=10) as http:
        box = DeviceClient.new(http)
        assert box.register(TWO_TIER_AREA, "speaker").status_code == 202
        with session() as s:
            device_service.authorise(s, box.device_id or 0, username="admin")
        started = datetime.now(UTC)
        entry = {"log_id": str(uuid.uuid4()), "item_id": f"{manifest[:16]}.vi", "manifest_hash": manifest,
                 "started_at": started.isoformat(), "ended_at": (started + timedelta(seconds=75)).isoformat(),
                 "completed": True, "trigger": "schedule"}
        played = box.request("POST", "/device/v1/playlogs", {"entries": [entry]})
        assert played.status_code == 200 and played.json()["accepted"] == 1, played.text

    tabs = Tabs(chromium, request)
    page = tabs.new()
    sign_in(page, base, "admin")
    page.goto(f"{base}/dashboard")
    page.click("a[href='/dashboard/area/86']")  # a system-wide admin picks the province
    page.wait_for_url(f"{base}/dashboard/area/86")
    assert no_horizontal_scroll(page)
    page.click(f"a[href='/dashboard/area/{TWO_TIER_AREA}']")
    page.wait_for_url(f"{base}/dashboard/area/{TWO_TIER_AREA}")
    assert no_horizontal_scroll(page)
    page.click(f"a[href='/dashboard/device/{box.device_id}']")
    page.wait_for_url(f"{base}/dashboard/device/{box.device_id}")
    assert no_horizontal_scroll(page)
    plays = page.inner_text("#plays")
    assert TITLE in plays and manifest[:16] not in plays  # titles, not hashes
    page.click(f"#plays a[href='/dashboard/package/{pid}']")
    page.wait_for_url(f"{base}/dashboard/package/{pid}")
    assert no_horizontal_scroll(page)
    assert "1/1" in page.inner_text("body")  # the commune and its one device played it
    assert tabs.check_visited() >= 5  # axe over every page on the way, at both widths
