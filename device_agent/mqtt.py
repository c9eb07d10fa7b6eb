"""Emergency push channel: MQTT 5 subscription to ``bantin/v1/area/<code>/emergency`` for the device's areas.

Messages are verified (signature by a trusted installation key, schema, safe file names) before they reach
the agent; anything else is logged and dropped. paho-mqtt reconnects on its own with back-off, and the
subscriptions are renewed on every connect (the broker keeps retained alerts for late joiners).
"""

import json
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from device_agent.schedule import ScheduleRefused, verify_emergency

log = logging.getLogger(__name__)
MAX_PAYLOAD = 1024 * 1024


def topic_for(area_code: str) -> str:
    """The emergency topic of one area (protocol §4)."""
    return f"bantin/v1/area/{area_code}/emergency"


def refetch_topic_for(area_code: str) -> str:
    """Where the server asks an area's devices to fetch their schedule now (protocol §4: live sessions)."""
    return f"bantin/v1/area/{area_code}/refetch"


class EmergencyListener:
    """Subscribes, verifies and hands verified ``bantin.emergency/1`` documents to ``on_emergency``."""

    def __init__(self, url: str, areas: list[str], client_id: str, trusted: Callable[[], dict[str, bytes]],
                 on_emergency: Callable[[dict[str, Any]], None],
                 on_refetch: Callable[[], None] | None = None) -> None:
        parts = urlsplit(url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or (8883 if parts.scheme == "mqtts" else 1883)
        self.topics = [topic_for(a) for a in areas]
        self.refetch_topics = {refetch_topic_for(a) for a in areas} if on_refetch else set()
        self.on_refetch = on_refetch
        self.trusted = trusted
        self.on_emergency = on_emergency
        self.connected = False
        self.refused = 0
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
        if parts.username:
            self._client.username_pw_set(parts.username, parts.password)
        if parts.scheme == "mqtts":
            self._client.tls_set()
        self._client.reconnect_delay_set(min_delay=1, max_delay=60)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message

    def start(self) -> None:
        """Connect in the background (a broker that is down now is retried)."""
        self._client.connect_async(self.host, self.port, keepalive=30)
        self._client.loop_start()

    def stop(self) -> None:
        """Disconnect and end paho's network thread."""
        self._client.disconnect()
        self._client.loop_stop()

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if reason.is_failure:
            log.error("MQTT broker %s:%d refused the connection: %s", self.host, self.port, reason)
            return
        self.connected = True
        client.subscribe([(t, 1) for t in self.topics + sorted(self.refetch_topics)])
        log.info("MQTT connected to %s:%d, listening on %s", self.host, self.port, ", ".join(self.topics))

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        self.connected = False
        log.warning("MQTT disconnected (%s); paho reconnects", reason)

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        if msg.topic in self.refetch_topics and self.on_refetch is not None:
            log.info("MQTT asks for the schedule now (%s)", msg.topic)
            self.on_refetch()  # only a nudge: what the poll brings is verified as always
            return
        if not msg.payload:  # a cleared retained message
            return
        if len(msg.payload) > MAX_PAYLOAD:  # an emergency message is a few KiB; never parse a flood
            self.refused += 1
            log.error("MQTT message on %s refused: %d bytes", msg.topic, len(msg.payload))
            return
        try:
            doc = verify_emergency(json.loads(msg.payload.decode("utf-8")), self.trusted())
        except (ValueError, UnicodeDecodeError, ScheduleRefused) as exc:
            self.refused += 1
            log.error("MQTT message on %s refused: %s", msg.topic, exc)
            return
        try:
            self.on_emergency(doc)
        except Exception:  # never let the network thread die on our own bug
            log.exception("handling the emergency from %s failed", msg.topic)
