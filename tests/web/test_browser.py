"""The whole job in a real browser (headless Chromium driven by Playwright), phone-sized, on today's two-tier
units (Xã Châu Thành, Tỉnh Vĩnh Long).

Editor submits in Vietnamese and Khmer (the area picked by name) -> the produce flow runs for real -> a
translator fills the Khmer variant -> the package is produced again -> approver approves -> the publish flow
delivers to a reference receiver; a second receiver refuses it, and the approver retries it from the live
progress card. A province set up on a phone after ``bantin init``: its admin account, a translator, a destination,
a programme, and a loudspeaker box authorised from its page that then receives its schedule.
Screenshots of open pages are kept in test-artifacts/ when a step fails.
"""

from pathlib import Path

import httpx
import pytest

from domain.deliveries import DestinationKind
from domain.signatures import unb64, verify_document
from services import signing
from services.runtime import session
from storage.repositories import audit as audit_repo
from storage.repositories import destinations, users
from tests.devices.factory import DeviceClient
from tests.flows.receivers import scripted
from tests.web.accounts import TWO_TIER_AREA
from tests.web.conftest import Tabs, assert_accessible, no_horizontal_scroll, sign_in, wait_for
from web.reference_receiver import ReferenceReceiver

pytestmark = [pytest.mark.integration, pytest.mark.flow, pytest.mark.slow]

KHMER_SCRIPT = "សូមជម្រាបជូនបងប្អូនប្រជាពលរដ្ឋ! ការចាក់វ៉ាក់សាំងកញ្ជ្រឹលសម្រាប់កុមារ។"
KHMER_BOARD = "ចាក់វ៉ាក់សាំងកញ្ជ្រឹល ថ្ងៃទី ៥-៦ ខែធ្នូ នៅស្ថានីយ៍សុខាភិបាលឃុំ។"
BODY = ("Ủy ban nhân dân xã Châu Thành thông báo lịch tiêm vắc xin sởi cho trẻ em từ 1 đến 5 tuổi. "
        "Thời gian tiêm từ 7 giờ 30 đến 11 giờ các ngày 5 và 6 tháng 12 năm 2026 tại Trạm Y tế xã. "
        "Phụ huynh mang theo sổ tiêm chủng của trẻ.")


ENGLISH_LEAKS = ("awaiting", "bantin ", "/tmp", "four-eyes", "register a", "models add", "Ghi âm recording",
                 "commune", "district", "province", "Traceback", "Internal Server Error", '"detail"')


def no_english(page) -> None:  # type: ignore[no-untyped-def]
    """No engine or CLI message, path or level name in English on a page of the Vietnamese UI."""
    text = page.inner_text("body")
    leaks = [w for w in ENGLISH_LEAKS if w in text]
    assert not leaks, (page.url, leaks)


def open_menu(page, label: str) -> None:  # type: ignore[no-untyped-def]
    """Follow a header link; at phone width the menu is folded behind its button first."""
    button = page.locator("label.menu-button")
    if button.is_visible():
        button.click()
    page.click(f"header nav >> text={label}")


