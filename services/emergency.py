"""Emergencies (khẩn cấp): signed ``bantin.emergency/1`` messages pushed over MQTT, and CAP 1.2 export.

One retained QoS 1 message per target area on ``bantin/v1/area/<code>/emergency`` with an MQTT 5 message
expiry equal to the time left, so a device that connects late gets a live alert and never a stale one. A
withdrawal or kill publishes ``stop`` on the same topics, which also replaces the retained ``play``.
"""

import hashlib
import logging
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlparse

from sqlalchemy.orm import Session

from domain.canonical import canonical_json
from domain.cap import EXPORTABLE as CAP_EXPORTABLE
from domain.cap import CapAlert, CapInfo, CapResource, build_cap, cap_reference
from domain.devices import (
    EmergencyAction,
    emergency_document,
    emergency_expiry,
    emergency_topic,
    file_name,
    message_expiry_s,
)
from domain.devices import item_json as schedule_item_json
from domain.errors import InvalidInput
from domain.packages import AssetKind, PackageStatus, VariantStatus
from domain.priority import Priority
from domain.schedules import FileRef, ScheduleItem
from services import emergency_window, signing
from services.device_schedule import file_url
from services.devices import area_languages, area_map
from settings import get_settings
from storage.objects import LocalObjectStore, ObjectStore
from storage.repositories import audit, drafts, packages

log = logging.getLogger(__name__)
STOP_MIN_EXPIRY_S = 3600  # a stop stays retained at least this long, so late devices learn it too


class MqttUnavailable(ConnectionError):
    """The broker could not be reached or did not confirm a message (worth retrying)."""


@dataclass(frozen=True)
class MqttMessage:
    topic: str
    payload: bytes
    expiry_s: int
    manifest_hash: str
    action: str
    retain: bool = True


def base_url() -> str:
    return get_settings().base_url


def emergency_items(s: Session, store: ObjectStore, package_id: int, area_code: str, now: datetime,
                    ) -> tuple[list[dict[str, Any]], datetime]:
    """The package's schedule items for one area (one per language heard there), and when they expire.

    Items carry the audio and the slides, so loudspeakers and boards act on the same message; their ids are
    the ones the pull schedule uses, so a device that gets both plays it once.
    """
    settings = get_settings()
    pkg = packages.get_package(s, package_id)
    rev = drafts.revision_by_id(s, pkg.revision_id).content
    expires = emergency_window.valid_until(s, pkg, priority=rev.priority.value, expires_at=rev.expires_at) \
        or emergency_expiry(None, pkg.updated_at, timedelta(minutes=settings.emergency_default_minutes))
    all_areas = area_map(s)
    ready = {v.language for v in packages.variants_of(s, package_id) if v.status is VariantStatus.READY}
    assets = packages.assets_of(s, package_id)
    start = now.replace(minute=0, second=0, microsecond=0)
    items = []
    for lang in area_languages(area_code, all_areas):
        if lang not in ready:
            continue
        refs: dict[str, list[FileRef]] = {}
        for a in assets:
            if a.language == lang and a.kind in (AssetKind.AUDIO.value, AssetKind.SLIDE.value):
                url = file_url(store, a.key, a.sha256, base_url(), start, settings.device_lookahead_hours)
                refs.setdefault(a.kind, []).append(FileRef(file_name(a.sha256, a.key), url, a.size, a.sha256))
        if not refs:
            continue
        items.append(schedule_item_json(ScheduleItem(
            item_id=f"{(pkg.manifest_hash or '')[:16]}.{lang}", kind="emergency", manifest_hash=pkg.manifest_hash or "",
            priority=rev.priority.value, language=lang, title=rev.title, starts_at=None, expires_at=expires,
            audio=refs.get(AssetKind.AUDIO.value, [None])[0], slides=tuple(refs.get(AssetKind.SLIDE.value, [])),
            repeat_every_s=settings.emergency_repeat_s)))
    return items, expires


def emergency_messages(s: Session, store: ObjectStore, package_id: int, action: str,
                       now: datetime | None = None) -> list[MqttMessage]:
    """Signed ``play`` or ``stop`` messages for every target area of an emergency package.

    Raises:
        InvalidInput: the package is not an emergency, or has no manifest.
    """
    now = now or datetime.now(UTC)
    pkg = packages.get_package(s, package_id)
    rev = drafts.revision_by_id(s, pkg.revision_id).content
    if rev.priority is not Priority.KHAN_CAP:
        raise InvalidInput(f"package {package_id} is {rev.priority.value}, not an emergency (khan_cap)")
    if not pkg.manifest_hash:
        raise InvalidInput(f"package {package_id} has no manifest yet")
    out = []
    for code in rev.area_codes:
        items, expires = emergency_items(s, store, package_id, code, now)
        if not items:
            log.warning("emergency %s has no playable variant for area %s", package_id, code)
            continue
        doc = signing.sign(emergency_document(action=action, items=items, issued_at=now))
        expiry = message_expiry_s(expires, now)
        if action == EmergencyAction.STOP:
            expiry = max(expiry, STOP_MIN_EXPIRY_S)
        elif expires <= now:
            continue  # already over: never push a stale alert
        out.append(MqttMessage(emergency_topic(code), canonical_json(doc), expiry, pkg.manifest_hash, action))
    return out


