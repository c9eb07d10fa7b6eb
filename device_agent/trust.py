"""Trusted installation keys: the configured ones plus rotated keys learned through endorsements.

``GET /device/v1/keys`` lists the installation's keys; each new key carries an ``endorsement``, a document
signed by the previous key that names the new ``public_key``. A key is learned only when its endorsement
verifies under a key already trusted, so trust always chains back to what the operator configured.
"""

import json
import logging
from pathlib import Path
from typing import Any

from device_agent.identity import set_aside, write_private
from domain.signatures import SignatureInvalid, b64, key_id, unb64, verify_document

log = logging.getLogger(__name__)

LEARNED_FILE = "learned-keys.json"


def parse_keys(keys_b64: list[str]) -> dict[str, bytes]:
    """Configured base64 public keys to ``{key_id: raw}``.

    Raises:
        ValueError: a key is not base64 of 32 bytes.
    """
    out = {}
    for text in keys_b64:
        try:
            raw = unb64(text.strip())
        except SignatureInvalid as exc:
            raise ValueError(f"trusted key {text[:12]}...: not base64") from exc
        if len(raw) != 32:
            raise ValueError(f"trusted key {text[:12]}...: an Ed25519 public key is 32 bytes, got {len(raw)}")
        out[key_id(raw)] = raw
    return out


class TrustStore:
    """Configured keys (always trusted) and learned keys (persisted in the state directory)."""

    def __init__(self, configured: list[str], state_dir: Path) -> None:
        self.configured = parse_keys(configured)
        self.path = state_dir / LEARNED_FILE
        self.learned: dict[str, bytes] = {}
        if self.path.exists():
            try:
                stored = json.loads(self.path.read_text(encoding="utf-8"))
                if not isinstance(stored, list) or not all(isinstance(k, str) for k in stored):
                    raise ValueError("not a list of keys")
                self.learned = parse_keys(stored)
            except (ValueError, TypeError, KeyError) as exc:
                set_aside(self.path, exc)

    def keys(self) -> dict[str, bytes]:
        """Every trusted key, ``{key_id: raw public key}``."""
        return {**self.learned, **self.configured}

    def learn(self, entries: list[dict[str, Any]]) -> list[str]:
        """Add keys whose endorsement verifies under a trusted key; returns the new key ids."""
        added: list[str] = []
        progress = True
        while progress:  # a chain old -> mid -> new is learned in one call
            progress = False
            for entry in entries:
                try:
                    raw = unb64(str(entry.get("public_key", "")))
                except SignatureInvalid:
                    continue
                kid = key_id(raw)
                if kid in self.keys() or not isinstance(entry.get("endorsement"), dict):
                    continue
                endorsement = entry["endorsement"]
                try:
                    verify_document(endorsement, self.keys())
                except SignatureInvalid as exc:
                    log.warning("key %s not learned: endorsement refused (%s)", kid, exc)
                    continue
                if endorsement.get("public_key") != entry.get("public_key"):
                    log.warning("key %s not learned: the endorsement names another key", kid)
                    continue
                self.learned[kid] = raw
                added.append(kid)
                progress = True
        if added:
            write_private(self.path, json.dumps([b64(k) for k in self.learned.values()]).encode("utf-8"))
            log.info("learned rotated installation key(s): %s", ", ".join(added))
        return added
