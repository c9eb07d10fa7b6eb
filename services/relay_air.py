"""Carrying one relay airing on an area's mount: the upstream through ffmpeg, and the area's default content
when the upstream fails, until the airing ends.

The loop (:func:`carry`) starts feeding a few seconds before the slot (so devices that connect at the start
find the mount up), watches the feed, and on an outage (the upstream refuses, carries no audio, or stalls:
ffmpeg ends early) logs it on the run and in the audit log, puts the area's default content on the mount, and
tries the upstream again every ``retry_s`` seconds; when it answers with audio again the relay resumes. An
area with no default content is logged as such (devices then play their own files). A live emergency in the
area is logged once: devices preempt the stream themselves (``device_agent``) and return to it after.

Time comes from an injected clock and sleep so a test can drive short airings; ffmpeg runs in engines.
"""

import logging
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from domain.devices import DeviceKind
from domain.errors import InvalidTransition
from domain.relays import RelayRunStatus
from engines.errors import EngineError, MediaError
from engines.icecast import Feed, files_command, probe_stream, relay_command
from services import carriers, device_schedule, relays, streaming
from services.runtime import object_store, session

log = logging.getLogger(__name__)
LEAD_S = 5.0  # the mount is fed this long before the slot starts
FEED_SAFETY_S = 60.0  # ffmpeg stops by itself this long after the airing ends if the carrier could not stop it


@dataclass
class Airing:
    """What one carry did (returned to the flow, and the run's final status)."""

    slot_id: int
    local_date: str
    area_code: str
    status: str = "running"
    events: list[str] = field(default_factory=list)


def _area_state(area_code: str, now: datetime) -> tuple[list[str], bool]:
    """The area's default-content audio (sha256s, in rotation order) and whether an emergency is live there."""
    with session() as s:
        sched = device_schedule.area_schedule(s, area_code, DeviceKind.SPEAKER, 1, "", now=now)
    defaults = [i["audio"]["sha256"] for i in sched.default_content if i.get("audio")]
    live = False
    for item in sched.items:
        if item.get("kind") != "emergency":
            continue
        starts, expires = item.get("starts_at"), item.get("expires_at")
        if (starts is None or _t(starts) <= now) and (expires is None or _t(expires) > now):
            live = True
    return defaults, live


