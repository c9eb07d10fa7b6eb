"""Attack cases from issue 17 (item 5) against the web app and the API, on SQLite and PostgreSQL: each is
a 4xx with a reason (Vietnamese by default) and stores nothing.

Huge ids (2^63 overflows SQLite's integers, 2^31 PostgreSQL's), NUL bytes and lone surrogates in JSON,
past expiries and year-9999 embargoes, and corrupt, empty or executable "recordings".
"""

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from services import runtime
from services.runtime import session
from settings import get_settings
from storage.models import DraftRevisionRecord
from tests.web.accounts import DRAFT_AREA, api_token
from tests.web.test_authz import WAV, RecordingFlows, make_item
from web.app import create_app

pytestmark = pytest.mark.integration


@pytest.fixture
def client(database_url: str, bantin_env: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    from tests.web.conftest import _prepare_home

    monkeypatch.setenv("BANTIN_DATABASE_URL", database_url)
    runtime.reset()
    _prepare_home()
    app = create_app(get_settings())
    app.state.flows = RecordingFlows()
    with TestClient(app, follow_redirects=False) as c:
        c.headers["Authorization"] = f"Bearer {api_token('admin')}"
        yield c


def revisions() -> int:
    with session() as s:
        return int(s.scalar(select(func.count(DraftRevisionRecord.id))) or 0)


DRAFT = {"title": "Họp dân", "body": "Mời bà con dự họp dân lúc 19 giờ tại nhà văn hóa ấp.", "areas": [DRAFT_AREA]}


def post_raw(c: TestClient, path: str, text: str):  # type: ignore[no-untyped-def]
    """POST a JSON text exactly as written (json.dumps would escape what the attack needs raw)."""
    return c.post(path, content=text.encode("utf-8", "surrogatepass"), headers={"Content-Type": "application/json"})


@pytest.fixture
def sqlite_client(shared_web_home: Path) -> Iterator[TestClient]:
    app = create_app(get_settings())
    app.state.flows = RecordingFlows()
    with TestClient(app, follow_redirects=False) as c:
        c.headers["Authorization"] = f"Bearer {api_token('editor_daloc')}"
        yield c


def test_huge_ids_nul_bytes_and_lone_surrogates(client: TestClient) -> None:
    for huge in (2**31, 2**63, 2**64):
        for method, path in [("GET", f"/api/v1/packages/{huge}"), ("POST", f"/api/v1/drafts/{huge}/produce"),
                             ("POST", f"/api/v1/packages/{huge}/reject")]:
            resp = client.request(method, path, json={"reason": "x"} if "reject" in path else None)
            assert 400 <= resp.status_code < 500, (path, resp.status_code, resp.text[:200])
    before = revisions()
    cases = [
        json.dumps({**DRAFT, "title": "Họp\u0000dân"}),
        json.dumps({**DRAFT, "source_ref": "CV\u0000123"}),
        json.dumps({**DRAFT, "requesting_unit": "UBND\u0000"}),
        '{"title": "H\\ud800p", "body": "Mời bà con dự họp dân lúc 19 giờ tại nhà văn hóa.", "areas": ["29377"]}',
        '{"title": "Họp", "body": "Mời bà con dự họp \\udfff dân lúc 19 giờ tại nhà văn hóa.", "areas": ["29377"]}',
        '{"title": "Họp", "body": "Mời bà con dự họp dân lúc 19 giờ.", "areas": ["29377"], "source_ref": "\\ud83d"}',
    ]
    for text in cases:
        resp = post_raw(client, "/api/v1/drafts", text)
        assert resp.status_code == 422, (text, resp.status_code, resp.text[:200])
    assert revisions() == before


def test_past_expiry_and_year_9999_embargo_are_refused(sqlite_client: TestClient) -> None:
    client = sqlite_client
    before = revisions()
    for extra, message in [({"expires_at": "2020-01-01T00:00:00+07:00"}, "already past"),
                           ({"embargo_at": "9999-12-31T00:00:00+07:00"}, "more than a year ahead"),
                           ({"expires_at": "9999-12-31T00:00:00+07:00"}, "more than a year ahead")]:
        resp = client.post("/api/v1/drafts", json={**DRAFT, **extra})
        assert resp.status_code == 422 and message in resp.json()["error"], resp.text
    assert revisions() == before
    assert client.post("/api/v1/drafts", json=DRAFT).status_code == 201  # the same draft without them is fine


BAD_RECORDINGS = [
    ("hong.wav", b"RIFF\x24\x00\x00\x00WAVEfmt garbage that is no audio at all" * 3),
    ("rong.wav", b""),
    ("setup.exe", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + bytes(512)),
]


def test_unreadable_recordings_are_a_4xx_with_a_vietnamese_reason(sqlite_client: TestClient) -> None:
    client = sqlite_client
    _, package_id, _ = make_item()
    before = revisions()
    for name, data in BAD_RECORDINGS:
        resp = client.post(f"/api/v1/packages/{package_id}/recordings/vi",
                           files={"recording": (name, data, "audio/wav")})
        assert 400 <= resp.status_code < 500, (name, resp.status_code, resp.text[:300])
        error = resp.json()["error"]
        assert "/tmp" not in error and "bantin-upload" not in error and "ffprobe" not in error, error
        assert resp.status_code == 422 and error.startswith("Không đọc được tệp ghi âm"), error
    assert revisions() == before
    good = client.post(f"/api/v1/packages/{package_id}/recordings/vi",
                       files={"recording": ("doc.wav", WAV, "audio/wav")})
    assert good.status_code == 202
