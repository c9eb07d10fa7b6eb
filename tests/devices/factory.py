"""Records for device tests, written through the real repositories (no flows): a published package with real
stored audio and slide bytes, and a device client that signs its requests as the protocol says."""

import base64
import hashlib
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from domain.approvals import Decision
from domain.devices import request_message
from domain.drafts import DraftContent
from domain.keys import manifest_key
from domain.languages import parse_languages
from domain.packages import Asset, AssetKind, PackageStatus, Variant, VariantStatus, build_manifest
from domain.priority import Priority
from domain.signatures import SigningKey, b64, generate_key, sign_bytes, unb64
from services.runtime import object_store, session
from storage.repositories import drafts, packages


def published_package(*, title: str = "Thông báo tiêm chủng", areas: tuple[str, ...] = ("29377",),
                      languages: str = "vi,km", priority: str = "thuong",
                      status: PackageStatus = PackageStatus.PUBLISHED,
                      expires_at: datetime | None = None, embargo_at: datetime | None = None,
                      slides: int = 1, tag: str = "") -> tuple[int, str]:
    """A package in ``status`` with an audio file (and slides) per language; returns (id, manifest hash)."""
    store = object_store()
    langs = parse_languages(languages)
    content = DraftContent(title=title, body=f"{title}. Nội dung {tag or uuid.uuid4().hex}", area_codes=areas,
                           languages=langs, priority=Priority(priority), expires_at=expires_at, embargo_at=embargo_at)
    with session() as s:
        rev = drafts.create_draft(s, content=content, author="demo-editor")
        rev_rec = drafts.latest_revision_record(s, rev.draft_id)
        pkg = packages.create_package(s, draft_id=rev.draft_id, revision_id=rev_rec.id, actor="test")
        variants = []
        for lang in langs:
            audio = store.put_bytes(f"ID3 audio {lang} {title} {tag} {pkg.id}".encode() * 50, ext="mp3",
                                    media_type="audio/mpeg")
            script = store.put_bytes(f"Kính thưa bà con ({lang}): {title}. {tag}".encode(), ext="txt",
                                     media_type="text/plain; charset=utf-8")
            board = store.put_bytes((title if lang == "vi" else f"[{lang}] ព័ត៌មាន {pkg.id}").encode() +
                                    f"\n{tag}".encode(), ext="txt", media_type="text/plain; charset=utf-8")
            rec_assets = [(AssetKind.AUDIO, audio, 0), (AssetKind.SCRIPT, script, 0), (AssetKind.BOARD_TEXT, board, 0)]
            for n in range(slides):
                png = store.put_bytes(f"PNG slide {n} {lang} {pkg.id} {tag}".encode() * 20, ext="png",
                                      media_type="image/png")
                rec_assets.append((AssetKind.SLIDE, png, n))
            assets = []
            for kind, stored, pos in rec_assets:
                packages.record_asset(s, package_id=pkg.id, language=lang, kind=kind, stored=stored, meta={},
                                      position=pos)
                assets.append(Asset(kind, stored.key, stored.sha256, stored.size, stored.media_type, {}))
            packages.set_variant(s, package_id=pkg.id, language=lang, status=VariantStatus.READY)
            variants.append(Variant(lang, VariantStatus.READY, tuple(assets)))
        manifest = build_manifest(draft_id=rev.draft_id, revision=1, content_hash=content.content_hash(), title=title,
                                  priority=priority, areas=list(areas), channels=["board", "loudspeaker"],
                                  embargo_at=None, expires_at=None, source_ref="", requesting_unit="",
                                  variants=variants)
        key = manifest_key(manifest.hash)
        store.put_at(key, manifest.data, media_type="application/json")
        pkg.manifest_hash, pkg.manifest_key = manifest.hash, key
        path = {PackageStatus.IN_REVIEW: [PackageStatus.IN_REVIEW],
                PackageStatus.APPROVED: [PackageStatus.IN_REVIEW, PackageStatus.APPROVED],
                PackageStatus.PUBLISHED: [PackageStatus.IN_REVIEW, PackageStatus.APPROVED, PackageStatus.PUBLISHED]}
        for step in path[status]:
            if step is PackageStatus.APPROVED:
                packages.add_approval(s, package_id=pkg.id, manifest_hash=manifest.hash, approver="demo-approver",
                                      decision=Decision.APPROVED)
            packages.set_status(s, pkg, step, actor="test")
        return pkg.id, manifest.hash


@dataclass
class DeviceClient:
    """Signs requests like bantin-device: ``X-Bantin-*`` headers over method, path, timestamp and body."""

    http: Any  # a TestClient or an httpx.Client with a base URL
    key: SigningKey
    hardware_id: str
    device_id: int | None = None
    clock_offset: int = 0

    @classmethod
    def new(cls, http: Any) -> "DeviceClient":
        return cls(http, generate_key(), f"hw-{uuid.uuid4().hex[:12]}")

    def register(self, area_code: str = "29377", kind: str = "speaker", key: SigningKey | None = None) -> Any:
        body = {"hardware_id": self.hardware_id, "public_key": b64((key or self.key).public), "name": "Cụm loa thôn 1",
                "area_code": area_code, "kind": kind}
        resp = self.http.post("/device/v1/register", json=body)
        if resp.status_code == 202:
            self.device_id = resp.json()["device_id"]
        return resp

    def headers(self, method: str, path: str, body: bytes = b"") -> dict[str, str]:
        ts = str(int(time.time()) + self.clock_offset)
        sig = sign_bytes(self.key, request_message(method, path, ts, body))
        return {"X-Bantin-Device": str(self.device_id), "X-Bantin-Timestamp": ts, "X-Bantin-Signature": sig}

    def request(self, method: str, path: str, json_body: Any = None, headers: dict[str, str] | None = None) -> Any:
        import json

        body = json.dumps(json_body).encode() if json_body is not None else b""
        h = {**self.headers(method, path, body), **(headers or {})}
        if body:
            h["Content-Type"] = "application/json"
        return self.http.request(method, path, content=body or None, headers=h)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def b64decode(text: str) -> bytes:
    return base64.b64decode(text)


def soon(hours: float = 1) -> datetime:
    return datetime.now(UTC) + timedelta(hours=hours)


def deliver_to_receiver(package_id: int, manifest_hash: str, out_dir: Path) -> Any:
    """Send one package to a reference receiver on loopback (http(s) links only, it checks our signatures)
    through the outbox sender, once; returns what the receiver kept (it fetched and checked every asset)."""
    from domain.deliveries import DeliveryStatus, DestinationKind
    from services import signing
    from storage.repositories import destinations, outbox
    from tasks import outbox as sender
    from web.reference_receiver import ReferenceReceiver

    trusted = {k["key_id"]: unb64(k["public_key"]) for k in signing.keys_document()["keys"]}
    with ReferenceReceiver(out_dir, trusted=trusted) as rx:
        with session() as s:
            dest = destinations.add_destination(s, name="htttn-tinh", kind=DestinationKind.HTTTN, url=rx.url)
            row = outbox.ensure(s, package_id=package_id, destination_id=dest.id, manifest_hash=manifest_hash).id
        assert sender.attempt(row) is DeliveryStatus.DELIVERED
        (received,) = rx.state.by_key.values()
    return received
