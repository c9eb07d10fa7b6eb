"""Editing a produced variant's text and recording its voice from the web app and the API: the pages, the
refusals in Vietnamese, and the revise run started for the new package."""

import subprocess
from pathlib import Path

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from cli.main import app as cli_app
from domain.packages import AssetKind, PackageStatus
from services.runtime import object_store, session
from storage.objects import StoredObject
from storage.repositories import packages
from tests.web.accounts import api_token
from tests.web.test_authz import login, make_item

LONG_BOARD = "\n".join(["Cắt điện từ 7 giờ đến 11 giờ ngày 5/12 tại ấp Đa Hòa, xã Đa Lộc."] * 4)


def with_voice(package_id: int) -> None:
    with session() as s:
        wav = object_store().put_bytes(b"RIFF....WAVE", ext="wav", media_type="audio/wav")
        packages.record_asset(s, package_id=package_id, language="vi", kind=AssetKind.RAW_SPEECH,
                              stored=StoredObject(wav.key, wav.sha256, wav.size, wav.media_type),
                              meta={"engine": "espeak-ng", "synthetic": True})


def status(package_id: int) -> str:
    with session() as s:
        return packages.get_package(s, package_id).status


def tone(path: Path, volume: float, codec: str) -> Path:
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "sine=frequency=220:duration=4",
                    "-af", f"volume={volume}", "-ar", "48000", "-ac", "1", "-c:a", codec, str(path)], check=True)
    return path


def test_the_package_page_names_the_voice_and_links_the_edit_form(client: TestClient) -> None:
    _, pkg, _ = make_item()
    with_voice(pkg)
    login(client, "editor_daloc")
    page = client.get(f"/packages/{pkg}").text
    assert "Giọng máy (espeak-ng)" in page
    assert f'href="/packages/{pkg}/variants/vi/edit"' in page
    assert f'href="/packages/{pkg}/variants/km/edit"' not in page  # km is blocked: it is translated, not edited
    form = client.get(f"/packages/{pkg}/variants/vi/edit")
    assert form.status_code == 200
    assert f"script {pkg}</textarea>" in form.text and f"board {pkg}</textarea>" in form.text
    assert 'id="script-seconds"' in form.text and 'id="board-lines"' in form.text and "MediaRecorder" in form.text
    assert "audio/mp4" in form.text and "audio/webm;codecs=opus" in form.text


def test_saving_an_edit_starts_the_revise_run_and_reports_over_budget(client: TestClient) -> None:
    _, pkg, _ = make_item()
    csrf = login(client, "editor_daloc")
    resp = client.post(f"/packages/{pkg}/variants/vi/edit",
                       data={"csrf": csrf, "script": "Điện lực thông báo cắt điện từ 7 giờ đến 11 giờ ngày 5/12.",
                             "board_text": LONG_BOARD})
    assert resp.status_code == 303
    new = int(resp.headers["location"].split("/")[2].split("#")[0])
    assert new != pkg and status(pkg) == PackageStatus.SUPERSEDED
    assert ("revise", new, "vi") in client.app.state.flows.started  # type: ignore[attr-defined]
    page = client.get(f"/packages/{new}").text
    assert "Nội dung bảng tin vượt định mức số dòng." in page and "8 dòng bảng tin (định mức 6)" in page
    page = client.get(f"/packages/{new}").text  # the approver sees who edited it and that it is over budget
    assert "Người sửa lời: editor_daloc" in page and "Số dòng trên bảng tin: 8 / 6 · <strong" in page
    with session() as s:
        board = packages.get_asset(s, package_id=new, language="vi", kind=AssetKind.BOARD_TEXT)
        assert board is not None and object_store().get_bytes(board.key).decode() == LONG_BOARD  # not cut


