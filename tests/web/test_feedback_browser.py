"""The feedback loop in a real browser at 360 px: a citizen opens the link a slide's QR code carries and
sends feedback with a photo -> the commune officer answers and puts the answer on air -> the bulletin is
produced (the produce flow runs for real), translated into Khmer, approved and published -> the citizen's
status page shows the answer and the bulletin's audio -> a neighbour scans the QR code on the answer's own
board slide and replies to that bulletin."""

import io
import re
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image

from domain.deliveries import DestinationKind
from domain.feedback import public_feedback_url
from services.packages import package_view
from services.runtime import object_store, session
from storage.models_feedback import FeedbackRecord
from storage.repositories import destinations
from tests.web.conftest import Tabs, no_horizontal_scroll, sign_in, wait_for
from web.reference_receiver import ReferenceReceiver

pytestmark = [pytest.mark.integration, pytest.mark.flow, pytest.mark.slow]

COMPLAINT = "Đèn đường trên đường liên ấp Phú Hòa bị hỏng gần hai tuần, buổi tối học sinh đi học về rất nguy hiểm."
ANSWER = "Ủy ban nhân dân xã đã thay bóng đèn đường ấp Phú Hòa ngày 5 tháng 12. Cảm ơn bà con đã phản ánh."
KHMER_SCRIPT = "រដ្ឋបាលឃុំបានប្តូរអំពូលភ្លើងផ្លូវនៅភូមិភូហ័រ ថ្ងៃទី៥ ខែធ្នូ។ សូមអរគុណបងប្អូន។"
KHMER_BOARD = "បានប្តូរអំពូលភ្លើងផ្លូវភូមិភូហ័រ ថ្ងៃទី៥ ខែធ្នូ។"


def photo() -> bytes:
    img = Image.new("RGB", (640, 480), (30, 30, 60))
    exif = Image.Exif()
    exif[0x8825] = {1: "N", 2: (9.0, 54.0, 0.0), 3: "E", 4: (106.0, 18.0, 0.0)}
    buf = io.BytesIO()
    img.save(buf, format="JPEG", exif=exif.tobytes())
    return buf.getvalue()