def test_editor_to_published_on_a_phone(two_tier_server: str, chromium, tmp_path: Path,  # type: ignore[no-untyped-def]
                                        request: pytest.FixtureRequest) -> None:
    base = two_tier_server
    with ReferenceReceiver(tmp_path / "rx") as receiver, scripted([400, 201]) as refusing:
        with session() as s:
            destinations.add_destination(s, name="htttn-vinh-long", kind=DestinationKind.HTTTN, url=receiver.url)
            destinations.add_destination(s, name="htttn-du-phong", kind=DestinationKind.HTTTN, url=refusing.url)
        tabs = Tabs(chromium, request)
        editor, translator, approver = tabs.new(), tabs.new(), tabs.new()

        sign_in(editor, base, "editor_ct")
        assert "Bản thảo" in editor.content()
        header_height = editor.evaluate("document.querySelector('header').getBoundingClientRect().height")
        assert header_height < 80  # the menu is folded: the header no longer takes a third of the screen
        open_menu(editor, "Bản thảo mới")
        editor.fill("#title", "Lịch tiêm vắc xin sởi tháng 12")
        editor.fill("#body", BODY)
        editor.fill("#area", "")
        editor.locator("#area").press_sequentially("chau th")  # the picker suggests areas as the name is typed
        suggestions = editor.locator("#area-suggestions-0 option")
        wait_for(lambda: suggestions.count() > 0, "area suggestions", timeout=10)
        labels = [suggestions.nth(i).get_attribute("label") or "" for i in range(suggestions.count())]
        assert any(label.startswith(f"{TWO_TIER_AREA} Xã Châu Thành (Tỉnh Vĩnh Long)") for label in labels), labels
        editor.fill("#area", "Châu Thành, Vĩnh Long")  # a name with its province is enough
        editor.fill("#languages", "vi,km")
        editor.select_option("#priority", "thuong")
        assert no_horizontal_scroll(editor)
        assert_accessible(editor)
        editor.click("button[name=produce]")
        editor.wait_for_url(f"{base}/drafts/*")
        draft_url = editor.url

        def package_ready() -> bool:
            editor.goto(draft_url)
            return editor.locator(".badge.in_review").count() > 0

        wait_for(package_ready, "the produce flow to put the package in review")
        editor.click("a[href^='/packages/']")
        package_url = editor.url
        assert editor.locator("audio").count() == 1
        assert editor.locator("img.slide").count() >= 1
        assert "Kính thưa bà con" in editor.content()
        assert no_horizontal_scroll(editor)
        assert editor.locator("button:has-text('Duyệt')").count() == 0  # the editor cannot approve
        assert editor.locator("#variant-km .badge.blocked").count() == 1  # Khmer awaits a translator
        assert "Đang chờ bản dịch tiếng Khmer" in editor.locator("#variant-km").inner_text()
        no_english(editor)

        sign_in(translator, base, "translator_km")
        open_menu(translator, "Cần dịch")
        translator.click("text=Lịch tiêm vắc xin sởi tháng 12")
        assert "Kính thưa bà con" in translator.content()  # the Vietnamese script to translate from
        translator.fill("#script", KHMER_SCRIPT)
        translator.fill("#board_text", KHMER_BOARD)
        assert no_horizontal_scroll(translator)
        assert_accessible(translator)
        no_english(translator)
        translator.click("form[action*='/translate/'] button[type=submit]")
        translator.wait_for_url(draft_url)

        def new_package_ready() -> bool:
            editor.goto(draft_url)
            return editor.locator(".badge.superseded").count() == 1 and editor.locator(".badge.in_review").count() == 1

        wait_for(new_package_ready, "the package to be produced again with the Khmer text")
        editor.click("li:has(.badge.in_review) >> a[href^='/packages/']")
        package_url = editor.url
        assert KHMER_SCRIPT in editor.content()
        assert editor.locator("#variant-km img.slide").count() >= 1

        # The translator reads the produced Khmer variant and corrects a word: another package, again in review.
        translator.goto(package_url)
        translator.click("#variant-km >> text=Sửa bản dịch")
        assert translator.input_value("#script") == KHMER_SCRIPT  # prefilled with what is there
        translator.fill("#board_text", KHMER_BOARD + " សូមអរគុណ។")
        translator.click("form[action*='/translate/'] button[type=submit]")
        translator.wait_for_url(draft_url)

        def corrected_package_ready() -> bool:
            editor.goto(draft_url)
            return editor.locator(".badge.superseded").count() == 2 and editor.locator(".badge.in_review").count() == 1

        wait_for(corrected_package_ready, "the package to be produced again with the corrected Khmer text")
        editor.click("li:has(.badge.in_review) >> a[href^='/packages/']")
        package_url = editor.url
        assert "សូមអរគុណ" in editor.content()

        sign_in(approver, base, "approver_ct")
        open_menu(approver, "Chờ duyệt")
        approver.click("text=Lịch tiêm vắc xin sởi tháng 12")
        assert approver.url == package_url
        assert no_horizontal_scroll(approver)
        slide = approver.locator("img.slide").first
        # decode() waits for the image to arrive, so a slow asset response cannot fail the check
        assert slide.evaluate("(img) => img.decode().then(() => img.naturalWidth)") == 1920
        # the decisions come after the content, and approving asks for a confirmation
        assert approver.evaluate("document.querySelector('audio').getBoundingClientRect().top < "
                                 "document.querySelector('#decision').getBoundingClientRect().top")
        approver.click("#decision summary:has-text('Duyệt')")
        assert_accessible(approver)  # the package page with the confirmation open
        no_english(approver)
        approver.click("#decision form[action$='/approve'] button[type=submit]")

        def published() -> bool:
            approver.goto(package_url)
            return approver.locator(".badge.published").count() > 0

        wait_for(published, "the publish flow to deliver the package")
        channels = approver.locator("#channels")
        assert channels.locator("li:has-text('htttn-vinh-long') .badge.delivered").count() == 1
        assert len(receiver.state.by_key) == 1
        # The other receiver refused it: the card says why, in Vietnamese, and the approver sends it again.
        refused = channels.locator("li:has-text('htttn-du-phong')")
        assert refused.locator(".badge.dead").count() == 1
        assert "Nơi nhận trả lời lỗi 400." in refused.inner_text()
        assert no_horizontal_scroll(approver)
        assert_accessible(approver)
        no_english(approver)
        approver.click("#retry")
        approver.wait_for_url(f"{package_url}#progress")
        assert "Đang gửi lại gói tin" in approver.content()
        # No reload from here: the card polls itself until the receiver has it.
        wait_for(lambda: approver.locator("#channels li:has-text('htttn-du-phong') .badge.delivered").count() == 1,
                 "the live card to show the resent delivery")
        assert approver.locator("#progress").get_attribute("data-live") == "0"
        assert len(refusing.keys) == 2 and len(set(refusing.keys)) == 1  # the same idempotency key again

        approver.goto(f"{package_url}?lang=en")
        assert "Published" in approver.content() and "Loudspeaker script" in approver.content()
        assert "Flow runs (Prefect)" not in approver.content()  # the Prefect run card is for admins only
        assert tabs.check_visited() >= 12  # axe over every page the tabs loaded, at 360 px and 1366 px