def test_refusals_keep_the_typed_text_and_say_why_in_vietnamese(client: TestClient) -> None:
    _, pkg, _ = make_item()
    csrf = login(client, "editor_daloc")
    same = client.post(f"/packages/{pkg}/variants/vi/edit",
                       data={"csrf": csrf, "script": f"script {pkg}", "board_text": f"board {pkg}"})
    assert same.status_code == 422 and "Nội dung chưa thay đổi." in same.text
    assert status(pkg) == PackageStatus.IN_REVIEW
    login(client, "translator_km")
    denied = client.get(f"/packages/{pkg}/variants/vi/edit")
    assert denied.status_code == 403 and "Bạn không có quyền sửa ngôn ngữ này" in denied.text
    csrf = login(client, "approver_daloc")  # an approver may correct before approving
    assert client.get(f"/packages/{pkg}/variants/vi/edit").status_code == 200
    with session() as s:
        packages.set_status(s, packages.get_package(s, pkg), PackageStatus.APPROVED, actor="test")
        packages.set_status(s, packages.get_package(s, pkg), PackageStatus.PUBLISHED, actor="test")
    late = client.post(f"/packages/{pkg}/variants/vi/edit",
                       data={"csrf": csrf, "script": "Khác.", "board_text": "Khác."})
    assert late.status_code == 403 and "đã phát hành" in late.text


def test_a_phone_recording_is_checked_and_a_good_one_replaces_the_voice(client: TestClient, tmp_path: Path) -> None:
    _, pkg, _ = make_item()
    csrf = login(client, "editor_daloc")
    url = f"/packages/{pkg}/variants/vi/voice"
    silent = tone(tmp_path / "silent.webm", 0, "libopus")
    with silent.open("rb") as f:
        resp = client.post(url, data={"csrf": csrf}, files={"recording": ("voice.webm", f, "audio/webm")},
                           headers={"Accept": "application/json"})
    assert resp.status_code == 422 and resp.json() == {
        "error": "Bản thu không có tiếng: hãy kiểm tra micrô rồi thu lại."}
    assert status(pkg) == PackageStatus.IN_REVIEW
    with tone(tmp_path / "take.mp4", 0.5, "aac").open("rb") as f:
        ok = client.post(url, data={"csrf": csrf}, files={"recording": ("voice.mp4", f, "audio/mp4")},
                         headers={"Accept": "application/json"})
    assert ok.status_code == 200
    new = ok.json()["package_id"]
    assert ok.json()["url"] == f"/packages/{new}#variant-vi" and status(pkg) == PackageStatus.SUPERSEDED
    assert ("revise", new, "vi") in client.app.state.flows.started  # type: ignore[attr-defined]


def test_the_api_edits_text_and_returns_the_budget(client: TestClient) -> None:
    _, pkg, _ = make_item()
    auth = {"Authorization": f"Bearer {api_token('editor_daloc')}"}
    resp = client.put(f"/api/v1/packages/{pkg}/variants/vi/text", headers=auth,
                      json={"script": "Cắt điện ngày 5/12.", "board_text": LONG_BOARD})
    assert resp.status_code == 202
    body = resp.json()
    assert body["replaces"] == pkg and body["budget"]["board_lines"] == 8 and body["budget"]["board_over_budget"]
    denied = client.put(f"/api/v1/packages/{body['package_id']}/variants/vi/text",
                        headers={"Authorization": f"Bearer {api_token('translator_km')}"},
                        json={"script": "Khác.", "board_text": "Khác."})
    assert denied.status_code == 403


def keys(package_id: int) -> dict[tuple[str, str], str]:
    with session() as s:
        return {(a.language, a.kind): a.key for a in packages.assets_of(s, package_id)}


def test_the_older_recording_addresses_replace_only_that_voice(client: TestClient, tmp_path: Path) -> None:
    # Before, POST /packages/{id}/recording/{lang} and the API's /recordings/{lang} produced the whole draft again.
    take = tone(tmp_path / "take.mp4", 0.5, "aac")
    _, pkg, _ = make_item()
    with_voice(pkg)
    before = keys(pkg)
    csrf = login(client, "editor_daloc")
    with take.open("rb") as f:
        resp = client.post(f"/packages/{pkg}/recording/vi", data={"csrf": csrf},
                           files={"recording": ("voice.mp4", f, "audio/mp4")})
    assert resp.status_code == 303
    new = int(resp.headers["location"].split("/")[2].split("#")[0])
    started = client.app.state.flows.started  # type: ignore[attr-defined]
    assert ("revise", new, "vi") in started and not [x for x in started if x[0] == "produce"]
    assert status(pkg) == PackageStatus.SUPERSEDED and status(new) == PackageStatus.PRODUCING  # until revise ends
    after = keys(new)  # the texts keep their keys; the synthetic voice is gone, to be replaced by the take
    assert after == {k: v for k, v in before.items() if k != ("vi", "raw_speech")}
    with session() as s:
        assert packages.get_package(s, new).manifest_hash is None  # a new manifest is written by revise

    _, api_pkg, _ = make_item()
    before = keys(api_pkg)
    with take.open("rb") as f:
        answer = client.post(f"/api/v1/packages/{api_pkg}/recordings/vi",
                             headers={"Authorization": f"Bearer {api_token('editor_daloc')}"},
                             files={"recording": ("voice.mp4", f, "audio/mp4")})
    assert answer.status_code == 202
    body = answer.json()
    assert body["replaces"] == api_pkg and body["status"] == "producing" and body["draft_id"] > 0
    assert ("revise", body["package_id"], "vi") in started and not [x for x in started if x[0] == "produce"]
    assert keys(body["package_id"]) == before and status(api_pkg) == PackageStatus.SUPERSEDED


