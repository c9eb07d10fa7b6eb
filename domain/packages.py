"""Packages: everything produced from one draft revision, identified by its manifest's SHA-256.

A package is immutable once produced. A change (a corrected variant, a new revision) makes a new package
with a new manifest and needs a new approval.
"""

import json
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from domain.canonical import canonical_json, sha256_hex
from domain.errors import ManifestMismatch
from domain.statemachine import check_transition

MANIFEST_SCHEMA = "bantin.manifest/1"


class PackageStatus(StrEnum):
    PRODUCING = "producing"
    FAILED = "failed"  # a step failed; what was produced is kept and produce can be rerun
    IN_REVIEW = "in_review"
    APPROVED = "approved"
    REJECTED = "rejected"
    SCHEDULED = "scheduled"  # approved, held until its embargo time, then published by publish_due
    PUBLISHED = "published"
    CORRECTED = "corrected"  # was published; a later package of the same draft was published in its place
    SUPERSEDED = "superseded"  # a newer package of the same draft replaced it before publication
    WITHDRAWN = "withdrawn"
    KILLED = "killed"


PACKAGE_TRANSITIONS: dict[PackageStatus, frozenset[PackageStatus]] = {
    PackageStatus.PRODUCING: frozenset({PackageStatus.IN_REVIEW, PackageStatus.FAILED}),
    PackageStatus.FAILED: frozenset({PackageStatus.PRODUCING, PackageStatus.SUPERSEDED}),
    PackageStatus.IN_REVIEW: frozenset({PackageStatus.APPROVED, PackageStatus.REJECTED, PackageStatus.SUPERSEDED}),
    PackageStatus.APPROVED: frozenset(
        {PackageStatus.PUBLISHED, PackageStatus.SCHEDULED, PackageStatus.SUPERSEDED, PackageStatus.WITHDRAWN}
    ),
    PackageStatus.SCHEDULED: frozenset({PackageStatus.PUBLISHED, PackageStatus.SUPERSEDED, PackageStatus.WITHDRAWN}),
    PackageStatus.PUBLISHED: frozenset({PackageStatus.CORRECTED, PackageStatus.WITHDRAWN, PackageStatus.KILLED}),
    PackageStatus.CORRECTED: frozenset({PackageStatus.WITHDRAWN, PackageStatus.KILLED}),
    PackageStatus.REJECTED: frozenset(),
    PackageStatus.SUPERSEDED: frozenset(),
    PackageStatus.WITHDRAWN: frozenset(),
    PackageStatus.KILLED: frozenset(),
}


# A package an approver may still withdraw (or kill, once published).
WITHDRAWABLE = frozenset(s for s, targets in PACKAGE_TRANSITIONS.items() if PackageStatus.WITHDRAWN in targets)


def transition_package(current: PackageStatus, target: PackageStatus) -> PackageStatus:
    """Enforce :data:`PACKAGE_TRANSITIONS`; raises ``InvalidTransition``."""
    return check_transition("package", PACKAGE_TRANSITIONS, current, target)


class AssetKind(StrEnum):
    SCRIPT = "script"  # loudspeaker script text
    BOARD_TEXT = "board_text"  # short text for e-boards
    AUDIO = "audio"  # loudness-normalised broadcast audio
    SLIDE = "slide"  # 1920x1080 PNG for e-boards
    RAW_SPEECH = "raw_speech"  # synthesiser output before loudness normalisation: kept, not published
    SPEECH_TEXT = "speech_text"  # the script as the voice reads it (numbers, dates, acronyms in words)

    @property
    def in_manifest(self) -> bool:
        return self is not AssetKind.RAW_SPEECH


class VariantStatus(StrEnum):
    READY = "ready"
    BLOCKED = "blocked"  # e.g. awaiting a person's translation; never filled with another language's text


@dataclass(frozen=True, slots=True)
class Asset:
    kind: AssetKind
    key: str
    sha256: str
    size: int
    media_type: str
    meta: dict[str, Any] = field(default_factory=dict)

    def to_manifest(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "key": self.key,
            "sha256": self.sha256,
            "size": self.size,
            "media_type": self.media_type,
            "meta": self.meta,
        }


@dataclass(frozen=True, slots=True)
class Variant:
    language: str
    status: VariantStatus
    assets: tuple[Asset, ...] = ()
    blocked_reason: str = ""

    def asset(self, kind: AssetKind) -> Asset | None:
        return next((a for a in self.assets if a.kind is kind), None)


@dataclass(frozen=True, slots=True)
class Manifest:
    """The package's identity: ``hash`` is the SHA-256 of ``body``'s canonical JSON."""

    body: dict[str, Any]
    hash: str

    @property
    def data(self) -> bytes:
        return canonical_json(self.body)


def build_manifest(
    *,
    draft_id: int,
    revision: int,
    content_hash: str,
    title: str,
    priority: str,
    areas: list[str],
    channels: list[str],
    embargo_at: str | None,
    expires_at: str | None,
    source_ref: str,
    requesting_unit: str,
    variants: list[Variant],
) -> Manifest:
    """Assemble a manifest. It holds no timestamps of production, so producing the same revision twice
    with the same engines yields the same hash (reruns are idempotent)."""
    body = {
        "schema": MANIFEST_SCHEMA,
        "draft": {"id": draft_id, "revision": revision, "content_hash": content_hash},
        "title": title,
        "priority": priority,
        "areas": sorted(areas),
        "channels": sorted(channels),
        "embargo_at": embargo_at,
        "expires_at": expires_at,
        "source_ref": source_ref,
        "requesting_unit": requesting_unit,
        "variants": [
            {
                "language": v.language,
                "status": v.status.value,
                "blocked_reason": v.blocked_reason,
                "assets": [a.to_manifest() for a in sorted(v.assets, key=lambda a: (a.kind.value, a.key))],
            }
            for v in sorted(variants, key=lambda v: v.language)
        ],
    }
    return Manifest(body=body, hash=sha256_hex(canonical_json(body)))


def verify_manifest(data: bytes, expected_hash: str) -> dict[str, Any]:
    """Parse stored manifest bytes after checking they hash to ``expected_hash``.

    Raises:
        ManifestMismatch: the bytes are not the manifest that was approved.
    """
    actual = sha256_hex(data)
    if actual != expected_hash:
        raise ManifestMismatch(f"stored manifest hashes to {actual[:12]}…, expected {expected_hash[:12]}…")
    body: dict[str, Any] = json.loads(data)
    return body
