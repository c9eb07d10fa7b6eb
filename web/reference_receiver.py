"""A reference receiver for bantin's package push (schemas ``bantin.package/1`` and ``bantin.retraction/1``,
documented in ``domain/payloads.py``).

Provincial and central systems (HTTTN) can run it, or read it, to see what a conforming receiver
does: verify the installation's signature (when given its public keys), check the manifest hash, fetch
and verify every asset, recognise a re-send by its idempotency key and answer with a receipt; take a
withdrawn or killed package off the air; keep every new signed audit checkpoint a push carries, one per line
in ``audit-checkpoints.jsonl`` (the format ``bantin audit verify --checkpoints`` reads), so the sender's
audit log is anchored at the receiver too. The demo starts one on loopback. Standard library plus
``domain`` (canonical JSON and Ed25519 verification).
"""

import hashlib
import json
import threading
import urllib.request
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from domain.canonical import canonical_json, sha256_hex
from domain.payloads import PAYLOAD_SCHEMA, RETRACTION_SCHEMA
from domain.signatures import SignatureInvalid, verify_document

MAX_BODY = 10 * 1024 * 1024


@dataclass
class Received:
    receipt_id: str
    idempotency_key: str
    manifest_hash: str
    title: str
    verified_assets: int
    path: Path


@dataclass
class ReceiverState:
    out_dir: Path
    allow_file_urls: bool = False
    trusted: dict[str, bytes] | None = None  # key id -> public key; None accepts unsigned pushes (demo only)
    by_key: dict[str, Received] = field(default_factory=dict)
    retracted: dict[str, str] = field(default_factory=dict)  # manifest hash -> withdraw | kill
    checkpoint_seq: int = -1  # the newest audit checkpoint kept
    requests: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


class ReceiverError(Exception):
    pass


def _fetch(url: str, *, allow_file_urls: bool) -> bytes:
    # file:// only when receiver and sender share a disk (the demo); otherwise a sender could make the
    # receiver read its own files.
    schemes = ("file://", "http://", "https://") if allow_file_urls else ("http://", "https://")
    if not url.startswith(schemes):
        raise ReceiverError(f"unsupported asset URL scheme: {url[:20]}")
    with urllib.request.urlopen(url, timeout=10) as resp:  # noqa: S310 - schemes checked above
        data: bytes = resp.read()
        return data


def accept(state: ReceiverState, payload: dict[str, Any], idempotency_key: str) -> tuple[Received, bool]:
    """Validate and store one package; returns (receipt, was_duplicate)."""
    if not isinstance(payload, dict):
        raise ReceiverError("the body must be a JSON object")
    if payload.get("schema") not in (PAYLOAD_SCHEMA, RETRACTION_SCHEMA):
        raise ReceiverError(f"unknown schema {payload.get('schema')!r}")
    if not idempotency_key or idempotency_key != payload.get("idempotency_key"):
        raise ReceiverError("missing or inconsistent Idempotency-Key")
    if state.trusted is not None:
        try:
            verify_document(payload, state.trusted)
        except SignatureInvalid as exc:
            raise ReceiverError(f"signature refused: {exc}") from None
    _keep_checkpoint(state, payload.get("audit_checkpoint"))
    with state.lock:
        if idempotency_key in state.by_key:
            return state.by_key[idempotency_key], True
    if payload["schema"] == RETRACTION_SCHEMA:
        return _retract(state, payload, idempotency_key)
    manifest = payload["manifest"]
    manifest_hash = sha256_hex(canonical_json(manifest))
    if manifest_hash != payload.get("manifest_hash"):
        raise ReceiverError("manifest does not match its hash")
    urls: dict[str, str] = payload.get("asset_urls", {})
    pkg_dir = state.out_dir / manifest_hash[:16]
    pkg_dir.mkdir(parents=True, exist_ok=True)
    verified = 0
    for variant in manifest["variants"]:
        for asset in variant["assets"]:
            data = _fetch(urls[asset["key"]], allow_file_urls=state.allow_file_urls)
            if hashlib.sha256(data).hexdigest() != asset["sha256"] or len(data) != asset["size"]:
                raise ReceiverError(f"asset {asset['key']} failed verification")
            (pkg_dir / Path(asset["key"]).name).write_bytes(data)
            verified += 1
    (pkg_dir / "manifest.json").write_bytes(canonical_json(manifest))
    rec = Received(f"rcpt-{uuid.uuid4().hex[:12]}", idempotency_key, manifest_hash, manifest["title"], verified,
                   pkg_dir)
    with state.lock:
        existing = state.by_key.setdefault(idempotency_key, rec)
    return existing, existing is not rec


