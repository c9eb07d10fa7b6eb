"""Carrying live sessions on the air: the browser's audio into ffmpeg, ffmpeg into the session's mount, the
recording into the object store and the archive, and the sessions that must end.

The web app hands every chunk the browser's MediaRecorder sends to :func:`push`; the first one starts the
session's ffmpeg (``engines.icecast.live_command``), which normalises loudness single-pass and writes MP3 both
to the mount and to a copy. A watchdog thread ends a session whose browser has sent nothing for
``BANTIN_LIVE_GRACE_S`` (reason ``dropped``, logged) or that reached its maximum length (``max_length``).
When a session ends, ffmpeg is let finish, the copy is stored under a content key and becomes an archive entry
(transcribed when a speech model is installed; without one the entry is archived untranscribed and says so).

Feeds live in the process that received the chunks: with several web nodes, a session's chunks must reach
one node (sticky routing on ``/live/<id>``).
"""

import hashlib
import logging
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from domain.drafts import Channel
from domain.errors import InvalidInput
from domain.priority import Priority
from domain.search import ARCHIVED, EntryKind
from engines.errors import EngineError, MediaError
from engines.icecast import Feed, live_command
from services import auth, carriers, live, streaming
from services.runtime import object_store, session
from settings import get_settings
from storage.repositories import archive, audit

log = logging.getLogger(__name__)
MAX_CHUNK = 1 << 20  # a MediaRecorder slice of a few hundred ms is a few KiB


@dataclass
class OnAir:
    session_id: int
    feed: Feed
    workdir: Path
    copy_path: Path
    last_chunk: float = field(default_factory=time.monotonic)
    received: int = 0
    started: float = field(default_factory=time.monotonic)
    mount_up: bool = False  # the mount carried the session once (the encoder read the audio)


_feeds: dict[int, OnAir] = {}
_pulse = carriers.Pulse()  # when the sessions fed here are next marked alive (services.live.heartbeat)
_lock = threading.Lock()
_watchdog: threading.Thread | None = None
Transcribe = Callable[..., Any]


def _mount_code(mount: str) -> str:
    return mount[len("/area-"):-len(".mp3")]


def push(session_id: int, data: bytes, *, actor: str) -> int:
    """One chunk of the browser's recording; the bytes received so far.

    Raises:
        NotFound: no such session.
        Forbidden: ``actor`` may not go live in its areas (checked with the first chunk).
        InvalidInput: the session is not on air (ended, or ended by the watchdog), an empty or oversized chunk,
            or the encoder refused the audio (the session is then ended as ``failed``).
    """
    if not data or len(data) > MAX_CHUNK:
        raise InvalidInput(f"a live audio chunk must hold 1 to {MAX_CHUNK} bytes")
    with _lock:
        air = _feeds.get(session_id)
    if air is None:
        air = _open(session_id, actor)
    try:
        air.feed.write(data)
    except MediaError as exc:
        log.warning("live session %s: the encoder refused the audio: %s", session_id, exc)
        end(session_id, "failed")
        raise InvalidInput("the live audio could not be encoded (wrong codec?)") from None
    air.last_chunk = time.monotonic()
    air.received += len(data)
    return air.received


def _open(session_id: int, actor: str) -> OnAir:
    with session() as s:
        rec = live.get(s, session_id)
        if actor != "system":
            auth.require_actor(s, actor, "live.broadcast", area_codes=list(rec.area_codes), what="go on air live")
        if rec.status != live.LIVE:
            raise InvalidInput(f"live session {session_id} is not on air")
        mount, title = rec.mount, rec.title
    workdir = Path(tempfile.mkdtemp(prefix=f"bantin-live-{session_id}-"))
    copy = workdir / "recording.mp3"
    target = streaming.mount_target(_mount_code(mount))
    try:
        command = live_command(target, streaming.encoding(), copy, name=title)
    except EngineError:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    with _lock:
        found = _feeds.get(session_id)
        if found is not None:  # two first chunks raced: keep the first feed
            shutil.rmtree(workdir, ignore_errors=True)
            return found
        air = _feeds[session_id] = OnAir(session_id, Feed(command, workdir / "ffmpeg.log", stdin=True), workdir, copy)
    _ensure_watchdog()
    log.info("live session %s on %s", session_id, mount)
    threading.Thread(target=_nudge_when_up, args=(air, mount), name=f"live-nudge-{session_id}",
                     daemon=True).start()
    return air


