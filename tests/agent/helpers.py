"""Builders shared by the agent's unit tests: signed schedules and items like the server sends."""

import hashlib
from typing import Any

from domain.schedules import EMERGENCY_SCHEMA, SCHEDULE_SCHEMA
from domain.signatures import SigningKey, sign_document


def ref(data: bytes, ext: str = "mp3", base: str = "http://127.0.0.1:9/device/v1/files") -> dict[str, Any]:
    sha = hashlib.sha256(data).hexdigest()
    return {"name": f"{sha}.{ext}", "url": f"{base}/{sha}", "size": len(data), "sha256": sha}


def item(item_id: str, *, audio: dict[str, Any] | None = None, priority: str = "thuong", kind: str = "package",
         starts_at: str | None = None, expires_at: str | None = None, repeat: int | None = None,
         slides: list[dict[str, Any]] | None = None, manifest: str | None = None) -> dict[str, Any]:
    return {"item_id": item_id, "kind": kind, "manifest_hash": manifest or hashlib.sha256(item_id.encode()).hexdigest(),
            "priority": priority, "language": "vi", "title": f"Bản tin {item_id}", "starts_at": starts_at,
            "expires_at": expires_at, "repeat_every_s": repeat, "audio": audio, "slides": slides or []}


def schedule(key: SigningKey, items: list[dict[str, Any]], *, device_id: int = 7, withdrawn: list[str] = (),
             default: list[dict[str, Any]] = (), quiet: list[dict[str, Any]] = (),
             until: str = "2099-01-01T00:00:00Z") -> dict[str, Any]:
    body = {"schema": SCHEDULE_SCHEMA, "device_id": device_id, "area_code": "29377",
            "window": {"from": "2026-01-01T00:00:00Z", "until": until}, "items": list(items),
            "withdrawn": list(withdrawn), "default_content": list(default), "quiet_hours": list(quiet),
            "volume_profile": [{"from": "05:00", "to": "22:00", "percent": 80}],
            "generated_at": "2026-01-01T00:00:00Z", "etag": "e"}
    return sign_document(key, body)


def emergency(key: SigningKey, it: dict[str, Any], action: str = "play",
              issued_at: str = "2026-11-23T10:00:00Z") -> dict[str, Any]:
    return sign_document(key, {"schema": EMERGENCY_SCHEMA, "action": action, "item": it, "items": [it],
                               "issued_at": issued_at})