def _package_with_audio(seconds: float = 3.0, *, author: str) -> int:
    """A package in review for Xã Châu Thành, written by ``author``, whose Vietnamese variant has a stored WAV
    (made by hand, no flow)."""
    from domain.packages import AssetKind, PackageStatus, VariantStatus
    from services.runtime import object_store
    from storage.repositories import packages
    from tests.web.test_authz import _wav, make_item

    _, package_id, _ = make_item(TWO_TIER_AREA, author=author)
    with session() as s:
        stored = object_store().put_bytes(_wav(seconds), ext="wav", media_type="audio/wav")
        packages.record_asset(s, package_id=package_id, language="vi", kind=AssetKind.AUDIO, stored=stored,
                              meta={"duration_s": seconds})
        packages.set_variant(s, package_id=package_id, language="vi", status=VariantStatus.READY)
        assert packages.get_package(s, package_id).status == PackageStatus.IN_REVIEW
    return package_id


def create_user(page, base: str, username: str, full_name: str, role: str, area: str,  # type: ignore[no-untyped-def]
                extra: str, password: str) -> None:
    """Fill and send the new-user form of the users page."""
    page.goto(f"{base}/admin/users")
    page.click("summary:has-text('Tạo người dùng mới')")
    page.fill("#username", username)
    page.fill("#full_name", full_name)
    page.select_option("#new-role", role)
    page.fill("#new-area", area)  # a name: the field resolves it to the province's code
    page.fill("#new-extra", extra)
    page.fill("#password", password)
    assert no_horizontal_scroll(page)
    assert_accessible(page)
    page.click("#new-user button[type=submit]")
    page.wait_for_url(f"{base}/admin/users")
    assert f"Đã tạo người dùng {username}." in page.content()


