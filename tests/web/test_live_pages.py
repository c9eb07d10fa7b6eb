"""The live page: who sees it, starting a session through its JSON endpoints (CSRF, refusals in Vietnamese,
nothing stored), stopping it; the audio itself is covered with Chromium in tests/streams/test_live_browser.py."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from settings import get_settings
from tests.web.test_relay_pages import login  # the session's CSRF token is the page's too
from web.app import create_app

pytestmark = pytest.mark.integration


@pytest.fixture
def client(shared_web_home: Path) -> Iterator[TestClient]:
    with TestClient(create_app(get_settings()), follow_redirects=False) as c:
        yield c


def test_only_approvers_and_admins_see_the_page(client: TestClient) -> None:
    login(client, "editor_daloc")
    assert client.get("/live").status_code == 403
    login(client, "approver_daloc")
    page = client.get("/live")
    assert page.status_code == 200
    assert "Phát trực tiếp" in page.text and "Bắt đầu phát" in page.text and "tối đa 30 phút" in page.text


def test_start_refusals_in_vietnamese_and_a_stop(client: TestClient) -> None:
    from services import live
    from services.runtime import session

    csrf = login(client, "approver_daloc")
    assert client.post("/live/sessions", json={"areas": "29377"}).status_code == 403  # no CSRF header
    headers = {"X-CSRF-Token": csrf}
    refused = client.post("/live/sessions", json={"areas": "29380"}, headers=headers)
    assert refused.status_code == 403
    assert refused.json() == {"error": "Bạn không có quyền phát trực tiếp cho địa bàn này."}
    started = client.post("/live/sessions", json={"areas": "29377", "title": "Họp dân"}, headers=headers)
    assert started.status_code == 201
    session_id = started.json()["id"]
    again = client.post("/live/sessions", json={"areas": "29377"}, headers=headers)
    assert again.status_code == 400
    assert again.json() == {"error": f"Địa bàn 29377 đang có buổi phát trực tiếp khác (buổi {session_id} của "
                                     "approver_daloc)."}
    stopped = client.post(f"/live/sessions/{session_id}/stop", headers=headers)
    assert stopped.status_code == 200 and stopped.json() == {"archive_entry_id": None}  # no audio was sent
    with session() as s:
        rec = live.get(s, session_id)
        assert (rec.status, rec.end_reason, rec.title) == ("ended", "stopped", "Họp dân")
    late = client.post(f"/live/sessions/{session_id}/audio", content=b"\x1a\x45", headers=headers)
    assert late.status_code == 400


def test_each_session_shows_its_proof_of_play(client: TestClient) -> None:
    """Two speakers in Đa Lộc; one heard the session twice (it lost the stream after 2 minutes, came back
    and heard it to its end): 1 of 2 devices played, 1 of 2 plays completed, 10.5 minutes."""
    import html
    import re
    from datetime import UTC, datetime, timedelta

    from services import live
    from services.runtime import session
    from tests.streams.test_live import speakers_hearing

    began = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)
    with session() as s:
        rec = live.start(s, area_codes=["29377"], actor="approver_daloc", title="Họp dân tổ 3", now=began)
        live.stop(s, rec.id, actor="approver_daloc", now=began + timedelta(minutes=12))
        speakers_hearing(s, rec, began, [(0, 120, False), (180, 690, True)], tag="hw-proof", trigger="schedule")
        session_id = rec.id
    login(client, "approver_daloc")
    page = client.get("/live")
    assert page.status_code == 200
    found = re.search(rf'<span class="muted proof" data-session="{session_id}">(.*?)</span>', page.text, re.S)
    assert found is not None
    text = " ".join(html.unescape(found.group(1)).split())
    assert text == "Thiết bị đã phát: 1/2 · Lượt phát trọn vẹn: 1/2 · Đã phát 10,5 phút"
