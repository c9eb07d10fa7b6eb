"""Canonical JSON: one byte string per value, so hashes of equal content are equal."""

import hashlib
import json
from typing import Any


def canonical_json(value: Any) -> bytes:
    """Serialise with sorted keys, no insignificant whitespace, UTF-8 (not \\u escapes)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode(
        "utf-8"
    )


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
