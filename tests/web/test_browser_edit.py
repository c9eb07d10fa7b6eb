"""Editing a variant's script and recording a voice on a 360 px phone page, in headless Chromium with a fake
microphone that plays a speech-like WAV (--use-fake-device-for-media-stream --use-file-for-fake-audio-capture).

The revise flow runs for real, in this process (the app's flow starter is replaced by one that runs it).
"""

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from domain.packages import PackageStatus
from services.runtime import session
from storage.repositories import packages
from tests.web.conftest import CHROMIUM, PHONE, _serve, assert_accessible, no_horizontal_scroll, sign_in
from tests.web.test_authz import make_item

pytestmark = [pytest.mark.integration, pytest.mark.flow, pytest.mark.slow]

SCRIPT = ("Kính thưa bà con nhân dân! Điện lực Trà Vinh thông báo cắt điện từ 7 giờ đến 11 giờ ngày 5 tháng 12 "
          "năm 2026 tại ấp Đa Hòa, xã Đa Lộc. Trân trọng thông báo!")
LONG = " ".join(["Bà con chú ý nghe thông báo của Ủy ban nhân dân xã."] * 30)


class InlineFlows:
    """Runs the revise flow where the app would queue it (the web handler calls it in its threadpool)."""

    def __init__(self) -> None:
        self.started: list[tuple[str, int, str]] = []

    def revise(self, package_id: int, language: str, user: str = "") -> None:
        from flows.revise import revise_variant

        self.started.append(("revise", package_id, language))
        revise_variant(package_id, language)

    def shutdown(self) -> None:
        pass


@pytest.fixture
def edit_server(web_home: Path, prefect_harness: None) -> Iterator[str]:
    from settings import get_settings
    from web.app import create_app

    app = create_app(get_settings())
    app.state.flows = InlineFlows()
    yield from _serve(app)


@pytest.fixture
def phone_with_microphone(tmp_path: Path, playwright_driver: object) -> Iterator[object]:
    """Chromium whose microphone plays eight seconds of a modulated tone (granted without a prompt)."""
    voice = tmp_path / "voice.wav"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "sine=frequency=220:duration=8",
                    "-af", "volume='2*(0.6+0.4*sin(2*PI*3*t))':eval=frame", "-ar", "48000", "-ac", "1",
                    str(voice)], check=True)
    browser = playwright_driver.chromium.launch(  # type: ignore[attr-defined]
        executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--no-first-run", "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream", f"--use-file-for-fake-audio-capture={voice}"])
    yield browser
    browser.close()


def test_edit_a_script_and_record_a_voice_on_a_phone(edit_server: str, phone_with_microphone,  # type: ignore[no-untyped-def]
                                                     request: pytest.FixtureRequest) -> None:
    base = edit_server
    _, first, _ = make_item()
    context = phone_with_microphone.new_context(viewport=PHONE, locale="vi-VN")
    context.grant_permissions(["microphone"], origin=base)
    page = context.new_page()
    request.node.open_pages = [page]
    sign_in(page, base, "editor_daloc")
    page.goto(f"{base}/packages/{first}")
    page.click("#edit-vi")
    page.wait_for_url(f"{base}/packages/{first}/variants/vi/edit")
    assert no_horizontal_scroll(page)

    page.fill("#script", LONG)  # the live counter says over budget while typing
    assert page.locator("#script-over").is_visible()
    page.fill("#script", SCRIPT)
    assert not page.locator("#script-over").is_visible()
    assert page.locator("#board-over").is_hidden()
    page.fill("#board_text", "Cắt điện 7 giờ - 11 giờ ngày 5/12, ấp Đa Hòa.")  # 45 characters
    assert page.locator("#board-lines").inner_text() == "1"
    page.fill("#board_text", "Cắt điện 7 giờ - 11 giờ ngày 5/12/2026, tại ấp Đa Hòa.")  # 54: two lines
    assert page.locator("#board-lines").inner_text() == "2"
    assert no_horizontal_scroll(page)
    assert_accessible(page)  # the edit page with its counters, at 360 px and 1366 px
    page.click("#edit-form button[type=submit]")
    page.wait_for_url(f"{base}/packages/*#variant-vi", timeout=240_000)
    edited = int(page.url.split("/packages/")[1].split("#")[0])
    assert edited != first and "Máy chủ ước tính" in page.content()
    assert "Giọng máy (espeak-ng)" in page.content()
    assert page.locator("#variant-vi audio").count() == 1 and "7 giờ đến 11 giờ" in page.content()
    # The edited script reads in about 15 s of a 60 s slot: said plainly, not padded.
    assert "ngắn hơn khung 60 giây" in page.locator("#length-vi").inner_text()
    assert no_horizontal_scroll(page)

    page.click("#edit-vi")
    page.click("#rec-start")
    page.wait_for_selector("#rec-stop", state="visible")
    page.wait_for_timeout(4000)
    page.click("#rec-stop")
    page.wait_for_selector("#rec-play", state="visible")  # played back before saving
    assert page.locator("#rec-save").is_visible()
    assert_accessible(page)  # the recorder with its playback
    page.click("#rec-save")
    page.wait_for_url(f"{base}/packages/*#variant-vi", timeout=240_000)
    recorded = int(page.url.split("/packages/")[1].split("#")[0])
    assert recorded != edited
    assert "Giọng người đọc: editor_daloc" in page.content()
    assert_accessible(page)
    with session() as s:
        assert packages.get_package(s, recorded).status == PackageStatus.IN_REVIEW
        assert packages.get_package(s, edited).status == PackageStatus.SUPERSEDED
