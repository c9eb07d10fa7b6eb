"""The running agent: a poll thread (network), the MQTT listener, and the playout loop (this thread).

The poll thread registers, fetches the schedule (ETag/304), verifies it, downloads and checks files, removes
unreferenced ones, reports inventory and flushes the play-log and ack outbox. The playout loop asks the
planner what plays now and plays it; it never waits for the network, so a box that is offline keeps playing
its last verified schedule. Emergencies (MQTT or poll) interrupt the current item.
"""

import json
import logging
import os
import random
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any

from device_agent import health
from device_agent.board import Board
from device_agent.cache import Corrupt, FileCache, NoSpace, Paused, UnsafeFile
from device_agent.client import (
    Conflict,
    DeviceClient,
    NotAuthorised,
    Offline,
    ProtocolError,
    Rejected,
    Unauthenticated,
)
from device_agent.clock import CLOCK_FILE_ENV, Clock
from device_agent.config import AgentConfig
from device_agent.emergencies import EmergencyMixin
from device_agent.identity import load_identity, save_identity, write_private
from device_agent.mqtt import EmergencyListener
from device_agent.planner import (
    Choice,
    Planner,
    is_emergency,
    is_emergency_stream,
    is_live_session,
    is_stream,
    quiet_from,
    volume_percent,
)
from device_agent.player import make_player
from device_agent.playlog import Outbox
from device_agent.schedule import (
    ScheduleRefused,
    ScheduleStore,
    item_files,
    parse_time,
    referenced_names,
    verify_schedule,
)
from device_agent.state import iso, load_plan, save_plan
from device_agent.streams import StreamStats
from device_agent.trust import TrustStore

log = logging.getLogger(__name__)

STATUS_FILE = "status.json"
INVENTORY_EVERY = 10  # polls between inventory reports when nothing changed
# Each wait between polls is the interval +-10 %: boxes that start together (power back after a cut, a
# commune's cluster rebooted by one switch) drift apart instead of hitting the server in the same second.
POLL_JITTER = 0.1


STREAM_STATUS_S = 2.0  # status.json is refreshed this often while a stream plays


def poll_wait(interval: float, rng: random.Random) -> float:
    """Seconds until the next poll: ``interval`` moved by up to :data:`POLL_JITTER` either way."""
    return interval * (1.0 + rng.uniform(-POLL_JITTER, POLL_JITTER))


