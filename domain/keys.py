"""Object keys. Assets are content-addressed: the key is derived from the SHA-256 of the bytes, so a
rerun writes the same key and a reader can verify what it got."""

import re

_SHA = re.compile(r"^[0-9a-f]{64}$")
_EXT = re.compile(r"^[a-z0-9]{1,8}$")
_CONTENT_KEY = re.compile(r"^(?:objects/[0-9a-f]{2}/([0-9a-f]{64})\.[a-z0-9]{1,8}|manifests/([0-9a-f]{64})\.json)$")


def content_key(sha256: str, ext: str) -> str:
    """``objects/ab/abcdef….mp3`` for bytes whose SHA-256 is ``abcdef…``."""
    if not _SHA.match(sha256):
        raise ValueError(f"not a SHA-256 hex digest: {sha256!r}")
    ext = ext.lstrip(".").lower()
    if not _EXT.match(ext):
        raise ValueError(f"bad file extension: {ext!r}")
    return f"objects/{sha256[:2]}/{sha256}.{ext}"


def sha256_of_key(key: str) -> str | None:
    """The digest a content key promises, or None for keys that are not content-addressed."""
    m = _CONTENT_KEY.match(key)
    return m.group(1) or m.group(2) if m else None


def manifest_key(manifest_hash: str) -> str:
    if not _SHA.match(manifest_hash):
        raise ValueError(f"not a SHA-256 hex digest: {manifest_hash!r}")
    return f"manifests/{manifest_hash}.json"
