"""What a destination receives: bantin's own documented, versioned JSON (the official HTTTN exchange
format could not be obtained). Kept in one place so an adapter for another format stays small.

``bantin.package/1`` (push of a published package)::

    {"schema": "bantin.package/1", "idempotency_key": "...", "manifest_hash": "<sha256 of manifest>",
     "manifest": {...bantin.manifest/1...}, "priority": "thuong|uu_tien|khan_cap", "areas": ["29377"],
     "valid_from": "<ISO time>|null", "valid_until": "<ISO time>|null",
     "assets": [{"key", "language", "kind", "media_type", "size", "sha256", "url"}],
     "asset_urls": {"<key>": "<url>"}, "corrects": ["<earlier manifest hash>"],
     "audit_checkpoint": {...bantin.audit-checkpoint/1...}|null, "signature": {...}}

``bantin.retraction/1`` (a withdrawal or kill of a package sent earlier)::

    {"schema": "bantin.retraction/1", "idempotency_key": "...", "action": "withdraw|kill",
     "manifest_hash": "...", "reason": "...", "retracted_at": "<ISO time>", "audit_checkpoint": {...}|null,
     "signature": {...}}

``audit_checkpoint`` is the installation's latest signed audit checkpoint (the sequence number and hash of the
audit log's last entry, signed by the same keys): a receiver that keeps it holds an anchor of the log outside
bantin, which ``bantin audit verify --checkpoints`` can check the log against.

Both are signed by the installation's key (``signature`` as in ``domain.signatures``; the public keys are
published at ``GET /device/v1/keys``). Receivers verify the signature, the manifest's hash and every asset's
SHA-256, and use ``idempotency_key`` to recognise a re-send of something they already accepted. Asset URLs
are fetchable by the receiver (``services.asset_links``: bantin's signed, expiring links with byte ranges for
the local store, presigned URLs for S3) and built anew for every send, so a resend carries fresh ones.
"""

from typing import Any

PAYLOAD_SCHEMA = "bantin.package/1"
RETRACTION_SCHEMA = "bantin.retraction/1"


def package_payload(
    *, manifest_hash: str, manifest: dict[str, Any], asset_urls: dict[str, str], idempotency_key: str,
    corrects: list[str] | None = None, valid_until: str | None = None,
    audit_checkpoint: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The JSON body pushed to a destination (unsigned; the publishing task signs it).

    ``corrects`` lists the manifest hashes of earlier published versions of the same draft that this package
    replaces (a correction). Priority, areas and the validity window are copied from the manifest so a
    receiver can route the package without parsing the manifest's inner structure. ``valid_until`` overrides
    the manifest's expiry: an emergency without one is valid for the default lifetime from its approval
    (``services.emergency_window``), as its CAP alert, MQTT message and device schedule say.
    """
    assets = [
        {"key": a["key"], "language": v["language"], "kind": a["kind"], "media_type": a["media_type"],
         "size": a["size"], "sha256": a["sha256"], "url": asset_urls[a["key"]]}
        for v in manifest.get("variants", []) for a in v.get("assets", [])
    ]
    return {
        "schema": PAYLOAD_SCHEMA,
        "idempotency_key": idempotency_key,
        "manifest_hash": manifest_hash,
        "manifest": manifest,
        "priority": manifest.get("priority"),
        "areas": list(manifest.get("areas", [])),
        "valid_from": manifest.get("embargo_at"),
        "valid_until": valid_until if valid_until is not None else manifest.get("expires_at"),
        "assets": assets,
        "asset_urls": asset_urls,
        "corrects": list(corrects or []),
        "audit_checkpoint": audit_checkpoint,
    }


def retraction_payload(*, manifest_hash: str, action: str, reason: str, retracted_at: str,
                       idempotency_key: str, audit_checkpoint: dict[str, Any] | None = None) -> dict[str, Any]:
    """The JSON body telling a destination to take a package it has off the air (unsigned)."""
    if action not in ("withdraw", "kill"):
        raise ValueError(f"retraction action must be withdraw or kill, not {action!r}")
    return {"schema": RETRACTION_SCHEMA, "idempotency_key": idempotency_key, "action": action,
            "manifest_hash": manifest_hash, "reason": reason, "retracted_at": retracted_at,
            "audit_checkpoint": audit_checkpoint}