def test_citizen_to_answer_on_air_on_a_phone(live_server: str, chromium, tmp_path: Path,  # type: ignore[no-untyped-def]
                                             request: pytest.FixtureRequest) -> None:
    base = live_server
    with ReferenceReceiver(tmp_path / "rx") as receiver:
        with session() as s:
            destinations.add_destination(s, name="htttn-tra-vinh", kind=DestinationKind.HTTTN, url=receiver.url)
        tabs = Tabs(chromium, request)
        citizen, officer, translator, approver = tabs.new(), tabs.new(), tabs.new(), tabs.new()

        # 1. The citizen opens the link of the QR code printed on the commune's slides.
        citizen.goto(public_feedback_url(base, "29377"))
        assert "Gửi phản ánh, kiến nghị" in citizen.content() and "Xã Đa Lộc" in citizen.content()
        assert no_horizontal_scroll(citizen)
        citizen.select_option("#category", "infrastructure")
        citizen.fill("#text", COMPLAINT)
        citizen.fill("#hamlet", "Phú Hòa")
        citizen.set_input_files("#photo", files=[{"name": "den-duong.jpg", "mimeType": "image/jpeg",
                                                  "buffer": photo()}])
        citizen.fill("#phone", "0912 345 678")
        citizen.check("input[name=consent]")
        citizen.click("button[type=submit]")
        citizen.wait_for_url(re.compile(r".*/phan-anh/theo-doi/[A-Z2-9]{8}\?moi=1$"))
        code = citizen.inner_text("#tracking-code").strip()
        status_url = f"{base}/phan-anh/theo-doi/{code}"
        assert citizen.inner_text("#fb-state") == "Đã tiếp nhận" and no_horizontal_scroll(citizen)

        # 2. The commune officer takes it, sees the photo and the phone number, answers, puts it on air.
        sign_in(officer, base, "editor_daloc")
        officer.click("label.menu-button")  # the phone menu is folded
        officer.click("header >> text=Phản ánh")
        officer.click("#fb-queue a")
        assert "0912345678" in officer.inner_text("#fb-contact")
        assert officer.locator("img.slide").evaluate("(img) => img.decode().then(() => img.naturalWidth)") == 640
        assert no_horizontal_scroll(officer)
        officer.click("#fb-assign")
        officer.fill("#answer", ANSWER)
        officer.click("#fb-send-answer")
        assert officer.inner_text("#fb-state") == "Đã trả lời"
        officer.click("#fb-on-air")
        officer.wait_for_url(re.compile(r".*/drafts/\d+$"))
        draft_url = officer.url
        assert "Trả lời phản ánh của người dân" in officer.content()
        assert "0912345678" not in officer.content() and "học sinh đi học về" not in officer.content()
        officer.click("form[action$='/produce'] button")

        def in_review() -> bool:
            officer.goto(draft_url)
            return officer.locator(".badge.in_review").count() > 0

        wait_for(in_review, "the produce flow to put the answer's package in review")
        citizen.goto(status_url)
        assert ANSWER in citizen.inner_text("#fb-answer") and "sau khi được duyệt" in citizen.content()

        # 3. Khmer is heard in Trà Vinh: a translator fills it, the package is produced again.
        sign_in(translator, base, "translator_km")
        translator.click("label.menu-button")  # the phone menu is folded
        translator.click("header >> text=Cần dịch")
        translator.click("text=Trả lời phản ánh của người dân")
        translator.fill("#script", KHMER_SCRIPT)
        translator.fill("#board_text", KHMER_BOARD)
        translator.click("form[action*='/translate/'] button[type=submit]")
        translator.wait_for_url(draft_url)

        def produced_again() -> bool:
            officer.goto(draft_url)
            badges = officer.locator
            return badges(".badge.superseded").count() == 1 and badges(".badge.in_review").count() == 1

        wait_for(produced_again, "the package to be produced again with the Khmer text")
        officer.click("li:has(.badge.in_review) >> a[href^='/packages/']")
        package_url = officer.url

        # 4. The commune approver approves; the publish flow delivers it.
        sign_in(approver, base, "approver_daloc")
        approver.goto(package_url)
        approver.click("#decision summary:has-text('Duyệt')")  # approving asks for a confirmation
        approver.click("#decision form[action$='/approve'] button[type=submit]")

        def published() -> bool:
            approver.goto(package_url)
            return approver.locator(".badge.published").count() > 0

        wait_for(published, "the publish flow to publish the answer")

        # 5. The citizen sees the answer went on air and can listen to it.
        citizen.goto(status_url)
        assert ANSWER in citizen.inner_text("#fb-answer")
        assert "Câu trả lời đã được phát trên loa, bảng tin" in citizen.inner_text("#fb-on-air")
        audio = citizen.locator("#fb-answer audio")
        assert audio.count() == 1
        src = audio.get_attribute("src")
        assert citizen.request.get(f"{base}{src}").status == 200
        assert no_horizontal_scroll(citizen)
        citizen.goto(f"{status_url}?lang=en")
        assert "The answer was broadcast on loudspeakers and boards" in citizen.content()

        # 6. A neighbour scans the QR code on the answer's board slide (rendered by the produce flow) and
        # replies to that bulletin. The worker has no public address configured, so the code names the
        # default host: the path and query are what the phone opens here.
        package_id = int(package_url.rstrip("/").rsplit("/", 1)[1])
        with session() as s:
            view = package_view(s, object_store(), package_id)
        vi_slides = [a for v in view["variants"] if v["language"] == "vi" for a in v["assets"] if a["kind"] == "slide"]
        assert vi_slides
        scanned = [r.text for r in zxingcpp.read_barcodes(Image.open(io.BytesIO(
            object_store().get_bytes(vi_slides[0]["key"]))))]
        assert scanned == [f"{base}/phan-anh/29377?ban-tin={package_id}"]  # the web app's address
        neighbour = tabs.new()
        neighbour.goto(scanned[0])
        assert "Trả lời phản ánh của người dân" in neighbour.inner_text("#fb-cited") and no_horizontal_scroll(neighbour)
        neighbour.select_option("#category", "broadcast_unclear")
        neighbour.fill("#text", "Loa ở ấp Phú Hòa phát câu trả lời này nhỏ quá, nhà ở cuối ấp nghe không rõ.")
        neighbour.click("button[type=submit]")
        neighbour.wait_for_url(re.compile(r".*/phan-anh/theo-doi/[A-Z2-9]{8}\?moi=1$"))
        reply_code = neighbour.inner_text("#tracking-code").strip()
        with session() as s:
            cited = s.query(FeedbackRecord.cited_package_id).filter_by(tracking_code=reply_code).scalar()
        assert cited == package_id
        assert tabs.check_visited() >= 10  # axe over every page the tabs loaded, at 360 px and 1366 px
