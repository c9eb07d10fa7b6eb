"""Feeds of published bulletins for commune websites and phone apps: JSON Feed 1.1 and RSS 2.0 (pure).

The caller gathers :class:`FeedEntry` values (the published packages reaching an area, one per language);
these functions only shape them. Audio is an attachment/enclosure with its size and SHA-256. Every item
links to the area's public feedback page citing the bulletin (JSON Feed: ``_bantin.feedback_url`` and the
QR code image in ``content_html``; RSS: ``<comments>``, the element meant for a page of responses).
"""

import html
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from typing import Any

JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"


@dataclass(frozen=True)
class FeedEntry:
    id: str  # <manifest hash prefix>.<language>: stable across rebuilds
    title: str
    text: str  # the board text (short) of that language
    language: str
    priority: str
    published_at: datetime
    expires_at: datetime | None
    audio_url: str | None
    audio_type: str | None
    audio_size: int | None
    audio_sha256: str | None
    manifest_hash: str
    feedback_url: str = ""  # the area's public feedback page citing this bulletin
    feedback_qr_url: str = ""  # a PNG QR code of feedback_url


def json_feed(*, title: str, home_url: str, feed_url: str, entries: list[FeedEntry]) -> dict[str, Any]:
    """A JSON Feed 1.1 document; bantin's own fields sit under ``_bantin`` as the spec allows."""
    items = []
    for e in entries:
        item: dict[str, Any] = {
            "id": e.id, "title": e.title, "content_text": e.text, "language": e.language,
            "date_published": e.published_at.isoformat(),
            "_bantin": {"priority": e.priority, "manifest_hash": e.manifest_hash,
                        "expires_at": e.expires_at.isoformat() if e.expires_at else None},
        }
        if e.feedback_url:
            item["_bantin"]["feedback_url"] = e.feedback_url
            item["_bantin"]["feedback_qr_url"] = e.feedback_qr_url or None
            item["content_html"] = _content_html(e)
        if e.audio_url:
            item["attachments"] = [{"url": e.audio_url, "mime_type": e.audio_type or "audio/mpeg",
                                    "size_in_bytes": e.audio_size, "_sha256": e.audio_sha256}]
        items.append(item)
    return {"version": JSON_FEED_VERSION, "title": title, "home_page_url": home_url, "feed_url": feed_url,
            "items": items}


def _content_html(e: FeedEntry) -> str:
    """The board text as paragraphs, then the feedback link and its QR code (everything escaped)."""
    paras = "".join(f"<p>{html.escape(p.strip())}</p>" for p in e.text.split("\n\n") if p.strip())
    link = html.escape(e.feedback_url, quote=True)
    out = f'{paras}<p><a href="{link}">Gửi phản ánh, kiến nghị về bản tin này</a></p>'
    if e.feedback_qr_url:
        qr = html.escape(e.feedback_qr_url, quote=True)
        out += f'<p><img src="{qr}" width="240" height="240" alt="Mã QR gửi phản ánh, kiến nghị"></p>'
    return out


def rss_feed(*, title: str, link: str, description: str, entries: list[FeedEntry]) -> str:
    """An RSS 2.0 document (UTF-8 text) with audio as enclosures."""
    rss = ET.Element("rss", version="2.0")
    channel = ET.SubElement(rss, "channel")
    ET.SubElement(channel, "title").text = title
    ET.SubElement(channel, "link").text = link
    ET.SubElement(channel, "description").text = description
    for e in entries:
        item = ET.SubElement(channel, "item")
        ET.SubElement(item, "title").text = e.title
        ET.SubElement(item, "description").text = e.text
        ET.SubElement(item, "guid", isPermaLink="false").text = e.id
        ET.SubElement(item, "pubDate").text = format_datetime(e.published_at)
        ET.SubElement(item, "category").text = e.priority
        if e.feedback_url:
            ET.SubElement(item, "comments").text = e.feedback_url
        if e.audio_url:
            ET.SubElement(item, "enclosure", url=e.audio_url, length=str(e.audio_size or 0),
                          type=e.audio_type or "audio/mpeg")
    ET.indent(rss)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(rss, encoding="unicode") + "\n"
