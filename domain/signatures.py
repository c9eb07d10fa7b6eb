"""Ed25519 signatures over canonical JSON: what the installation signs and devices and receivers verify.

Pure computation (no files, no network): callers load and store keys. A signed document is a JSON object
with a ``signature`` member ``{"key_id": ..., "alg": "ed25519", "value": <base64>}`` computed over the
canonical JSON of the object *without* that member. ``key_id`` is the first 16 hex digits of the SHA-256
of the raw public key, so a verifier holding several trusted keys (during a rotation) picks the right one.
"""

import base64
import hashlib
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

from domain.canonical import canonical_json
from domain.errors import DomainError

ALGORITHM = "ed25519"


class SignatureInvalid(DomainError):
    """A signature is missing, malformed, made by an unknown key, or does not match the content."""


@dataclass(frozen=True)
class SigningKey:
    """A private Ed25519 key and its public half, as raw 32-byte strings."""

    private: bytes
    public: bytes

    @property
    def key_id(self) -> str:
        return key_id(self.public)


def generate_key() -> SigningKey:
    """A fresh key pair (from the operating system's random source)."""
    private = Ed25519PrivateKey.generate()
    return SigningKey(
        private=private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption()),
        public=private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw),
    )


def key_from_private(private: bytes) -> SigningKey:
    """Rebuild a key pair from its raw 32-byte private half."""
    if len(private) != 32:
        raise SignatureInvalid("an Ed25519 private key is 32 bytes")
    key = Ed25519PrivateKey.from_private_bytes(private)
    return SigningKey(private=private, public=key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))


def key_id(public: bytes) -> str:
    return hashlib.sha256(public).hexdigest()[:16]


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (ValueError, TypeError) as exc:
        raise SignatureInvalid("not valid base64") from exc


def sign_bytes(key: SigningKey, data: bytes) -> str:
    """Base64 signature of raw bytes (used for device request signing)."""
    return b64(Ed25519PrivateKey.from_private_bytes(key.private).sign(data))


def verify_bytes(public: bytes, data: bytes, signature_b64: str) -> None:
    """Raise :class:`SignatureInvalid` unless ``signature_b64`` signs ``data`` under ``public``."""
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(unb64(signature_b64), data)
    except (InvalidSignature, ValueError) as exc:
        raise SignatureInvalid("signature does not match") from exc


def sign_document(key: SigningKey, document: dict[str, Any]) -> dict[str, Any]:
    """Return a copy of ``document`` with its ``signature`` member set (any old one is replaced)."""
    body = {k: v for k, v in document.items() if k != "signature"}
    signature = {"alg": ALGORITHM, "key_id": key.key_id, "value": sign_bytes(key, canonical_json(body))}
    return {**body, "signature": signature}


def verify_document(document: dict[str, Any], trusted: dict[str, bytes]) -> str:
    """Check a signed document against trusted public keys (key id -> raw public key).

    Returns:
        The key id that signed it.

    Raises:
        SignatureInvalid: no signature, an unknown key, another algorithm, or content that changed.
    """
    sig = document.get("signature")
    if not isinstance(sig, dict) or not isinstance(sig.get("value"), str):
        raise SignatureInvalid("document is not signed")
    if sig.get("alg") != ALGORITHM:
        raise SignatureInvalid(f"unsupported signature algorithm: {sig.get('alg')!r}")
    public = trusted.get(str(sig.get("key_id")))
    if public is None:
        raise SignatureInvalid(f"signed by an untrusted key: {sig.get('key_id')!r}")
    body = {k: v for k, v in document.items() if k != "signature"}
    verify_bytes(public, canonical_json(body), sig["value"])
    return str(sig["key_id"])