def _nudge_when_up(air: OnAir, mount: str) -> None:
    """Once the mount carries the session, ask its areas' devices to poll now. A mount that does not come up
    within the grace period (audio the encoder cannot read) ends the session in the watchdog's sweep."""
    deadline = air.started + get_settings().live_grace_s
    while time.monotonic() < deadline and air.feed.running():
        if streaming.mount_has_source(mount):
            air.mount_up = True
            log.info("live session %s: mount up %.1f s after the first audio", air.session_id,
                     time.monotonic() - air.started)
            nudge(air.session_id, "start")
            return
        time.sleep(0.1)


def nudge(session_id: int, reason: str) -> bool:
    """Publish a refetch on the MQTT topic of every area of the session (not retained, expiring in a minute);
    False when no broker is configured or it failed (devices then switch at their next poll; logged)."""
    from domain.canonical import canonical_json
    from domain.devices import refetch_topic
    from services.emergency import MqttMessage, MqttUnavailable, publish_mqtt

    if not get_settings().mqtt_host:
        return False
    with session() as s:
        codes = list(live.get(s, session_id).area_codes)
    body = canonical_json({"schema": "bantin.refetch/1", "reason": f"live.{reason}", "live_session": session_id})
    try:
        publish_mqtt([MqttMessage(refetch_topic(c), body, 60, "", "refetch", retain=False) for c in codes])
    except MqttUnavailable as exc:
        log.warning("live session %s: devices not nudged over MQTT (%s); they switch at their next poll",
                    session_id, exc)
        return False
    return True


def end(session_id: int, reason: str = "stopped", *, actor: str = "system",
        transcribe: Transcribe | None = None) -> int | None:
    """End a session (its ffmpeg finishes, the recording is stored and archived); the archive entry id, or None
    when nothing was recorded. A session already ended by someone else is only cleaned up here.

    Raises:
        Forbidden: ``actor`` may not stop it (nothing is ended then).
    """
    with session() as s:
        live.stop(s, session_id, actor=actor, reason=reason)
    with _lock:
        air = _feeds.pop(session_id, None)
    if air is None:
        return None
    nudge(session_id, reason)
    if reason == "dropped":
        log.warning("live session %s: the browser sent nothing for %.0f s; ended", session_id,
                    time.monotonic() - air.last_chunk)
    code = air.feed.finish()
    try:
        if not air.copy_path.exists() or air.copy_path.stat().st_size == 0:
            log.warning("live session %s ended with no recording (ffmpeg %s: %s)", session_id, code, air.feed.error())
            return None
        return archive_recording(session_id, air.copy_path, transcribe=transcribe)
    finally:
        shutil.rmtree(air.workdir, ignore_errors=True)


def archive_recording(session_id: int, path: Path, *, transcribe: Transcribe | None = None) -> int:
    """Store a session's recording and make it an archive entry (transcribed when a model is available)."""
    from engines import asr

    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    stored = object_store().put_file(path, ext="mp3", media_type="audio/mpeg")
    text, segments = "", []
    meta: dict[str, object] = {"live_session": session_id, "transcribed": False}
    duration = None
    try:
        result = (transcribe or asr.transcribe)(path, language="vi")
        text, duration = result.text, result.duration_s
        segments = [[seg.start, seg.end, seg.text] for seg in result.segments]
        meta.update(transcribed=True, engine=result.engine, model=result.model)
    except Exception as exc:  # noqa: BLE001 (no model, or no speech: the recording is archived all the same)
        log.warning("live session %s archived without a transcript: %s", session_id, exc)
        meta["why_untranscribed"] = str(exc)[:200]
    with session() as s:
        rec = live.get(s, session_id)
        data = archive.EntryData(
            kind=EntryKind.RECORDING, language="vi", title=rec.title, sections=[{"kind": "transcript", "text": text}],
            area_codes=list(rec.area_codes), status=ARCHIVED, broadcast_at=rec.started_at, source_sha256=digest,
            priority=(Priority.KHAN_CAP if rec.emergency else Priority.UU_TIEN).value,
            channels=[Channel.LOUDSPEAKER.value], segments=segments, recording_key=stored.key,
            source_name=f"live-{session_id}", duration_s=duration, meta=meta)
        entry, _ = archive.upsert_entry(s, data, salt=session_id)
        rec.recording_key, rec.archive_entry_id = stored.key, entry.id
        audit.record(s, actor="system", action="live.archived", entity="live_session", entity_id=session_id,
                     archive_entry_id=entry.id, recording_key=stored.key, transcribed=meta["transcribed"])
        return entry.id


