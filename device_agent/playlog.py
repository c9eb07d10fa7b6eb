"""Durable outbox for play logs and emergency acknowledgements (SQLite in the state directory).

Every play is written (and committed) before anything is sent; an entry is deleted only after the server
accepted the batch that carried it. Each entry has a UUID ``log_id``, so a batch re-sent after a lost answer
is counted once by the server. Acknowledgements wait in the same database when the server is unreachable.
"""

import json
import logging
import sqlite3
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from device_agent.identity import set_aside

BATCH = 500
# Some ten years of plays at the default cadence (~60 MB). Past it the oldest entries are dropped, counted and
# logged: a box offline for ever must not fill its disk, which would stop the schedule and plan writes too.
MAX_QUEUED = 200_000
log = logging.getLogger(__name__)


class Outbox:
    """Play logs and acks waiting for the server."""

    def __init__(self, path: Path, max_queued: int = MAX_QUEUED) -> None:
        self._lock = threading.Lock()
        self.max_queued = max_queued
        self.dropped = 0
        try:
            self._db = self._open(path)
        except sqlite3.DatabaseError as exc:  # "file is not a database", "malformed": keep playing and logging
            for part in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
                if part.exists():
                    set_aside(part, exc)
            self._db = self._open(path)

    @staticmethod
    def _open(path: Path) -> sqlite3.Connection:
        """Open (or create) the outbox, checked: a corrupt file fails here, not at the first play."""
        db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        try:
            Outbox._prepare(db)
        except sqlite3.DatabaseError:
            db.close()
            raise
        return db

    @staticmethod
    def _prepare(db: sqlite3.Connection) -> None:
        check = db.execute("PRAGMA quick_check").fetchone()[0]
        if check != "ok":
            raise sqlite3.DatabaseError(f"quick_check: {check}")
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.execute("CREATE TABLE IF NOT EXISTS playlog (seq INTEGER PRIMARY KEY AUTOINCREMENT, "
                   "log_id TEXT UNIQUE NOT NULL, entry TEXT NOT NULL)")
        db.execute("CREATE TABLE IF NOT EXISTS playlog_rejected (seq INTEGER PRIMARY KEY AUTOINCREMENT, "
                   "entry TEXT NOT NULL, reason TEXT NOT NULL)")
        db.execute("CREATE TABLE IF NOT EXISTS ack (item_id TEXT PRIMARY KEY, entry TEXT NOT NULL, "
                   "sent INTEGER NOT NULL DEFAULT 0)")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def add_play(self, *, item_id: str, manifest_hash: str, started_at: str, ended_at: str, completed: bool,
                 trigger: str) -> str:
        """Queue one play; returns its ``log_id``."""
        log_id = str(uuid.uuid4())
        entry = {"log_id": log_id, "item_id": item_id, "manifest_hash": manifest_hash, "started_at": started_at,
                 "ended_at": ended_at, "completed": completed, "trigger": trigger}
        with self._lock:
            seq = self._db.execute("INSERT INTO playlog (log_id, entry) VALUES (?, ?)",
                                   (log_id, json.dumps(entry))).lastrowid
            oldest = self._db.execute("SELECT min(seq) FROM playlog").fetchone()[0]
            if seq is not None and oldest is not None and seq - oldest >= self.max_queued:  # cheap upper bound
                excess = int(self._db.execute("SELECT count(*) FROM playlog").fetchone()[0]) - self.max_queued
                if excess > 0:
                    self._db.execute("DELETE FROM playlog WHERE seq IN (SELECT seq FROM playlog ORDER BY seq LIMIT ?)",
                                     (excess,))
                    self.dropped += excess
                    log.error("play-log queue full (%d entries): dropped the %d oldest", self.max_queued, excess)
        return log_id

    def pending_plays(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM playlog").fetchone()[0])

    def flush_plays(self, send: Callable[[list[dict[str, Any]]], Any], batch: int = BATCH,
                    rejected: tuple[type[Exception], ...] = ()) -> int:
        """Send queued plays oldest first in batches of at most ``batch``; delete each batch once accepted.

        ``send`` raises on failure: the batch stays queued and is re-sent later with the same ``log_id`` values.
        When it raises one of ``rejected`` (the server refuses the content, not the connection), the batch is
        split until the refused entry is alone; that entry moves to the ``playlog_rejected`` table (kept for
        inspection) so one bad entry never blocks the queue.

        Returns:
            How many entries the server accepted (new or duplicate) during this call.
        """
        done, size = 0, batch
        while True:
            with self._lock:
                rows = self._db.execute("SELECT seq, entry FROM playlog ORDER BY seq LIMIT ?", (size,)).fetchall()
            if not rows:
                return done
            try:
                send([json.loads(entry) for _, entry in rows])
            except rejected as exc:
                if len(rows) > 1:
                    size = max(1, len(rows) // 2)
                    continue
                with self._lock:
                    self._db.execute("INSERT INTO playlog_rejected (entry, reason) VALUES (?, ?)",
                                     (rows[0][1], str(exc)[:500]))
                    self._db.execute("DELETE FROM playlog WHERE seq = ?", (rows[0][0],))
                log.error("play log refused by the server, kept aside in playlog_rejected: %s", exc)
                size = batch
                continue
            with self._lock:
                self._db.execute("DELETE FROM playlog WHERE seq <= ?", (rows[-1][0],))
            done += len(rows)
            size = batch

    def rejected_plays(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM playlog_rejected").fetchone()[0])

    def add_ack(self, *, item_id: str, manifest_hash: str, received_at: str, channel: str) -> bool:
        """Queue an acknowledgement; False when this item was already acknowledged (or queued)."""
        entry = {"manifest_hash": manifest_hash, "item_id": item_id, "received_at": received_at, "channel": channel}
        with self._lock:
            cur = self._db.execute("INSERT OR IGNORE INTO ack (item_id, entry) VALUES (?, ?)",
                                   (item_id, json.dumps(entry)))
            return cur.rowcount == 1

    def flush_acks(self, send: Callable[[dict[str, Any]], Any], rejected: tuple[type[Exception], ...] = ()) -> int:
        """Send acknowledgements not yet accepted; returns how many the server accepted now.

        An ack the server refuses (one of ``rejected``) is marked ``sent = -1`` and never re-sent: re-sending
        it unchanged cannot help, and the play logs flushed after the acks must not wait behind it forever.
        """
        with self._lock:
            rows = self._db.execute("SELECT item_id, entry FROM ack WHERE sent = 0").fetchall()
        done = 0
        for item_id, entry in rows:
            try:
                send(json.loads(entry))
            except rejected as exc:
                log.error("acknowledgement for %s refused by the server, not re-sent: %s", item_id, exc)
                with self._lock:
                    self._db.execute("UPDATE ack SET sent = -1 WHERE item_id = ?", (item_id,))
                continue
            with self._lock:
                self._db.execute("UPDATE ack SET sent = 1 WHERE item_id = ?", (item_id,))
            done += 1
        return done
