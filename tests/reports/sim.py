"""A simulated province: devices in three communes of district 070 (Tuyên Quang province 08) and one in
district 071, registered and authorised through the real device API and service, reporting inventories and
play logs as bantin-device does. Every number a test expects is written out in the test itself."""

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from services import devices as device_service
from services.runtime import session
from tests.devices.factory import DeviceClient


@dataclass
class Province:
    http: Any
    devices: dict[str, DeviceClient] = field(default_factory=dict)

    def add(self, name: str, area: str, kind: str = "speaker") -> DeviceClient:
        dev = DeviceClient.new(self.http)
        assert dev.register(area_code=area, kind=kind).status_code == 202
        with session() as s:
            device_service.authorise(s, dev.device_id, username="admin")
        self.devices[name] = dev
        return dev

    def id(self, name: str) -> int:
        return int(self.devices[name].device_id)

    def inventory(self, name: str, files: list[str] | None = None, free_bytes: int | None = 10**9,
                  health: dict[str, Any] | None = None) -> Any:
        body: dict[str, Any] = {"files": files or [], "free_bytes": free_bytes, "playing": None,
                                "agent_version": "sim"}
        if health is not None:
            body["health"] = health
        return self.devices[name].request("PUT", "/device/v1/inventory", body)

    def play(self, name: str, manifest: str, started: datetime, seconds: float = 60, completed: bool = True,
             trigger: str = "schedule", lang: str = "vi") -> None:
        entry = {"log_id": str(uuid.uuid4()), "item_id": f"{manifest[:16]}.{lang}", "manifest_hash": manifest,
                 "started_at": started.isoformat(), "ended_at": (started + timedelta(seconds=seconds)).isoformat(),
                 "completed": completed, "trigger": trigger}
        resp = self.devices[name].request("POST", "/device/v1/playlogs", {"entries": [entry]})
        assert resp.status_code == 200, resp.text
        assert resp.json()["accepted"] == 1