def with_audio(package_id: int, seconds: float, *, method: str, target: float = 60.0) -> None:
    """The produced audio of the vi variant lasts ``seconds``; its script was made for ``target`` by ``method``."""
    with session() as s:
        script = packages.get_asset(s, package_id=package_id, language="vi", kind=AssetKind.SCRIPT)
        assert script is not None
        packages.record_asset(s, package_id=package_id, language="vi", kind=AssetKind.SCRIPT,
                              stored=StoredObject(script.key, script.sha256, script.size, script.media_type),
                              meta={"method": method, "estimated_seconds": seconds, "target_seconds": target})
        mp3 = object_store().put_bytes(f"ID3 {package_id}".encode(), ext="mp3", media_type="audio/mpeg")
        packages.record_asset(s, package_id=package_id, language="vi", kind=AssetKind.AUDIO, stored=mp3,
                              meta={"duration_s": seconds, "synthetic": True, "output_i": -16.0, "output_tp": -1.5})


def test_a_bulletin_off_its_slot_is_said_plainly_to_editor_approver_and_api(client: TestClient) -> None:
    _, short, _ = make_item()
    with_audio(short, 41.2, method="whole")  # the whole draft reads in 41 s: it is not padded to 60
    _, over, _ = make_item()
    with_audio(over, 67.4, method="lexrank+lead")
    _, fits, _ = make_item()
    with_audio(fits, 55.0, method="lexrank+lead")  # 8 % short: within the ±10 %
    for user in ("editor_daloc", "approver_daloc"):
        login(client, user)
        page = client.get(f"/packages/{short}").text
        assert ('id="length-vi">Bản tin chỉ đọc hết 41 giây, ngắn hơn khung 60 giây (31%): bản thảo đã được đọc '
                "trọn vẹn, hệ thống không thêm nội dung. Có thể bổ sung bản thảo hoặc phát như vậy.</div>") in page
        assert ('id="length-vi">Bản tin đọc hết 67 giây, dài hơn khung 60 giây (12%). Hãy rút gọn lời đọc.</div>'
                in client.get(f"/packages/{over}").text)
        assert 'id="length-vi"' not in client.get(f"/packages/{fits}").text
    assert "41 s, 31% short of its 60 s slot: the whole draft is read" in client.get(f"/packages/{short}?lang=en").text
    auth = {"Authorization": f"Bearer {api_token('editor_daloc')}"}
    variants = {v["language"]: v for v in client.get(f"/api/v1/packages/{short}", headers=auth).json()["variants"]}
    assert variants["vi"]["length_warning"]["code"] == "short" and variants["vi"]["length_warning"]["whole"] is True
    assert variants["km"]["length_warning"] is None  # no audio: nothing to measure
    variants = {v["language"]: v for v in client.get(f"/api/v1/packages/{fits}", headers=auth).json()["variants"]}
    assert variants["vi"]["length_warning"] is None
    shown = CliRunner().invoke(cli_app, ["package", "show", str(short)])
    assert shown.exit_code == 0, shown.output
    assert ("      WARNING: The bulletin lasts only 41 s, 31% short of its 60 s slot: the whole draft is read and "
            "nothing is added to fill it. Add to the draft, or air it as it is. / Bản tin chỉ đọc hết 41 giây"
            in shown.output)
    assert "WARNING" not in CliRunner().invoke(cli_app, ["package", "show", str(fits)]).output
