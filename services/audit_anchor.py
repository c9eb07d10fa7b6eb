"""The audit chain anchored outside its table: signed checkpoints and a verification that uses them.

The chain alone (``domain.audit.verify_chain``) proves that entries were not edited or removed *in the
middle*; whoever can write the table can still cut its end and rewind the head, empty it, or rewrite every
entry and recompute every hash. A checkpoint closes that: the installation's Ed25519 key
(``services.signing``) signs the sequence number and hash of the last entry, and the signed document is
written where the database cannot reach it:

* the object store, at ``audit/checkpoints/<seq>.json`` and ``audit/checkpoints/latest.json``;
* a file an auditor keeps (``bantin audit checkpoint --file``, one JSON document per line), ideally copied
  off the machine; ``bantin audit verify --checkpoints FILE`` checks the log against every line of it.

A log cut back before a checkpoint, emptied, or rewritten from the start no longer reaches a checkpoint's
hash, and ``verify`` says so. Entries written after the last checkpoint are protected by the chain only, so
checkpoints are automatic: the sweeper writes one whenever the log grew (:func:`checkpoint_if_due`, at most
every ``BANTIN_AUDIT_CHECKPOINT_INTERVAL_S``), and every HTTTN payload carries the latest one
(:func:`latest_checkpoint`), so each receiver keeps a signed copy of the head off this machine too.
Verification also reports append-only triggers that were dropped or disabled.
"""

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from domain.audit import Checkpoint, check_checkpoint, checkpoint_of
from domain.canonical import canonical_json
from domain.errors import InvalidInput
from domain.signatures import SignatureInvalid, verify_document
from services import signing
from storage.errors import ObjectNotFound
from storage.objects import ObjectStore
from storage.repositories import audit

LATEST_KEY = "audit/checkpoints/latest.json"


def checkpoint_key(seq: int) -> str:
    return f"audit/checkpoints/{seq:012d}.json"


@dataclass(frozen=True, slots=True)
class AuditReport:
    """What ``verify`` found: the entry count, the head, every problem, and the checkpoints it used."""

    count: int
    head_seq: int
    head_hash: str
    problems: list[str] = field(default_factory=list)
    checkpoints: list[tuple[str, Checkpoint]] = field(default_factory=list)  # (where from, checkpoint)

    @property
    def intact(self) -> bool:
        return not self.problems


def _chain_problems(s: Session) -> tuple[int, list[str]]:
    count, findings = audit.verify(s)
    problems = [str(f) for f in findings]
    problems += [f"the append-only trigger {name} was dropped or disabled" for name in audit.missing_guards(s)]
    return count, problems


def write_checkpoint(s: Session, store: ObjectStore, *, file: Path | None = None,
                     now: datetime | None = None) -> tuple[dict[str, Any] | None, AuditReport]:
    """Sign the current head and store it (object store, and ``file`` when given) — if the log is intact.

    A broken log is not checkpointed (that would bless the damage): the report lists its problems and
    nothing is written.

    Returns:
        The signed checkpoint document (None when nothing was written) and the verification report.
    """
    report = verify(s, store, files=[file] if file is not None and file.exists() else [])
    if not report.intact:
        return None, report
    cp = Checkpoint(seq=report.head_seq, hash=report.head_hash, at=now or datetime.now(UTC))
    document = signing.sign(cp.document())
    data = canonical_json(document)
    store.put_at(checkpoint_key(cp.seq), data, media_type="application/json")
    store.put_at(LATEST_KEY, data, media_type="application/json")
    if file is not None:
        file.parent.mkdir(parents=True, exist_ok=True)
        with file.open("ab") as fh:
            fh.write(data + b"\n")
    return document, report


def latest_checkpoint(store: ObjectStore) -> dict[str, Any] | None:
    """The last signed checkpoint document in the object store (None before the first), as written: receivers
    verify its signature with the keys published at ``GET /device/v1/keys``."""
    try:
        document = json.loads(store.get_bytes(LATEST_KEY))
    except ObjectNotFound:
        return None
    return document if isinstance(document, dict) else None


def checkpoint_if_due(s: Session, store: ObjectStore, *, now: datetime, interval_s: float,
                      file: Path | None = None) -> tuple[dict[str, Any] | None, AuditReport | None]:
    """Write a checkpoint when the log grew since the latest one and that one is at least ``interval_s`` old
    (the sweeper's step; cheap when nothing changed: no chain walk).

    Returns:
        ``(document, report)`` as :func:`write_checkpoint` (document None: the log is broken, see the report),
        or ``(None, None)`` when no checkpoint was due.
    """
    latest = latest_checkpoint(store)
    if latest is not None:
        try:
            cp = checkpoint_of(latest)
        except ValueError:
            cp = None  # unreadable: write a fresh one (verify reports the bad copy)
        if cp is not None and (cp.seq == audit.head(s)[0] or (now - cp.at).total_seconds() < interval_s):
            return None, None
    return write_checkpoint(s, store, file=file, now=now)


def _read(document: Any, trusted: dict[str, bytes]) -> Checkpoint:
    if not isinstance(document, dict):
        raise ValueError("not a JSON object")
    verify_document(document, trusted)
    return checkpoint_of(document)


def _from_store(store: ObjectStore, trusted: dict[str, bytes]) -> tuple[list[tuple[str, Checkpoint]], list[str]]:
    try:
        data = store.get_bytes(LATEST_KEY)
    except ObjectNotFound:
        return [], []
    try:
        return [("object store", _read(json.loads(data), trusted))], []
    except (ValueError, SignatureInvalid) as exc:
        return [], [f"the checkpoint in the object store is not valid ({exc}): it was altered or forged"]


def _from_file(path: Path, trusted: dict[str, bytes]) -> tuple[list[tuple[str, Checkpoint]], list[str]]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"cannot read the checkpoint file {path.name}: {exc.__class__.__name__}") from None
    found, problems = [], []
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            found.append((f"{path.name} line {n}", _read(json.loads(line), trusted)))
        except (ValueError, SignatureInvalid) as exc:
            problems.append(f"{path.name} line {n} is not a valid checkpoint ({exc}): it was altered or forged")
    return found, problems


def verify(s: Session, store: ObjectStore, *, files: Iterable[Path] = ()) -> AuditReport:
    """Check the chain, its append-only triggers, and the log against every checkpoint found."""
    count, problems = _chain_problems(s)
    head_seq, head_hash = audit.head(s)
    trusted = signing.all_public_keys()
    found, bad = _from_store(store, trusted)
    problems += bad
    for path in files:
        more, bad = _from_file(path, trusted)
        found += more
        problems += bad
    rows, last_seq = audit.extent(s)
    seen: set[tuple[int, str]] = set()
    for _, cp in found:
        if (cp.seq, cp.hash) in seen:
            continue
        seen.add((cp.seq, cp.hash))
        problems += [str(f) for f in check_checkpoint(cp, count=rows, last_seq=last_seq,
                                                      hash_at_seq=audit.hash_at(s, cp.seq))]
    return AuditReport(count=count, head_seq=head_seq, head_hash=head_hash, problems=problems, checkpoints=found)
