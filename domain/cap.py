"""CAP 1.2 (OASIS Common Alerting Protocol, ITU-T X.1303) export of an emergency: one ``<info>`` per language.

Pure: the caller supplies texts, resources (with SHA-1 digests, as CAP requires) and area names. Circular 39
priorities map to CAP's urgency, severity and certainty (none of them "Unknown", as Google's CAP
requirements ask); a withdrawn or killed package is a ``Cancel`` and a correction an ``Update`` that
references the alerts it replaces.

To the letter of CAP 1.2: times carry a numeric offset, UTC written ``-00:00`` (never ``Z`` or ``+00:00``);
``<event>`` names the type of event (:func:`event_type`), in the block's own language; every text of a
block is in that block's language (a block without a text in its language leaves the optional element out
rather than repeat the Vietnamese one).
"""

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import datetime

from domain.errors import InvalidInput
from domain.packages import PackageStatus

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
# An emergency is exported as CAP once approved, and stays exportable after it went off the air (a cancel).
EXPORTABLE = frozenset({PackageStatus.APPROVED, PackageStatus.SCHEDULED, PackageStatus.PUBLISHED,
                        PackageStatus.CORRECTED, PackageStatus.WITHDRAWN, PackageStatus.KILLED})

# priority -> (urgency, severity, certainty)
_LEVELS = {
    "khan_cap": ("Immediate", "Severe", "Likely"),
    "uu_tien": ("Expected", "Moderate", "Likely"),
    "thuong": ("Future", "Minor", "Possible"),
}


@dataclass(frozen=True)
class CapResource:
    description: str
    mime_type: str
    size: int
    uri: str
    sha1: str


# (language, priority) -> the <event> text: what kind of event this is, not the bulletin's title. Only
# languages with a checked wording are listed; others use their translated headline (see event_type).
EVENT_TYPES: dict[tuple[str, str], str] = {
    ("vi", "khan_cap"): "Cảnh báo khẩn cấp",
    ("vi", "uu_tien"): "Thông báo ưu tiên",
    ("vi", "thuong"): "Thông báo",
    ("km", "khan_cap"): "ការព្រមានបន្ទាន់",
    ("km", "uu_tien"): "សេចក្តីជូនដំណឹងអាទិភាព",
    ("km", "thuong"): "សេចក្តីជូនដំណឹង",
}


def event_type(language: str, priority: str, headline: str) -> str:
    """The ``<event>`` of a block: the event type in ``language`` (``vi`` from ``vi-VN``), else the block's
    own translated headline, whole (never the Vietnamese title, never cut mid-word)."""
    return EVENT_TYPES.get((language.split("-")[0], priority)) or headline


@dataclass(frozen=True)
class CapInfo:
    language: str  # BCP 47, e.g. "vi-VN", "km-VN"
    headline: str
    description: str
    resources: tuple[CapResource, ...] = ()
    event: str = ""  # default: event_type(language, priority, headline)
    sender_name: str | None = None  # in this language; None leaves <senderName> out


@dataclass(frozen=True)
class CapAlert:
    identifier: str
    sender: str
    sent: datetime
    priority: str
    msg_type: str  # Alert | Update | Cancel
    effective: datetime | None
    expires: datetime | None
    areas: tuple[tuple[str, str], ...]  # (official code, name)
    infos: tuple[CapInfo, ...]
    references: tuple[str, ...] = field(default_factory=tuple)  # "sender,identifier,sent"
    category: str = "Safety"
    instruction: str = ""


def cap_time(value: datetime) -> str:
    """CAP's time format: seconds precision with a numeric offset; UTC is ``-00:00`` (CAP 1.2, 3.3.2)."""
    if value.tzinfo is None:
        raise InvalidInput("CAP times need a time zone")
    text = value.replace(microsecond=0).isoformat()
    return text[:-6] + "-00:00" if text.endswith("+00:00") else text


def cap_reference(sender: str, identifier: str, sent: datetime) -> str:
    """One entry of ``<references>``: ``sender,identifier,sent`` with ``sent`` exactly as that alert wrote it."""
    return f"{sender},{identifier},{cap_time(sent)}"


def _sub(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
    el = ET.SubElement(parent, f"{{{CAP_NS}}}{tag}")
    if text is not None:
        el.text = text
    return el


def build_cap(alert: CapAlert) -> str:
    """The alert as CAP 1.2 XML (UTF-8 text with an XML declaration).

    Raises:
        InvalidInput: no language block, an unknown priority or message type, or no area.
    """
    if not alert.infos:
        raise InvalidInput("a CAP alert needs at least one language block")
    if alert.priority not in _LEVELS:
        raise InvalidInput(f"unknown priority {alert.priority!r}")
    if alert.msg_type not in ("Alert", "Update", "Cancel"):
        raise InvalidInput(f"unknown CAP msgType {alert.msg_type!r}")
    if not alert.areas:
        raise InvalidInput("a CAP alert needs an area")
    if alert.msg_type != "Alert" and not alert.references:
        raise InvalidInput(f"a CAP {alert.msg_type} must reference the alert it changes")
    ET.register_namespace("", CAP_NS)
    root = ET.Element(f"{{{CAP_NS}}}alert")
    _sub(root, "identifier", alert.identifier)
    _sub(root, "sender", alert.sender)
    _sub(root, "sent", cap_time(alert.sent))
    _sub(root, "status", "Actual")
    _sub(root, "msgType", alert.msg_type)
    _sub(root, "scope", "Public")
    if alert.references:
        _sub(root, "references", " ".join(alert.references))
    urgency, severity, certainty = _LEVELS[alert.priority]
    for info in alert.infos:
        el = _sub(root, "info")
        _sub(el, "language", info.language)
        _sub(el, "category", alert.category)
        _sub(el, "event", info.event or event_type(info.language, alert.priority, info.headline))
        _sub(el, "responseType", "Prepare" if alert.msg_type != "Cancel" else "AllClear")
        _sub(el, "urgency", urgency)
        _sub(el, "severity", severity)
        _sub(el, "certainty", certainty)
        if alert.effective is not None:
            _sub(el, "effective", cap_time(alert.effective))
        if alert.expires is not None:
            _sub(el, "expires", cap_time(alert.expires))
        if info.sender_name:
            _sub(el, "senderName", info.sender_name)
        _sub(el, "headline", info.headline)
        _sub(el, "description", info.description)
        if alert.instruction:
            _sub(el, "instruction", alert.instruction)
        for r in info.resources:
            res = _sub(el, "resource")
            _sub(res, "resourceDesc", r.description)
            _sub(res, "mimeType", r.mime_type)
            _sub(res, "size", str(r.size))
            _sub(res, "uri", r.uri)
            _sub(res, "digest", r.sha1)
        area = _sub(el, "area")
        _sub(area, "areaDesc", "; ".join(name for _, name in alert.areas))
        for code, _ in alert.areas:
            geo = _sub(area, "geocode")
            _sub(geo, "valueName", "VN-GSO")  # official administrative unit codes (mã đơn vị hành chính)
            _sub(geo, "value", code)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
