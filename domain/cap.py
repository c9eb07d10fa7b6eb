"""CAP 1.2 (OASIS Common Alerting Protocol, ITU-T X.1303) export of a package: one ``<info>`` per language.

Pure: the caller supplies texts, resources (with SHA-1 digests, as CAP requires) and area names. Circular 39
priorities map to CAP's urgency, severity and certainty (none of them "Unknown", as Google's CAP
requirements ask); a withdrawn or killed package is a ``Cancel`` and a correction an ``Update`` that
references the alerts it replaces.
"""

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import datetime

from domain.errors import InvalidInput

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"

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


@dataclass(frozen=True)
class CapInfo:
    language: str  # BCP 47, e.g. "vi-VN", "km-VN"
    headline: str
    description: str
    resources: tuple[CapResource, ...] = ()


@dataclass(frozen=True)
class CapAlert:
    identifier: str
    sender: str
    sent: datetime
    priority: str
    msg_type: str  # Alert | Update | Cancel
    event: str
    sender_name: str
    effective: datetime | None
    expires: datetime | None
    areas: tuple[tuple[str, str], ...]  # (official code, name)
    infos: tuple[CapInfo, ...]
    references: tuple[str, ...] = field(default_factory=tuple)  # "sender,identifier,sent"
    category: str = "Safety"
    instruction: str = ""


def cap_time(value: datetime) -> str:
    """CAP's time format: seconds precision with a numeric offset (never ``Z``)."""
    if value.tzinfo is None:
        raise InvalidInput("CAP times need a time zone")
    return value.replace(microsecond=0).isoformat()


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
        _sub(el, "event", alert.event[:35] or "Thông báo")
        _sub(el, "responseType", "Prepare" if alert.msg_type != "Cancel" else "AllClear")
        _sub(el, "urgency", urgency)
        _sub(el, "severity", severity)
        _sub(el, "certainty", certainty)
        if alert.effective is not None:
            _sub(el, "effective", cap_time(alert.effective))
        if alert.expires is not None:
            _sub(el, "expires", cap_time(alert.expires))
        _sub(el, "senderName", alert.sender_name or alert.sender)
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
