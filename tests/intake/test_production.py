"""Production of a cleaned emergency draft through the real Prefect flow: the urgent frame names the area's
station, the speech text the voice read is stored with its estimate, and the produced audio fits the slot."""

from pathlib import Path

import pytest

from services import drafts as draft_service
from services.packages import package_view
from services.runtime import object_store, session

pytestmark = [pytest.mark.flow, pytest.mark.integration, pytest.mark.slow]

PAGE = (Path(__file__).parents[1] / "data" / "intake" / "02-lu-song-ba.raw.txt").read_text(encoding="utf-8")


def test_emergency_from_a_pasted_page(app: Path, prefect_harness: None) -> None:
    from flows.produce import produce_package

    req = draft_service.DraftRequest(body=PAGE, area_codes=["29377"], languages="vi", priority="khan_cap",
                                     author="demo-editor", confirm_cleaning=True)
    with session() as s:
        draft_id = draft_service.submit_text_draft(s, object_store(), req).draft_id
    package_id = produce_package(draft_id)
    with session() as s:
        view = package_view(s, object_store(), package_id)
    assets = {a["kind"]: a for a in view["variants"][0]["assets"]}
    script = object_store().get_bytes(assets["script"]["key"]).decode("utf-8").split("\n")
    assert script[0] == "Thông báo khẩn! Thông báo khẩn!"
    assert script[2] == ("Đài Truyền thanh xã Đa Lộc thông báo khẩn: Cảnh báo lũ trên sông Ba, yêu cầu di dời dân "
                         "vùng trũng trước 17 giờ.")
    assert script[-2] == ("Xin nhắc lại: Ban chỉ huy phòng chống thiên tai xã Ia Mlah yêu cầu các hộ dân ở thôn "
                          "Plei Oi và thôn Bôn Kia di dời người và tài sản đến nơi an toàn trước 17 giờ.")
    spoken = object_store().get_bytes(assets["speech_text"]["key"]).decode("utf-8")
    assert "mười bảy giờ" in spoken and "17" not in spoken  # the text the voice read, numbers in words
    meta = assets["speech_text"]["meta"]
    assert meta["target_seconds"] == 60 and meta["estimated_seconds"] <= 60
    assert meta["script_sha256"] == assets["script"]["sha256"]
    # Measured on the produced audio: within 10 % of the 60 s slot.
    assert 54.0 <= assets["audio"]["meta"]["duration_s"] <= 66.0
