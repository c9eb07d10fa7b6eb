"""Area pickers: suggestions while a code or name is typed (with or without diacritics), and area fields that
take a name where they took only a code."""

import pytest
from fastapi.testclient import TestClient

from domain.areas import Area, AreaLevel, suggest_areas
from services.runtime import session
from storage.repositories import users
from tests.web.test_authz import login

TWO_TIER = {
    "86": Area("86", "Tỉnh Vĩnh Long", AreaLevel.PROVINCE, None, ("vi", "km")),
    "29374": Area("29374", "Xã Châu Thành", AreaLevel.COMMUNE, "86"),
    "29386": Area("29386", "Xã Song Lộc", AreaLevel.COMMUNE, "86"),
    "82": Area("82", "Tỉnh Đồng Tháp", AreaLevel.PROVINCE, None),
    "28000": Area("28000", "Xã Châu Thành", AreaLevel.COMMUNE, "82"),
    "28003": Area("28003", "Phường Thành Hưng", AreaLevel.COMMUNE, "82"),
}


def test_suggestions_for_a_name_typed_without_diacritics_or_a_code() -> None:
    assert [a.code for a in suggest_areas("chau thanh", TWO_TIER)] == ["28000", "29374"]  # exact, both provinces
    assert [a.code for a in suggest_areas("Châu Th", TWO_TIER)] == ["28000", "29374"]  # a name begun
    assert [a.code for a in suggest_areas("thanh", TWO_TIER)] == ["28003", "28000", "29374"]  # begins, then inside
    assert [a.code for a in suggest_areas("2937", TWO_TIER)] == ["29374"]
    assert [a.code for a in suggest_areas("vinh long", TWO_TIER)] == ["86"]
    assert suggest_areas("x", TWO_TIER) == [] and suggest_areas("khong co", TWO_TIER) == []


@pytest.mark.integration
def test_the_suggest_endpoint_answers_signed_in_officers(client: TestClient) -> None:
    assert client.get("/areas/suggest?q=da loc").status_code == 303  # sign in first
    login(client, "editor_daloc")
    rows = client.get("/areas/suggest", params={"q": "da loc"}).json()
    assert rows[0] == {"code": "29377", "label": "29377 Xã Đa Lộc (Tỉnh Trà Vinh)"}
    assert [r["code"] for r in client.get("/areas/suggest", params={"q": "Châu Thành"}).json()][:2] == ["847", "29374"]
    assert client.get("/areas/suggest", params={"q": ""}).json() == []
    assert 'data-area-picker' in client.get("/drafts/new").text
    assert '<script src="/static/area-picker.js" defer></script>' in client.get("/drafts/new").text


@pytest.mark.integration
def test_area_fields_take_names(client: TestClient) -> None:
    csrf = login(client, "admin")
    resp = client.post("/admin/users", data={"csrf": csrf, "username": "tuan", "full_name": "Lê Minh Tuấn",
                                             "role": "editor", "area": "Đa Lộc", "extra": "",
                                             "password": "mat-khau-moi-cua-tuan-2026"})
    assert resp.status_code == 303
    with session() as s:
        assert [m.spec for m in users.memberships_of(users.get_user(s, "tuan"))] == ["editor:29377"]
    page = client.get("/programs", params={"area": "xa da loc"})
    assert page.status_code == 200 and "Xã Đa Lộc" in page.text