def publish_mqtt(messages: list[MqttMessage]) -> list[int]:
    """Publish messages (QoS 1, retained, MQTT 5 message expiry) and wait for the broker's PUBACKs.

    Returns:
        The broker's message ids.

    Raises:
        MqttUnavailable: no broker configured, it refused or did not answer, or a PUBACK did not come.
    """
    import paho.mqtt.client as mqtt
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    settings = get_settings()
    if not settings.mqtt_host:
        raise MqttUnavailable("no MQTT broker configured (BANTIN_MQTT_HOST)")
    if not messages:
        return []
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"bantin-{uuid.uuid4().hex[:12]}",
                         protocol=mqtt.MQTTv5)
    if settings.mqtt_username:
        client.username_pw_set(settings.mqtt_username, settings.mqtt_password or None)
    if settings.mqtt_tls:
        client.tls_set()
    connected = threading.Event()
    result: dict[str, Any] = {}

    def on_connect(c: Any, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        result["reason"] = reason
        connected.set()

    client.on_connect = on_connect
    try:
        client.connect(settings.mqtt_host, settings.mqtt_port, keepalive=30)
    except OSError as exc:
        raise MqttUnavailable(f"MQTT broker {settings.mqtt_host}:{settings.mqtt_port} unreachable: {exc}") from exc
    client.loop_start()
    try:
        if not connected.wait(settings.mqtt_timeout_s) or result["reason"].is_failure:
            raise MqttUnavailable(f"MQTT broker {settings.mqtt_host}:{settings.mqtt_port} refused or did not "
                                  f"answer: {result.get('reason')}")
        infos = []
        for m in messages:
            props = Properties(PacketTypes.PUBLISH)
            props.MessageExpiryInterval = m.expiry_s
            props.ContentType = "application/json"
            infos.append(client.publish(m.topic, m.payload, qos=1, retain=m.retain, properties=props))
        for info in infos:
            info.wait_for_publish(settings.mqtt_timeout_s)
            if not info.is_published():
                raise MqttUnavailable(f"the MQTT broker did not confirm message {info.mid}")
        return [info.mid for info in infos]
    finally:
        client.disconnect()
        client.loop_stop()


def record_broadcast(s: Session, package_id: int, messages: list[MqttMessage], *, actor: str = "system") -> None:
    audit.record(s, actor=actor, action=f"emergency.{messages[0].action if messages else 'none'}",
                 entity="package", entity_id=package_id, topics=[m.topic for m in messages],
                 expiry_s=[m.expiry_s for m in messages])


def was_broadcast(s: Session, package_id: int, action: str = EmergencyAction.PLAY) -> bool:
    return any(e.action == f"emergency.{action}" for e in audit.entries(s, entity="package", entity_id=package_id))


# A package in one of these states is stopped on the devices that play it.
STOPPED = (PackageStatus.WITHDRAWN, PackageStatus.KILLED, PackageStatus.CORRECTED)


def is_emergency(s: Session, package_id: int) -> bool:
    """Whether the package's revision is a khẩn cấp one (pushed over MQTT besides the devices' pull)."""
    pkg = packages.get_package(s, package_id)
    return drafts.revision_by_id(s, pkg.revision_id).content.priority is Priority.KHAN_CAP


def push_due(s: Session, package_id: int, action: str = EmergencyAction.PLAY) -> bool:
    """An emergency whose MQTT ``action`` was not confirmed yet (a rerun does not push it again)."""
    return is_emergency(s, package_id) and not was_broadcast(s, package_id, action)


def stop_due(s: Session, package_id: int) -> bool:
    """An emergency that was pushed to play and not stopped yet (its withdrawal or kill must reach devices)."""
    return (is_emergency(s, package_id) and was_broadcast(s, package_id, EmergencyAction.PLAY)
            and not was_broadcast(s, package_id, EmergencyAction.STOP))


def broadcast_action(s: Session, package_id: int, *, flow_run_id: str = "") -> EmergencyAction | None:
    """What an emergency broadcast of the package sends now, the run audited whatever it decides.

    Returns:
        ``play`` for a published package, ``stop`` for a withdrawn, killed or corrected one, None for any
        other (nothing to broadcast).
    """
    status = packages.get_package(s, package_id).status
    audit.record(s, actor="system", action="flow.emergency", entity="package", entity_id=package_id,
                 flow_run_id=flow_run_id)
    if status in STOPPED:
        return EmergencyAction.STOP
    return EmergencyAction.PLAY if status == PackageStatus.PUBLISHED else None


# --- CAP ----------------------------------------------------------------------------------------------

def _published_at(s: Session, package_id: int) -> datetime | None:
    return next((e.at for e in audit.entries(s, entity="package", entity_id=package_id)
                 if e.action == "package.published"), None)


def cap_xml(s: Session, store: ObjectStore, package_id: int) -> str:
    """An emergency as a CAP 1.2 alert: one ``<info>`` per ready language, audio as ``<resource>``.

    Each block speaks its own language: the event type (``domain.cap.event_type``), the headline (the
    Vietnamese title, or the first line of that language's board text, i.e. its translated title) and the
    script; the sender's name (Vietnamese) only in the Vietnamese block. ``<expires>`` is the emergency's
    validity (``services.emergency_window``), the same the devices, MQTT and the HTTTN payload carry.

    Raises:
        InvalidInput: not an emergency, never approved, or no ready language.
    """
    pkg = packages.get_package(s, package_id)
    status = PackageStatus(pkg.status)
    if status not in CAP_EXPORTABLE:
        raise InvalidInput(f"package {package_id} is {status.value}; only approved packages are exported")
    settings = get_settings()
    rev = drafts.revision_by_id(s, pkg.revision_id).content
    if rev.priority is not Priority.KHAN_CAP:
        raise InvalidInput(f"package {package_id} is {rev.priority.label_vi}, not khẩn cấp: CAP export is for "
                           "emergencies only")
    host = urlparse(settings.public_base_url).hostname or "bantin.local"
    sender = f"bantin@{host}"
    sent = _published_at(s, package_id) or pkg.updated_at
    identifier = f"bantin-{(pkg.manifest_hash or '')[:32]}"
    references: list[str] = []
    msg_type = "Alert"
    if status in (PackageStatus.WITHDRAWN, PackageStatus.KILLED):
        msg_type, references = "Cancel", [cap_reference(sender, identifier, sent)]
        identifier, sent = f"{identifier}-cancel", pkg.updated_at
    else:
        earlier = [p for p in packages.packages_of_draft(s, pkg.draft_id)
                   if p.id < pkg.id and p.status in (PackageStatus.PUBLISHED, PackageStatus.CORRECTED)]
        for p in earlier:
            references.append(cap_reference(sender, f"bantin-{(p.manifest_hash or '')[:32]}",
                                            _published_at(s, p.id) or p.updated_at))
        msg_type = "Update" if references else "Alert"
    all_areas = area_map(s)
    areas = tuple((c, all_areas[c].name if c in all_areas else c) for c in rev.area_codes)
    infos = []
    assets = packages.assets_of(s, package_id)
    for v in packages.variants_of(s, package_id):
        if v.status is not VariantStatus.READY:
            continue
        texts = {a.kind: store.get_bytes(a.key).decode("utf-8") for a in assets
                 if a.language == v.language and a.kind in (AssetKind.SCRIPT.value, AssetKind.BOARD_TEXT.value)}
        if AssetKind.SCRIPT.value not in texts:
            continue
        headline = rev.title if v.language == "vi" else \
            (texts.get(AssetKind.BOARD_TEXT.value, "").strip().splitlines() or [""])[0]
        resources = []
        for a in assets:
            if a.language == v.language and a.kind == AssetKind.AUDIO.value:
                uri = (f"{base_url()}/feeds/files/{a.sha256}" if isinstance(store, LocalObjectStore)
                       else store.url(a.key))
                resources.append(CapResource("audio", a.media_type, a.size, uri,
                                             hashlib.sha1(store.get_bytes(a.key)).hexdigest()))  # noqa: S324 (CAP)
        infos.append(CapInfo(f"{v.language}-VN", headline or rev.title, texts[AssetKind.SCRIPT.value],
                             tuple(resources),
                             sender_name=(rev.requesting_unit or sender) if v.language == "vi" else None))
    if not infos:
        raise InvalidInput(f"package {package_id} has no ready language to export")
    return build_cap(CapAlert(
        identifier=identifier, sender=sender, sent=sent, priority=rev.priority.value, msg_type=msg_type,
        effective=rev.embargo_at or sent, areas=areas, infos=tuple(infos), references=tuple(references),
        expires=emergency_window.valid_until(s, pkg, priority=rev.priority.value, expires_at=rev.expires_at)))

