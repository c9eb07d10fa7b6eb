"""A language the target area does not use is refused on the draft form and the API, in words the editor
understands, and the form keeps what was typed."""

import pytest
from fastapi.testclient import TestClient

from services.runtime import session
from storage.repositories import drafts
from tests.web.accounts import DRAFT_AREA, api_token
from tests.web.test_authz import login

pytestmark = pytest.mark.integration
BODY = "Mời bà con ấp Đa Lộc dự buổi họp dân bàn việc làm đường giao thông nông thôn lúc 19 giờ."


def _draft_count() -> int:
    with session() as s:
        return len(drafts.list_drafts(s, limit=1000))


def test_the_draft_form_refuses_jrai_for_a_khmer_commune_and_keeps_the_text(client: TestClient) -> None:
    csrf = login(client, "editor_daloc")
    before = _draft_count()
    resp = client.post("/drafts", data={"csrf": csrf, "title": "Họp dân làm đường", "body": BODY,
                                        "area": DRAFT_AREA, "languages": "vi,jra", "priority": "thuong"})
    assert resp.status_code == 422
    assert ("Địa bàn 29377 không dùng tiếng Gia Rai. Hãy chọn trong các ngôn ngữ được dùng ở đó: "
            "tiếng Việt, tiếng Khmer.") in resp.text
    assert 'value="Họp dân làm đường"' in resp.text and BODY in resp.text and 'value="vi,jra"' in resp.text
    assert _draft_count() == before
    ok = client.post("/drafts", data={"csrf": csrf, "title": "Họp dân làm đường", "body": BODY,
                                      "area": DRAFT_AREA, "languages": "vi,km", "priority": "thuong"})
    assert ok.status_code == 303 and _draft_count() == before + 1


def test_the_english_page_names_the_languages_in_english(client: TestClient) -> None:
    csrf = login(client, "editor_daloc")
    resp = client.post("/drafts?lang=en", data={"csrf": csrf, "title": "Họp dân", "body": BODY, "area": DRAFT_AREA,
                                                "languages": "jra", "priority": "thuong"})
    assert resp.status_code == 422
    assert "Area 29377 does not use Jrai. Choose among the languages used there: Vietnamese, Khmer." in resp.text


def test_the_api_refuses_it_with_the_reason(client: TestClient) -> None:
    resp = client.post("/api/v1/drafts", headers={"Authorization": "Bearer " + api_token("editor_daloc")},
                       json={"title": "Họp dân", "body": BODY, "areas": [DRAFT_AREA], "languages": ["vi", "bdq"]})
    assert resp.status_code == 422
    assert resp.json()["error"] == "language(s) not used in the target areas 29377: bdq; choose among: vi, km"
