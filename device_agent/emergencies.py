"""Emergencies in the agent: play (interrupting what plays) or stop a verified ``bantin.emergency/1`` message,
acknowledge it once, and fetch its files at once rather than at the next poll.

A mixin of :class:`device_agent.agent.Agent`, kept apart so each module stays readable; it uses the agent's
lock, plan, planner, outbox, clock and events declared below.
"""

import json
import logging
import threading
from collections.abc import Callable
from typing import Any

from device_agent.client import ProtocolError
from device_agent.clock import Clock
from device_agent.planner import Choice, Planner, PlanState, apply_emergency, is_emergency_stream, is_stream
from device_agent.playlog import Outbox
from device_agent.schedule import emergency_items
from device_agent.state import iso

log = logging.getLogger("device_agent.agent")  # one logger name for the agent's story in the journal


class EmergencyMixin:
    """Emergency handling for the agent (see the module docstring)."""

    lock: threading.RLock
    plan: PlanState
    planner: Planner
    outbox: Outbox
    clock: Clock
    schedule: dict[str, Any] | None
    current: Choice | None
    interrupt: threading.Event
    wake: threading.Event
    _helpers: list[threading.Thread]
    _available: Callable[[dict[str, Any]], bool]
    _fetch_files: Callable[[], None]
    _flush: Callable[[], None]
    _save_plan: Callable[[], None]

    def handle_emergency(self, doc: dict[str, Any], channel: str) -> None:
        """A verified ``bantin.emergency/1`` message: play (interrupting) or stop, and acknowledge."""
        action = doc["action"]
        for item in emergency_items(doc):
            self._emergency_item(item, action, doc.get("issued_at"), channel)
        if action == "play":
            helper = threading.Thread(target=self._fetch_and_preempt, name="emergency-fetch", daemon=True)
            self._helpers = [t for t in self._helpers if t.is_alive()] + [helper]
            helper.start()
        self.wake.set()

    def _emergency_item(self, item: dict[str, Any], action: str, issued_at: str | None, channel: str) -> None:
        now = self.clock.time()
        with self.lock:
            outcome = apply_emergency(self.plan, item, action, issued_at, now)
            if outcome == "stopped":
                if self.current is not None and self.current.item["item_id"] == item["item_id"]:
                    self.interrupt.set()
                log.warning("emergency stopped: %s", item.get("title"))
            elif outcome == "started":
                self.outbox.add_ack(item_id=item["item_id"], manifest_hash=item["manifest_hash"],
                                    received_at=iso(now), channel=channel)
                log.warning("EMERGENCY via %s: %s (until %s)", channel, item.get("title"), item.get("expires_at"))
            elif outcome == "expired":
                log.info("ignoring expired emergency %s", item["item_id"])
            if outcome != "duplicate":
                self._save_plan()

    def _fetch_and_preempt(self) -> None:
        """Fetch the emergency's files and send the ack now rather than at the next poll, then interrupt."""
        try:
            self._flush()
            self._fetch_files()
            self._maybe_preempt()
        except ProtocolError as exc:  # offline: the poll thread retries; what is cached still plays
            log.warning("emergency follow-up: %s", exc)
            self._maybe_preempt()
        except Exception:  # a helper thread must not die silently
            log.exception("emergency follow-up failed")

    def join_helpers(self, timeout: float = 5.0) -> None:
        """Wait for emergency follow-up threads (at shutdown, before the outbox closes)."""
        for t in self._helpers:
            t.join(timeout)

    def _maybe_preempt(self) -> None:
        """Cut what plays when something above it is due: an emergency cuts any ordinary play, an emergency
        live session cuts an emergency file too (nothing cuts an emergency live session but its end)."""
        with self.lock:
            cur = self.current
            if cur is None or (is_emergency_stream(cur.item) and cur.trigger == "emergency"):
                return
            choice, _ = self.planner.choose(self.schedule, PlanState.from_json(json.loads(json.dumps(
                self.plan.to_json()))), self.clock.time(), self._available)
        if choice is not None and choice.trigger == "emergency" and cur.trigger != "emergency":
            log.warning("interrupting %s for an emergency", cur.item.get("title"))
            self.interrupt.set()
        elif choice is not None and choice.trigger == "emergency" and is_emergency_stream(choice.item):
            log.warning("interrupting the emergency %s: the emergency live session %s overrides it",
                        cur.item.get("title"), choice.item.get("title"))
            self.interrupt.set()
        elif (choice is not None and is_stream(choice.item) and not is_stream(cur.item)
              and cur.trigger != "emergency"):  # a relay cuts ordinary files, never an emergency
            log.info("interrupting %s: the relay %s starts", cur.item.get("title"), choice.item.get("title"))
            self.interrupt.set()

