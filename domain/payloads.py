"""What a destination receives: bantin's own documented, versioned JSON (the official HTTTN exchange
format could not be obtained). Kept in one place so an adapter for another format stays small."""

from typing import Any

PAYLOAD_SCHEMA = "bantin.package/1"


def package_payload(
    *, manifest_hash: str, manifest: dict[str, Any], asset_urls: dict[str, str], idempotency_key: str,
    corrects: list[str] | None = None,
) -> dict[str, Any]:
    """The JSON body pushed to a destination.

    Receivers must verify every asset against the manifest's SHA-256 and use ``idempotency_key`` to
    recognise a re-send of something they already accepted. ``corrects`` lists the manifest hashes of
    earlier published versions of the same draft that this package replaces (a correction).
    """
    return {
        "schema": PAYLOAD_SCHEMA,
        "idempotency_key": idempotency_key,
        "manifest_hash": manifest_hash,
        "manifest": manifest,
        "asset_urls": asset_urls,
        "corrects": list(corrects or []),
    }