def _t(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _fallback_files(shas: list[str], workdir: Path) -> list[Path]:
    store = object_store()
    out = []
    for sha in shas:
        dest = workdir / f"{sha}.mp3"
        if not dest.exists():
            with session() as s:
                key = device_schedule.file_for_device(s, sha).key
            store.download(key, dest)
        out.append(dest)
    return out


def carry(slot_id: int, local_date: str, *, until: float | None = None, clock: Callable[[], float] = time.time,
          sleep: Callable[[float], None] = time.sleep, check_s: float = 1.0, retry_s: float = 20.0,
          emergency_check_s: float = 10.0) -> Airing:
    """Carry one airing (claimed by :func:`services.relays.claim`) to its end (or ``until``, unix seconds).

    Raises:
        NotFound: no such slot.
        InvalidInput: the slot does not air that day.
    """
    with session() as s:
        occ, rec, src = relays.occurrence_of(s, slot_id, local_date)
        relays.claim(s, occ)  # a run started by hand (not by relay-due) claims its airing here
    area = occ.area_code
    end = until if until is not None else occ.ends_at.timestamp()
    result = Airing(slot_id, local_date, area)
    target, enc = streaming.mount_target(area), streaming.encoding()
    mount_name = f"{src.name} ({area})"

    def event(name: str, detail: str = "", status: RelayRunStatus | None = None) -> None:
        result.events.append(name)
        if status:
            result.status = status.value
        log.log(logging.WARNING if name in ("upstream_down", "no_fallback", "failed") else logging.INFO,
                "relay %s %s in %s: %s %s", slot_id, local_date, area, name, detail)
        with session() as s:
            relays.record_event(s, slot_id, local_date, name, detail, status=status)

    wait = occ.starts_at.timestamp() - LEAD_S - clock()
    if wait > 0:
        sleep(wait)
    with session() as s:  # the handover: claimed -> running, or not carried at all
        taken = relays.take(s, slot_id, local_date, now=datetime.fromtimestamp(clock(), UTC))
        result.status = relays.run_status(s, slot_id, local_date) or result.status
    if not taken:
        log.warning("relay %s %s in %s not carried: its run is %s (another carrier has it, it ended, or the "
                    "sweeper failed it)", slot_id, local_date, area, result.status)
        result.events.append("not_carried")
        return result
    with tempfile.TemporaryDirectory(prefix="bantin-relay-") as tmp:
        workdir = Path(tmp)
        feed: Feed | None = None
        mode = ""
        outages = 0
        last_try = 0.0
        last_emergency_check = -emergency_check_s
        emergency_logged = False
        pulse = carriers.Pulse(clock())  # the handover just marked the run

        def start_relay() -> Feed:
            # The carrier stops the feed at the airing's end; ffmpeg's own limit is only a safety net past it.
            # A limit at the end itself ends early: Icecast's burst-on-connect hands ffmpeg seconds of audio at
            # once, so "-t" of stream time runs out before the wall clock does and looks like an outage.
            return Feed(relay_command(src.url, target, enc, name=mount_name,
                                      duration_s=max(1.0, end - clock()) + FEED_SAFETY_S), workdir / "relay.log")

        try:
            feed, mode = start_relay(), "relay"
            result.events.append("started")  # logged on the run by the handover (relays.take)
            log.info("relay %s %s in %s: started %s", slot_id, local_date, area, src.name)
            while clock() < end:
                now = clock()
                if pulse.due(now):  # the sweeper fails a run whose carrier went silent
                    with session() as s:
                        carried = relays.heartbeat(s, slot_id, local_date, now=datetime.fromtimestamp(now, UTC))
                    if not carried:
                        raise InvalidTransition("relay run", "failed by the sweeper", "running")
                if now - last_emergency_check >= emergency_check_s:
                    last_emergency_check = now
                    defaults, live = _area_state(area, datetime.fromtimestamp(now, UTC))
                    if live and not emergency_logged:
                        emergency_logged = True
                        event("emergency", "an emergency in the area preempts the relay on the devices")
                    elif not live:
                        emergency_logged = False
                if mode == "relay" and feed is not None and not feed.running():
                    if end - clock() <= 2.0:
                        break  # ffmpeg ended with the airing
                    outages += 1
                    event("upstream_down", feed.error())
                    feed, mode = None, ""
                    defaults, _ = _area_state(area, datetime.fromtimestamp(clock(), UTC))
                    try:
                        files = _fallback_files(defaults, workdir)
                    except Exception as exc:  # noqa: BLE001 (a missing object: fall back to nothing, logged)
                        log.warning("default content of %s unavailable: %s", area, exc)
                        files = []
                    if files:
                        feed = Feed(files_command(files, target, enc, workdir / "fallback.txt", name=mount_name,
                                                  duration_s=max(1.0, end - clock())), workdir / "fallback.log")
                        mode = "fallback"
                        event("fallback", f"{len(files)} default item(s) on the mount", status=RelayRunStatus.FALLBACK)
                    else:
                        mode = "silent"
                        event("no_fallback", "the area has no default content: devices play their own files",
                              status=RelayRunStatus.FALLBACK)
                    last_try = clock()
                elif mode in ("fallback", "silent") and clock() - last_try >= retry_s:
                    last_try = clock()
                    try:
                        probe_stream(src.url, timeout_s=min(10.0, retry_s))
                    except (MediaError, EngineError):
                        pass
                    else:
                        if feed is not None:
                            feed.stop()
                        feed, mode = start_relay(), "relay"
                        event("upstream_back", src.name, status=RelayRunStatus.RUNNING)
                elif mode == "fallback" and feed is not None and not feed.running() and end - clock() > 2.0:
                    feed = feed.again(workdir / "fallback.log")  # the loop ended early: again
                sleep(check_s)
        except InvalidTransition as exc:  # the sweeper failed the run meanwhile: it is not ours to write to
            log.warning("relay %s %s in %s: the carrier stops, its run was moved without it (%s)", slot_id,
                        local_date, area, exc)
            result.status = RelayRunStatus.FAILED.value
            result.events.append("superseded")
            return result
        except Exception as exc:  # our own failure (database, disk): the run must not stay "running"
            event("failed", str(exc)[:300], status=RelayRunStatus.FAILED)
            raise
        finally:
            if feed is not None:
                feed.stop()
    final = RelayRunStatus.DONE if outages == 0 else RelayRunStatus.FALLBACK
    event("ended", f"{outages} outage(s)", status=final)
    return result