def sweep(now: float | None = None) -> list[tuple[int, str]]:
    """End the sessions whose browser went silent or that reached their maximum length, and stop feeding those
    ended elsewhere (the CLI, the sweeper): (id, reason). Marks the sessions fed here alive every
    ``BANTIN_CARRIER_HEARTBEAT_S`` (the sweeper fails a session whose carrier went silent)."""
    now = time.monotonic() if now is None else now
    grace = get_settings().live_grace_s
    with _lock:
        silent = [sid for sid, air in _feeds.items() if now - air.last_chunk > grace]
        broken = [sid for sid, air in _feeds.items()
                  if not air.feed.running() or (not air.mount_up and now - air.started > grace)]
    with session() as s:
        expired = live.expire_due(s, datetime.now(UTC))
        fed = on_air()
        gone = [sid for sid in fed if sid not in expired and live.get(s, sid).status != live.LIVE]
        if _pulse.due(now):  # the sweeper fails sessions whose carrier went silent
            live.heartbeat(s, [sid for sid in fed if sid not in gone])
    with _lock:
        expired = [sid for sid in expired if sid in _feeds]
    done = []
    for sid in gone:  # stopped elsewhere (the CLI, another node, the sweeper): stop feeding, archive
        end(sid, "stopped")
        done.append((sid, "stopped"))
    broken = [sid for sid in broken if sid not in gone]
    silent = [sid for sid in silent if sid not in gone]
    for sid in expired:
        end(sid, "max_length")
        done.append((sid, "max_length"))
    for sid in broken:
        if sid not in expired:
            with _lock:
                air = _feeds.get(sid)
            log.warning("live session %s: the encoder %s; ended", sid,
                        f"stopped: {air.feed.error()}" if air and not air.feed.running()
                        else "never put the audio on the mount")
            end(sid, "failed")
            done.append((sid, "failed"))
    for sid in silent:
        if sid not in expired and sid not in broken:
            end(sid, "dropped")
            done.append((sid, "dropped"))
    return done


def _watch() -> None:
    global _watchdog
    while True:
        time.sleep(1.0)
        with _lock:
            if not _feeds:  # nothing on the air: the next session starts a new watchdog
                _watchdog = None
                return
        try:
            sweep()
        except Exception:  # noqa: BLE001 (the watchdog must outlive one bad sweep)
            log.exception("live watchdog sweep failed")


def _ensure_watchdog() -> None:
    global _watchdog
    with _lock:
        if _watchdog is None or not _watchdog.is_alive():
            _watchdog = threading.Thread(target=_watch, name="live-watchdog", daemon=True)
            _watchdog.start()


def end_all(reason: str = "failed") -> None:
    """End every session this process feeds (the web app shutting down)."""
    for sid in on_air():
        try:
            end(sid, reason)
        except Exception:  # noqa: BLE001 (one bad session must not keep the others on the air)
            log.exception("ending live session %s failed", sid)


def carrying(session_id: int) -> bool:
    """Whether this process feeds the session and its mount has carried it."""
    with _lock:
        air = _feeds.get(session_id)
    return air is not None and air.mount_up


def on_air() -> list[int]:
    """Sessions this process is feeding."""
    with _lock:
        return sorted(_feeds)