def _keep_checkpoint(state: ReceiverState, document: Any) -> None:
    """Append a newer signed audit checkpoint to ``audit-checkpoints.jsonl`` (its own signature checked when
    the receiver has the sender's keys)."""
    if not isinstance(document, dict) or not isinstance(document.get("seq"), int):
        return
    if state.trusted is not None:
        try:
            verify_document(document, state.trusted)
        except SignatureInvalid as exc:
            raise ReceiverError(f"audit checkpoint signature refused: {exc}") from None
    with state.lock:
        if document["seq"] <= state.checkpoint_seq:
            return
        state.checkpoint_seq = document["seq"]
        with (state.out_dir / "audit-checkpoints.jsonl").open("ab") as fh:
            fh.write(canonical_json(document) + b"\n")


def _retract(state: ReceiverState, payload: dict[str, Any], idempotency_key: str) -> tuple[Received, bool]:
    """Take a package off the air: drop its files (a kill must not be played again)."""
    manifest_hash = str(payload.get("manifest_hash", ""))
    if len(manifest_hash) != 64 or payload.get("action") not in ("withdraw", "kill"):
        raise ReceiverError("a retraction names a manifest hash and withdraw or kill")
    pkg_dir = state.out_dir / manifest_hash[:16]
    if pkg_dir.is_dir():
        for f in pkg_dir.iterdir():
            if f.name != "manifest.json":
                f.unlink()
    rec = Received(f"rcpt-{uuid.uuid4().hex[:12]}", idempotency_key, manifest_hash, f"({payload['action']})", 0,
                   pkg_dir)
    with state.lock:
        state.retracted[manifest_hash] = str(payload["action"])
        existing = state.by_key.setdefault(idempotency_key, rec)
    return existing, existing is not rec


def make_handler(state: ReceiverState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server API
            with state.lock:
                state.requests += 1
            length = int(self.headers.get("Content-Length") or 0)
            if length <= 0 or length > MAX_BODY:
                return self._answer(413 if length > MAX_BODY else 400, {"error": "bad body length"})
            try:
                payload = json.loads(self.rfile.read(length))
                rec, dup = accept(state, payload, self.headers.get("Idempotency-Key", ""))
            except (ReceiverError, KeyError, TypeError, ValueError, OSError) as exc:
                return self._answer(422, {"error": str(exc)})
            self._answer(200 if dup else 201, {"receipt_id": rec.receipt_id, "duplicate": dup,
                                               "verified_assets": rec.verified_assets})

        def _answer(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:  # quiet: the demo prints its own report
            pass

    return Handler


class ReferenceReceiver:
    """Run the receiver on ``127.0.0.1`` in a background thread (``with ReferenceReceiver(dir) as r``)."""

    def __init__(self, out_dir: Path, port: int = 0, *, allow_file_urls: bool = False,
                 trusted: dict[str, bytes] | None = None) -> None:
        self.state = ReceiverState(out_dir, allow_file_urls=allow_file_urls, trusted=trusted)
        out_dir.mkdir(parents=True, exist_ok=True)
        self.server = ThreadingHTTPServer(("127.0.0.1", port), make_handler(self.state))
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]  # kept after close (a closed socket has no name)
        if isinstance(host, bytes):  # typed str | bytes; an AF_INET server's is a str
            host = host.decode()
        return f"http://{host}:{port}/packages"

    def __enter__(self) -> "ReferenceReceiver":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
