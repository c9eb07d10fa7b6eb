"""The audit chain: each entry's hash covers its content and the previous entry's hash.

Changing any stored field of an entry changes its hash; deleting an entry leaves a gap in the sequence
numbers and a ``prev_hash`` that names nothing; deleting the newest entries is caught by comparing the
chain's end with the separately stored head (sequence number and hash of the last entry).
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from domain.canonical import canonical_json, sha256_hex

GENESIS_HASH = "0" * 64  # the "previous hash" of the first entry
CHAIN_FORMAT = "bantin.audit/1"  # part of every hashed body, so a future format cannot collide


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One stored entry as the chain sees it."""

    seq: int
    at: datetime
    actor: str
    action: str
    entity: str
    entity_id: str
    detail: dict[str, Any]
    prev_hash: str
    hash: str = ""
    row_id: int | None = None  # the database id, for messages only (not hashed)


def entry_hash(e: AuditEntry) -> str:
    """SHA-256 of the canonical JSON of everything stored about the entry except its own hash."""
    body = {
        "format": CHAIN_FORMAT,
        "seq": e.seq,
        "at": e.at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor": e.actor,
        "action": e.action,
        "entity": e.entity,
        "entity_id": e.entity_id,
        "detail": e.detail,
        "prev": e.prev_hash,
    }
    return sha256_hex(canonical_json(body))


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem in the chain, naming the entry (sequence number and row id) it was found at."""

    seq: int
    row_id: int | None
    problem: str

    def __str__(self) -> str:
        where = f"entry #{self.seq}" + (f" (row id {self.row_id})" if self.row_id is not None else "")
        return f"{where}: {self.problem}"


def verify_chain(entries: Iterable[AuditEntry], *, head_seq: int, head_hash: str) -> tuple[int, list[Finding]]:
    """Walk entries in sequence order and report every break.

    Args:
        entries: the stored entries, ordered by ``seq``.
        head_seq: the sequence number the head says was written last (0 for an empty log).
        head_hash: the hash the head says the last entry has.

    Returns:
        How many entries were read, and the findings (empty when the chain is intact).
    """
    findings: list[Finding] = []
    expected_seq, prev_hash, count = 1, GENESIS_HASH, 0
    for e in entries:
        count += 1
        if e.seq > expected_seq:
            missing = f"#{expected_seq}" if e.seq == expected_seq + 1 else f"#{expected_seq}-#{e.seq - 1}"
            findings.append(Finding(e.seq, e.row_id, f"entries {missing} before it are missing (deleted)"))
        elif e.seq < expected_seq:
            findings.append(Finding(e.seq, e.row_id, "sequence number repeats or goes backwards"))
        elif e.prev_hash != prev_hash:
            findings.append(Finding(e.seq, e.row_id, "does not follow the entry before it "
                                    "(that entry was modified and re-hashed, or replaced)"))
        if entry_hash(e) != e.hash:
            findings.append(Finding(e.seq, e.row_id, "content was modified (its hash no longer matches)"))
        expected_seq, prev_hash = e.seq + 1, e.hash
    last_seq = expected_seq - 1
    if head_seq > last_seq:
        findings.append(Finding(head_seq, None, f"entries #{last_seq + 1}-#{head_seq} at the end are missing "
                                "(deleted)" if head_seq > last_seq + 1 else "the last entry is missing (deleted)"))
    elif head_seq < last_seq:
        findings.append(Finding(last_seq, None, f"entries after #{head_seq} were written outside the log's head"))
    elif head_seq and head_hash != prev_hash:
        findings.append(Finding(last_seq, None, "the last entry differs from the one the head recorded"))
    return count, findings


CHECKPOINT_SCHEMA = "bantin.audit-checkpoint/1"


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A signed statement of the chain's end at one moment: ``seq`` entries, the last one hashing to ``hash``.

    Kept outside the table (the object store and a file an auditor keeps), it anchors the chain: a log cut
    back before ``seq``, emptied, or rewritten and re-hashed from the start no longer reaches the same hash.
    """

    seq: int
    hash: str
    at: datetime

    def document(self) -> dict[str, Any]:
        """The body to sign (``domain.signatures.sign_document`` adds the signature)."""
        return {"schema": CHECKPOINT_SCHEMA, "seq": self.seq, "hash": self.hash,
                "at": self.at.astimezone(UTC).isoformat(timespec="seconds")}


def checkpoint_of(document: dict[str, Any]) -> Checkpoint:
    """Read a (signature-checked) checkpoint document.

    Raises:
        ValueError: not a checkpoint of this format.
    """
    if document.get("schema") != CHECKPOINT_SCHEMA:
        raise ValueError(f"not an audit checkpoint (schema {document.get('schema')!r})")
    seq, digest, at = document.get("seq"), document.get("hash"), document.get("at")
    if not isinstance(seq, int) or seq < 0 or not isinstance(digest, str) or len(digest) != 64 \
            or not isinstance(at, str):
        raise ValueError("malformed audit checkpoint")
    return Checkpoint(seq=seq, hash=digest, at=datetime.fromisoformat(at))


def check_checkpoint(cp: Checkpoint, *, count: int, last_seq: int, hash_at_seq: str | None) -> list[Finding]:
    """Compare the stored chain with one checkpoint.

    Args:
        count: how many entries the table holds now.
        last_seq: the highest sequence number in the table (0 when empty).
        hash_at_seq: the stored hash of entry ``cp.seq`` (None when there is no such entry).
    """
    if cp.seq == 0:
        return []
    when = cp.at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    if count == 0:
        return [Finding(cp.seq, None, f"the log is empty, but the checkpoint of {when} signed {cp.seq} entries "
                                      "(the log was emptied)")]
    if last_seq < cp.seq:
        return [Finding(cp.seq, None, f"the log ends at #{last_seq}, but the checkpoint of {when} signed entries "
                                      f"up to #{cp.seq} (the end was cut off)")]
    if hash_at_seq is None:
        return [Finding(cp.seq, None, f"entry #{cp.seq}, signed by the checkpoint of {when}, is missing")]
    if hash_at_seq != cp.hash:
        return [Finding(cp.seq, None, f"entry #{cp.seq} differs from the checkpoint of {when} (the chain was "
                                      "rewritten and its hashes recomputed)")]
    return []
