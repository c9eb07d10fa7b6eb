"""CAP 1.2 to the letter (issue 17, item 7), checked with an independent parser (lxml, libxml2) and the
OASIS CAP 1.2 schema shipped in tests/data; and one validity window for CAP, MQTT, the device schedule and
the HTTTN payload of an emergency."""

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from domain.cap import cap_time, event_type
from domain.errors import InvalidInput
from domain.packages import PackageStatus
from services import emergency_window
from services.emergency import cap_xml, emergency_items
from services.runtime import object_store, session
from storage.repositories import drafts, packages
from tests.devices.factory import published_package

pytestmark = pytest.mark.integration

SCHEMA = etree.XMLSchema(etree.parse(str(Path(__file__).parents[1] / "data" / "CAP-v1.2.xsd")))
NS = {"cap": "urn:oasis:names:tc:emergency:cap:1.2"}
LONG_TITLE = "Cảnh báo lũ quét trên sông Cổ Chiên đoạn qua xã Đa Lộc, bà con di dời ngay"
VIETNAMESE_LETTERS = set("ăâđêôơưáàảãạấầẩẫậắằẳẵặéèẻẽẹếềểễệíìỉĩịóòỏõọốồổỗộớờởỡợúùủũụứừửữựýỳỷỹỵ")


def parsed(xml: str) -> Any:
    """Parse with lxml and validate against the OASIS schema (raises with the schema's complaint)."""
    doc = etree.fromstring(xml.encode("utf-8"))
    SCHEMA.assertValid(doc)
    return doc


def text(el: Any, path: str) -> str:
    return str(el.findtext(path, namespaces=NS) or "")


def test_cap_time_writes_utc_as_minus_zero() -> None:
    assert cap_time(datetime(2026, 12, 7, 4, 0, 5, 123456, tzinfo=UTC)) == "2026-12-07T04:00:05-00:00"
    vn = timezone(timedelta(hours=7))
    assert cap_time(datetime(2026, 12, 7, 11, 0, tzinfo=vn)) == "2026-12-07T11:00:00+07:00"
    with pytest.raises(InvalidInput):
        cap_time(datetime(2026, 12, 7, 11, 0))


def test_event_is_an_event_type_in_the_blocks_language() -> None:
    assert event_type("vi-VN", "khan_cap", LONG_TITLE) == "Cảnh báo khẩn cấp"
    assert event_type("km-VN", "khan_cap", "ព័ត៌មាន") == "ការព្រមានបន្ទាន់"
    assert event_type("tyz-VN", "khan_cap", "Pjom pjạ nặm") == "Pjom pjạ nặm"  # no checked wording: its title


def test_emergency_alert_validates_and_every_block_speaks_its_language(home: Any) -> None:
    package_id, manifest = published_package(title=LONG_TITLE, languages="vi,km", priority="khan_cap")
    with session() as s:
        doc = parsed(cap_xml(s, object_store(), package_id))
    assert text(doc, "cap:sent").endswith("-00:00")  # stored times are UTC
    assert "+00:00" not in etree.tostring(doc).decode()
    infos = {text(i, "cap:language"): i for i in doc.findall("cap:info", NS)}
    assert sorted(infos) == ["km-VN", "vi-VN"]
    vi, km = infos["vi-VN"], infos["km-VN"]
    assert text(vi, "cap:event") == "Cảnh báo khẩn cấp" and text(vi, "cap:headline") == LONG_TITLE
    assert text(km, "cap:event") == "ការព្រមានបន្ទាន់"
    assert text(km, "cap:headline").startswith("[km] ព័ត៌មាន")  # the km board text's first line: its own title
    for field in ("cap:event", "cap:headline", "cap:senderName"):
        assert not VIETNAMESE_LETTERS & set(text(km, field).lower()), field
    assert text(km, "cap:description").startswith("Kính thưa bà con (km)")  # the km variant's own script
    assert text(vi, "cap:description").startswith("Kính thưa bà con (vi)")
    assert km.find("cap:senderName", NS) is None and text(vi, "cap:senderName")
    for info in (vi, km):
        assert text(info, "cap:expires").endswith("-00:00") and text(info, "cap:effective").endswith("-00:00")
    with session() as s:
        packages.set_status(s, packages.get_package(s, package_id), PackageStatus.WITHDRAWN, actor="test")
        cancel = parsed(cap_xml(s, object_store(), package_id))
    assert text(cancel, "cap:msgType") == "Cancel"
    sender, identifier, sent = text(cancel, "cap:references").split(",")
    assert (sender, identifier, sent) == (text(doc, "cap:sender"), f"bantin-{manifest[:32]}", text(doc, "cap:sent"))


def test_cap_export_is_for_emergencies_only(home: Any) -> None:
    normal, _ = published_package(languages="vi", priority="thuong")
    priority, _ = published_package(languages="vi", priority="uu_tien")
    for package_id in (normal, priority):
        with session() as s, pytest.raises(InvalidInput, match="emergencies only"):
            cap_xml(s, object_store(), package_id)


def test_one_validity_window_on_every_channel(home: Any) -> None:
    from tasks.outbox import PayloadCache

    package_id, _ = published_package(languages="vi", priority="khan_cap")
    with session() as s:
        pkg = packages.get_package(s, package_id)
        approved = emergency_window.approved_at(s, package_id)
        assert approved is not None
        expected = approved + timedelta(minutes=120)
        rev = drafts.revision_by_id(s, pkg.revision_id).content
        assert emergency_window.valid_until(s, pkg, priority="khan_cap", expires_at=None) == expected
        cap_expires = text(parsed(cap_xml(s, object_store(), package_id)), "cap:info/cap:expires")
        _, mqtt_expires = emergency_items(s, object_store(), package_id, "29377", datetime.now(UTC))
    assert rev.expires_at is None
    assert cap_expires == cap_time(expected)
    assert mqtt_expires == expected
    payload = PayloadCache().payload(package_id, "k-1")
    assert payload["valid_until"] == expected.isoformat()