class Agent(EmergencyMixin):
    """One device: identity, cache, schedule, planner, outputs and the threads that drive them."""

    error_pause_s = 5.0  # after an unexpected playout error: no busy loop filling the journal

    def __init__(self, cfg: AgentConfig, clock: Clock | None = None) -> None:
        self.cfg = cfg
        self.state_dir = cfg.state_dir
        self.identity = load_identity(cfg.state_dir, cfg.hardware_id)
        self.trust = TrustStore(cfg.trusted_keys_b64(), cfg.state_dir)
        control = os.environ.get(CLOCK_FILE_ENV)  # tests and demonstrations only (see device_agent/clock.py)
        self.clock = clock or Clock(cfg.clock_offset, cfg.time_scale, Path(control) if control else None)
        self.client = DeviceClient(cfg.server, self.identity)
        self.cache = FileCache(cfg.state_dir / "files")
        self.store = ScheduleStore(cfg.state_dir)
        self.outbox = Outbox(cfg.state_dir / "outbox.sqlite3")
        self.planner = Planner(medium="slides" if cfg.kind == "board" else "audio", tz=cfg.tz, slots=cfg.slots,
                               play_on_arrival=cfg.play_on_arrival, default_every=cfg.default_every,
                               late_tolerance=cfg.late_tolerance)
        self.board = Board(self.cache, cfg.state_dir, self.clock, cfg.slide_seconds) if cfg.kind == "board" else None
        self.player = make_player(cfg.player, self.clock) if cfg.kind == "speaker" else None
        self.lock = threading.RLock()
        self._fetch_lock = threading.Lock()
        self.stopping = threading.Event()
        self.wake = threading.Event()  # the playout loop re-plans
        self.interrupt = threading.Event()  # the current item stops
        self.poll_now = threading.Event()  # the MQTT side asks for the schedule before the next interval
        self._status_streaming = False  # the last status written between polls showed a stream
        self.current: Choice | None = None
        self.schedule, self.etag = self.store.load(self.trust.keys(), self.identity.device_id)
        self.plan = load_plan(cfg.state_dir)
        self.online: bool | None = None
        self.last_error: str | None = None
        self.refusals: deque[str] = deque(maxlen=20)  # a bad schedule is re-sent every poll: keep the latest
        self.polls = 0
        self._jitter = random.Random()  # seeded from the OS: every box draws its own waits
        self.plays = 0
        self.stream_stats: StreamStats | None = None  # the current (or last) relay stream
        self._ended_stream: str | None = None  # the live session the server ended while it played
        self._last_inventory: tuple[list[str], str | None] | None = None
        self.mqtt: EmergencyListener | None = None
        self._poller: threading.Thread | None = None
        self._helpers: list[threading.Thread] = []

    # --- lifecycle -------------------------------------------------------------------------------------

    def run(self) -> None:
        """Run until :meth:`shutdown` (SIGTERM): poll thread, MQTT, kiosk, and the playout loop here."""
        log.info("bantin-device %s as %s (hardware id %s, device id %s), state in %s, output %s",
                 self.cfg.kind, self.cfg.name, self.identity.hardware_id, self.identity.device_id, self.state_dir,
                 self.player.name if self.player else f"kiosk :{self.cfg.kiosk_port}")
        if self.board is not None:
            self.board.serve(self.cfg.kiosk_host, self.cfg.kiosk_port)
        self._poller = threading.Thread(target=self._poll_loop, name="poll", daemon=True)
        self._poller.start()
        if self.cfg.mqtt:
            self.mqtt = EmergencyListener(self.cfg.mqtt, self.cfg.mqtt_areas,
                                          f"bantin-device-{self.identity.hardware_id}", self.trust.keys,
                                          lambda doc: self.handle_emergency(doc, "mqtt"), self.poll_now.set)
            self.mqtt.start()
        try:
            self._playout_loop()
        finally:
            if self.mqtt is not None:
                self.mqtt.stop()
            if self.board is not None:
                self.board.close()
            if self._poller is not None:
                self._poller.join(timeout=5)
            self.join_helpers()
            self._save_plan()
            self._write_status()
            self.outbox.close()
            self.client.close()
            log.info("stopped")

    def shutdown(self) -> None:
        """Stop soon: the current item is cut, the play is logged as not completed, threads end."""
        self.stopping.set()
        self.interrupt.set()
        self.wake.set()
        self.poll_now.set()

    # --- network side ----------------------------------------------------------------------------------

    def _poll_loop(self) -> None:
        while not self.stopping.is_set():
            try:
                self.poll_once()
            except Exception:  # a dead poll thread would keep the box playing but deaf to withdrawals
                log.exception("poll cycle failed")
            end = time.monotonic() + poll_wait(self.cfg.poll_interval, self._jitter)
            while not self.poll_now.wait(max(0.0, min(STREAM_STATUS_S, end - time.monotonic()))):  # or MQTT asks
                if time.monotonic() >= end:
                    break
                cur = self.current
                streaming = cur is not None and is_stream(cur.item)
                if streaming or self._status_streaming:  # a stream's progress (and its end) shows between polls
                    self._status_streaming = streaming
                    try:
                        self._write_status()
                    except OSError as exc:
                        log.error("cannot write %s: %s", STATUS_FILE, exc)
            self.poll_now.clear()

    def poll_once(self) -> None:
        """One collection cycle; never raises (errors are logged and the cycle retried next interval)."""
        self.polls += 1
        try:
            if self.identity.device_id is None:
                self._register()
            answer = self.client.schedule(self.etag, self.cfg.hours)
            self._set_online(True, "authorised")
            if answer.document is not None:
                self._accept(answer.document, answer.etag)
            # acks and play logs first: they are small, and must not wait behind (or fail with) a download
            self._flush()
            self._fetch_files()
            self._report_inventory()
        except NotAuthorised as exc:
            status = "revoked" if "revoked" in str(exc) else "pending"
            if status != self.identity.status:
                log.warning("device %s is %s: an administrator can run 'bantin devices authorize %s'",
                            self.identity.device_id, status, self.identity.device_id)
            if status == "revoked":
                self._drop_schedule()
            self._set_online(True, status)
        except Unauthenticated as exc:
            self._set_online(True, "unauthenticated")
            log.error("the server refuses our signature (%s); registering again. Is this box's clock right? "
                      "The server accepts requests within 300 s of its own time", exc)
            self.identity.device_id = None
        except Conflict as exc:
            self.last_error = str(exc)
            log.error("this hardware id is registered with another key: %s", exc)
        except Offline as exc:
            self._set_online(False, self.identity.status, str(exc))
            self.last_error = str(exc)
        except ProtocolError as exc:
            self.last_error = str(exc)
            log.error("protocol error: %s", exc)
        except Exception:  # the poll thread must survive our own bugs too
            log.exception("poll failed")
        try:
            self._write_status()
        except OSError as exc:  # disk full or read-only: keep polling and playing, say so in the journal
            log.error("cannot write %s: %s", STATUS_FILE, exc)

    def _set_online(self, online: bool, status: str, why: str = "") -> None:
        if online != self.online:
            if online:
                log.log(logging.WARNING if self.online is False else logging.INFO, "server %s reachable",
                        self.cfg.server)
            else:
                log.warning("server unreachable, playing the cached schedule: %s", why)
        self.online = online
        if status != self.identity.status:
            self.identity.status = status
            save_identity(self.state_dir, self.identity)

    def _drop_schedule(self) -> None:
        """A revoked device stops playing its schedule (it would no longer hear of withdrawals); signed
        emergencies still play."""
        with self.lock:
            if self.schedule is None:
                return
            self.schedule, self.etag = None, None
            self.store.path.unlink(missing_ok=True)
            if self.current is not None and self.current.trigger != "emergency":
                self.interrupt.set()
        log.warning("revoked: the cached schedule is dropped")

    def _register(self) -> None:
        device_id, status = self.client.register(self.cfg.name, self.cfg.area_code, self.cfg.kind)
        self.identity.device_id, self.identity.status = device_id, status
        save_identity(self.state_dir, self.identity)
        log.info("registered as device %s (%s)", device_id, status)

    def _accept(self, doc: dict[str, Any], etag: str | None) -> None:
        try:
            doc = verify_schedule(doc, self.trust.keys(), self.identity.device_id)
        except ScheduleRefused as exc:
            if "untrusted key" in str(exc) and self.trust.learn(self.client.keys()):
                doc = verify_schedule(doc, self.trust.keys(), self.identity.device_id)
            else:
                self.refusals.append(str(exc))
                log.error("schedule refused, keeping the last verified one: %s", exc)
                return
        received = iso(self.clock.time())
        with self.lock:
            self.schedule, self.etag = doc, etag
            self.store.save(doc, etag)
            withdrawn = set(doc.get("withdrawn", []))
            cur = self.current
            if cur is not None and (cur.item["manifest_hash"] in withdrawn):
                log.warning("withdrawn while playing: %s", cur.item.get("title"))
                self.interrupt.set()
            elif cur is not None and is_stream(cur.item) and cur.item["item_id"] not in {
                    i["item_id"] for i in doc.get("items", [])}:
                if is_live_session(cur.item):  # the officer ended it: its play is complete, not cut
                    log.info("live session %s ended: stopping the stream", cur.item.get("title"))
                    self._ended_stream = cur.item["item_id"]
                else:
                    log.warning("relay %s taken off the schedule: stopping it", cur.item.get("title"))
                self.interrupt.set()
            for item in doc.get("items", []):
                if is_emergency(item):
                    self.outbox.add_ack(item_id=item["item_id"], manifest_hash=item["manifest_hash"],
                                        received_at=received, channel="poll")
        log.info("schedule %s: %d item(s), %d default, %d withdrawn", (etag or "").strip('"')[:12],
                 len(doc.get("items", [])), len(doc.get("default_content", [])), len(doc.get("withdrawn", [])))
        self.wake.set()

    def _needed(self) -> list[dict[str, Any]]:
        with self.lock:
            doc = self.schedule or {}
            items = list(self.plan.emergencies.values()) + list(doc.get("items", []))
            items += list(doc.get("default_content", []))
            withdrawn = set(doc.get("withdrawn", [])) | set(self.plan.stopped)
        return [i for i in items if i["manifest_hash"] not in withdrawn and i["item_id"] not in withdrawn]

    def _fetch_files(self) -> None:
        # the poll thread and an emergency's follow-up thread both fetch: one at a time, or both would append
        # to the same partial file and corrupt it
        with self._fetch_lock:
            self._fetch_files_locked()

    def _fetch_files_locked(self) -> None:
        # unreferenced files go first, so a small SD card makes room before new content arrives
        with self.lock:
            keep = referenced_names(self.schedule or {}, self.plan.emergencies.values())
            if self.current is not None:
                keep.update(r["name"] for r in item_files(self.current.item))
        self.cache.collect(keep)
        for item in sorted(self._needed(), key=lambda i: 0 if is_emergency(i) else 1):
            # a loudspeaker needs the audio only, a board the slides only
            refs = list(item.get("slides") or []) if self.board is not None else [item["audio"]] if item.get(
                "audio") else []
            for ref in refs:
                if self.cache.has(ref["name"]) or self.cache.backing_off(ref["name"]):
                    continue
                try:
                    self.cache.fetch(self.client, ref, cancel=self.stopping)
                except (Corrupt, UnsafeFile, NoSpace) as exc:
                    self.refusals.append(str(exc))
                    log.error("%s", exc)
                    continue
                except Paused as exc:  # poll again first; the next cycle resumes where this one stopped
                    log.info("%s", exc)
                    return
                except Offline as exc:
                    if self.client.is_own(ref["url"]):
                        raise  # our server is down: the next poll retries everything
                    # another host (object store, or a URL built with a wrong public base URL) being down must
                    # not stop the other files; the same file may also come from the schedule's own URL
                    log.warning("file %s not fetched: %s", ref["name"], exc)
                    continue
                self.wake.set()
        self._maybe_preempt()

    def _report_inventory(self) -> None:
        files = self.cache.hashes()
        playing = self.current.item["item_id"] if self.current else None
        state = (files, playing)
        if state != self._last_inventory or self.polls % INVENTORY_EVERY == 0:
            self.client.inventory(files, self.cache.free_bytes(), playing, health.collect(self.state_dir))
            self._last_inventory = state

    def _flush(self) -> None:
        self.outbox.flush_acks(lambda a: self.client.ack(a["manifest_hash"], a["item_id"], a["received_at"],
                                                         a["channel"]), rejected=(Rejected,))
        sent = self.outbox.flush_plays(self._send_plays, rejected=(Rejected,))
        if sent:
            log.info("uploaded %d play log(s)", sent)

    def _send_plays(self, entries: list[dict[str, Any]]) -> None:
        answer = self.client.playlogs(entries)
        if not isinstance(answer, dict) or int(answer.get("accepted", 0)) + int(answer.get("duplicates", 0)) \
                != len(entries):
            raise ProtocolError(f"play logs: server accounted for {answer!r} of {len(entries)}")

    # --- playout ---------------------------------------------------------------------------------------

    def _available(self, item: dict[str, Any]) -> bool:
        if is_stream(item):  # nothing to download: it is pulled live (loudspeakers only)
            return self.board is None
        if self.board is not None:
            return all(self.cache.has(r["name"]) for r in item.get("slides") or [])
        return bool(item.get("audio")) and self.cache.has(item["audio"]["name"])

    def _playout_loop(self) -> None:
        while not self.stopping.is_set():
            try:
                self._playout_step()
            except Exception:  # a planner bug or a full disk: log, breathe, go on (the box must keep playing)
                log.exception("playout step failed; retrying in %.0f s", self.error_pause_s)
                self.stopping.wait(self.error_pause_s)

    def _playout_step(self) -> None:
        """Play the next item, or wait until something may be due (or the poll/MQTT side wakes us)."""
        now = self.clock.time()
        with self.lock:
            self._drop_expired(now)
            choice, wake_at = self.planner.choose(self.schedule, self.plan, now, self._available)
            if choice is not None:
                self.current = choice
                self.interrupt.clear()
        if choice is None:
            self.wake.clear()
            self.clock.wait(max(0.0, wake_at - now), self.wake, max_real=0.5, wake_on_jump=True)
            return
        self._play(choice)

    def _drop_expired(self, now: float) -> None:
        for item_id, item in list(self.plan.emergencies.items()):
            expires = parse_time(item.get("expires_at"))
            if expires is not None and expires.timestamp() <= now:
                del self.plan.emergencies[item_id]
                log.info("emergency %s expired: back to the schedule", item.get("title"))

    def _play(self, choice: Choice) -> None:
        item = choice.item
        started = self.clock.time()
        log.info("playing [%s] %s (%s)", choice.trigger, item.get("title"), item["item_id"])
        timer = None
        try:
            if self.board is not None:
                completed = self.board.show(item, self.interrupt)
            elif is_stream(item):
                completed = self._play_stream(item, started)
            else:
                assert self.player is not None
                timer = self._stream_timer(started)
                volume = volume_percent(self.schedule, started, self.cfg.tz)
                completed = self.player.play(self.cache.path(item["audio"]["name"]), volume, self.interrupt)
        except (OSError, UnsafeFile) as exc:
            log.error("cannot play %s: %s", item["item_id"], exc)
            completed = False
            if is_stream(item):  # no player program: do not retry in a tight loop
                self.stopping.wait(self.error_pause_s)
        except Exception:  # an output bug: record the failed play (so it is not retried at once) and go on
            log.exception("output failed on %s", item["item_id"])
            completed = False
        finally:
            if timer is not None:
                timer.cancel()
        ended = max(started, self.clock.time())  # the clock may have been set back during the play
        with self.lock:
            self.planner.record(choice, self.plan, started, ended)
            self.current = None
            self._save_plan()
        self.outbox.add_play(item_id=item["item_id"], manifest_hash=item["manifest_hash"], started_at=iso(started),
                             ended_at=iso(ended), completed=completed, trigger=choice.trigger)
        self.plays += 1
        if not completed:
            log.info("interrupted: %s", item.get("title"))

    def _play_stream(self, item: dict[str, Any], started: float) -> bool:
        """A relay or live stream until its end (or the start of quiet hours, unless it is an emergency live
        session), reconnecting with backoff."""
        assert self.player is not None
        expires = parse_time(item["expires_at"])
        until = expires.timestamp() if expires else started
        quiet = None if is_emergency_stream(item) else quiet_from(self.schedule, started, until, self.cfg.tz)
        stats = self.stream_stats = StreamStats(item["item_id"])
        self._ended_stream = None
        completed = self.player.stream(item["stream"]["url"], quiet or until,
                                       volume_percent(self.schedule, started, self.cfg.tz), self.interrupt, stats)
        if self._ended_stream == item["item_id"] and stats.connected_at is not None:
            completed, quiet = True, None  # a live session that ended while it played was heard to its end
        log.info("stream %s: audio from %s, %d reconnect(s), %.0f s", item["item_id"],
                 iso(stats.connected_at) if stats.connected_at else "never", stats.reconnects, stats.seconds)
        return completed and quiet is None

    def _stream_timer(self, now: float) -> threading.Timer | None:
        """While a file plays, wake up when a relay stream is due so it starts on time (see _maybe_preempt)."""
        with self.lock:
            at = self.planner.next_stream_start(self.schedule, self.plan, now)
        if at is None:
            return None
        timer = threading.Timer(max(0.0, self.clock.real_seconds(at - now)), self._maybe_preempt)
        timer.daemon = True
        timer.start()
        return timer

    # --- state files -----------------------------------------------------------------------------------

    def _save_plan(self) -> None:
        with self.lock:
            save_plan(self.state_dir, self.plan)

    def _write_status(self) -> None:
        """``status.json``: what an operator (or a test) wants to know at a glance."""
        with self.lock:
            status = {
                "device_id": self.identity.device_id, "status": self.identity.status, "online": self.online,
                "updated_at": iso(time.time()), "clock": iso(self.clock.time()), "etag": self.etag,
                "items": len((self.schedule or {}).get("items", [])), "files": self.cache.names(),
                "pending_logs": self.outbox.pending_plays(), "rejected_logs": self.outbox.rejected_plays(),
                "dropped_logs": self.outbox.dropped,
                "plays": self.plays,
                "playing": self.current.item["item_id"] if self.current else None,
                "stream": self.stream_stats.to_json() if self.stream_stats else None,
                "emergencies": sorted(self.plan.emergencies), "refusals": list(self.refusals),
                "mqtt_connected": bool(self.mqtt and self.mqtt.connected),
                "mqtt_refused": self.mqtt.refused if self.mqtt else 0, "last_error": self.last_error,
            }
        write_private(self.state_dir / STATUS_FILE, json.dumps(status, indent=1).encode("utf-8"))