def test_a_province_is_set_up_in_the_browser_and_audio_seeks_on_a_phone(  # type: ignore[no-untyped-def]
        after_init_server: str, chromium, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """After ``bantin init`` and ``bantin users add admin`` (the areas and the installation admin, nothing else),
    everything else on a phone: the province's IT officer gets an admin account, then creates the province's
    approver, a commune editor and a translator, a destination, a programme with quiet hours, and authorises a
    loudspeaker box that registered itself, which then receives its signed schedule; the new accounts sign in,
    and the approver seeks in the audio of the new editor's bulletin."""
    base = after_init_server
    with session() as s:  # what the walk starts from: the installation admin alone
        assert [(u.username, [m.spec for m in users.memberships_of(u)]) for u in users.list_users(s)] == [
            ("admin", ["admin"])]
    tabs = Tabs(chromium, request)
    admin = tabs.new()
    sign_in(admin, base, "admin")
    open_menu(admin, "Quản trị")
    admin.click("text=Người dùng và phân quyền")
    create_user(admin, base, "cntt_vinhlong", "Nguyễn Văn An", "admin", "Vĩnh Long", "", "mat-khau-cntt-vinh-long-26")
    assert "Quản trị viên · Tỉnh Vĩnh Long" in admin.locator("#user-cntt_vinhlong").inner_text()
    no_english(admin)

    # The province's admin does the rest on their own phone.
    it = tabs.new()
    sign_in(it, base, "cntt_vinhlong", "mat-khau-cntt-vinh-long-26")
    open_menu(it, "Quản trị")
    it.click("text=Người dùng và phân quyền")
    create_user(it, base, "lan", "Nguyễn Thị Lan", "approver", "Vĩnh Long", "tỉnh", "mat-khau-cua-lan-2026")
    assert "Người duyệt · Tỉnh Vĩnh Long · cấp tỉnh" in it.locator("#user-lan").inner_text()
    create_user(it, base, "hoa", "Trần Thị Hoa", "editor", "Châu Thành, Vĩnh Long", "", "mat-khau-cua-hoa-2026")
    assert "Biên tập viên · Xã Châu Thành" in it.locator("#user-hoa").inner_text()
    create_user(it, base, "sokha", "Thạch Sokha", "translator", "Vĩnh Long", "km", "mat-khau-cua-sokha-2026")
    assert "Người dịch · Tỉnh Vĩnh Long · Tiếng Khmer" in it.locator("#user-sokha").inner_text()
    no_english(it)
    with session() as s:  # the roles as the services stored them, areas resolved from the names typed
        assert {u.username: [m.spec for m in users.memberships_of(u)] for u in users.list_users(s)} == {
            "admin": ["admin"], "cntt_vinhlong": ["admin:86"], "lan": ["approver:86:province"],
            "hoa": ["editor:29374"], "sokha": ["translator:86:km"]}

    with ReferenceReceiver(tmp_path / "rx") as receiver:
        it.goto(f"{base}/admin")
        it.click("text=Nơi nhận tin")
        assert it.locator("#dest-area option").all_inner_texts() == ["Tỉnh Vĩnh Long"]  # only what they manage
        it.fill("#name", "htttn-vinh-long")
        it.select_option("#kind", "htttn")
        it.fill("#url", receiver.url)
        it.click("#new-destination button[type=submit]")
        it.wait_for_url(f"{base}/admin/destinations")
        assert no_horizontal_scroll(it)
        assert "Tỉnh Vĩnh Long" in it.locator("#destination-htttn-vinh-long").inner_text()
        it.click("#destination-htttn-vinh-long >> button:has-text('Kiểm tra kết nối')")
        assert "htttn-vinh-long: kết nối được" in it.locator("#check-result").inner_text()
        assert_accessible(it)
        no_english(it)
    with session() as s:
        assert [(d.url, d.area_code) for d in destinations.list_destinations(s, enabled_only=True)] == [
            (receiver.url, "86")]

    # A programme for the commune, with its quiet hours, set up on the phone.
    it.goto(f"{base}/admin")
    it.click("text=Cài đặt chương trình phát thanh")
    it.fill("#area", TWO_TIER_AREA)
    it.click("#pick-area button[type=submit]")
    assert it.inner_text("#area-name") == "Xã Châu Thành"
    it.fill("#quiet-value", "22:00-05:00")
    it.click("#quiet-form button[type=submit]")
    assert "Đã lưu giờ yên lặng." in it.content()
    it.click("#new-program summary")
    it.fill("#new-name", "Bản tin sáng")
    it.fill("#new-at", "06:00")
    it.fill("#new-days", "t2-t6")
    assert no_horizontal_scroll(it)
    assert_accessible(it)
    it.click("#new-program button[type=submit]")
    assert "06:00 · Bản tin sáng" in it.inner_text("#programs-list")
    no_english(it)

    # A loudspeaker box in the commune registers itself (the agent's HTTP call); it gets nothing until authorised.
    with httpx.Client(base_url=base, timeout=10) as http:
        box = DeviceClient.new(http)
        assert box.register(TWO_TIER_AREA, "speaker").status_code == 202
        assert box.request("GET", "/device/v1/schedule").status_code == 403
        open_menu(it, "Thiết bị")
        pending = it.locator(f"#device-{box.device_id}")
        assert "Chờ cấp phép" in pending.inner_text() and "Xã Châu Thành" in pending.inner_text()
        assert no_horizontal_scroll(it)
        assert_accessible(it)
        pending.locator("a").first.click()
        it.wait_for_url(f"{base}/devices/{box.device_id}")
        assert box.hardware_id in it.inner_text("main")  # the officer compares it with the label on the box
        it.click("#device-decision summary:has-text('Cấp phép')")
        assert no_horizontal_scroll(it)
        assert_accessible(it)  # the device page with the confirmation open
        no_english(it)
        it.click("#device-decision form[action$='/authorize'] button[type=submit]")
        it.wait_for_url(f"{base}/devices/{box.device_id}")
        assert "Đã cấp phép cho thiết bị." in it.inner_text("main")
        assert it.locator("#device-decision summary:has-text('Thu hồi')").count() == 1
        no_english(it)
        answer = box.request("GET", "/device/v1/schedule")
        assert answer.status_code == 200
        doc = answer.json()
        trusted = {k["key_id"]: unb64(k["public_key"]) for k in signing.keys_document()["keys"]}
        assert verify_document(doc, trusted) == signing.current_key().key_id
        assert doc["device_id"] == box.device_id and doc["area_code"] == TWO_TIER_AREA
        assert doc["quiet_hours"] == [{"from": "22:00", "to": "05:00"}]  # what the province's admin just set
    with session() as s:
        last = audit_repo.entries(s, entity="device", entity_id=box.device_id)[-1]
        assert (last.action, last.actor) == ("device.authorised", "cntt_vinhlong")

    # The new accounts sign in on their phones; the new editor's bulletin is in review and the new approver's
    # audio can be sought (HTTP Range answered).
    sokha = tabs.new()
    sign_in(sokha, base, "sokha", "mat-khau-cua-sokha-2026")
    hoa = tabs.new()
    sign_in(hoa, base, "hoa", "mat-khau-cua-hoa-2026")
    assert "Bản thảo" in hoa.content()
    no_english(hoa)

    package_id = _package_with_audio(author="hoa")
    approver = tabs.new()
    statuses: list[int] = []
    approver.on("response", lambda r: statuses.append(r.status) if "/assets/" in r.url else None)
    sign_in(approver, base, "lan", "mat-khau-cua-lan-2026")
    approver.click("label.menu-button")  # the menu opened on a phone
    assert_accessible(approver)
    approver.goto(f"{base}/packages/{package_id}")
    seeked = approver.evaluate("""() => new Promise((resolve, reject) => {
        const a = document.querySelector('audio');
        a.preload = 'auto';
        a.addEventListener('error', () => reject(new Error('audio error ' + (a.error && a.error.code))));
        a.addEventListener('loadedmetadata', () => {
            a.addEventListener('seeked', () => resolve({t: a.currentTime, ranges: a.seekable.length,
                                                        end: a.seekable.length ? a.seekable.end(0) : 0}));
            a.currentTime = 2.0;
        }, {once: true});
        a.load();
    })""")
    assert seeked["ranges"] >= 1 and seeked["end"] >= 2.9 and abs(seeked["t"] - 2.0) < 0.1
    assert 206 in statuses  # Chromium asked for a range and got one
    no_english(approver)
    approver.goto(f"{base}/drafts/abc")  # an unknown page: a Vietnamese page, not JSON
    assert "Không tìm thấy trang này" in approver.inner_text("body")
    no_english(approver)
    assert tabs.check_visited() >= 15  # axe over every page the tabs loaded, at 360 px and 1366 px
