"""Device health: what bantin-device reads from the box, and the device API keeping sane values and counting
absurd ones (negative uptime, impossible temperatures, times in the future) without losing the inventory."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

from device_agent import health
from services.runtime import session
from storage.repositories import devices as device_repo
from storage.repositories import reports as repo


def test_agent_reads_uptime_boot_temperature_and_network(tmp_path: Path) -> None:
    proc, sys_root, state = tmp_path / "proc", tmp_path / "sys", tmp_path / "state"
    (proc / "sys" / "kernel" / "random").mkdir(parents=True)
    (sys_root / "class" / "thermal" / "thermal_zone0").mkdir(parents=True)
    (sys_root / "class" / "net" / "wwan0").mkdir(parents=True)
    (sys_root / "class" / "net" / "eth0").mkdir(parents=True)
    state.mkdir()
    (proc / "uptime").write_text("7322.51 14000.02\n")
    (proc / "sys" / "kernel" / "random" / "boot_id").write_text("boot-a\n")
    (sys_root / "class" / "thermal" / "thermal_zone0" / "temp").write_text("53500\n")
    (sys_root / "class" / "net" / "eth0" / "operstate").write_text("down\n")
    (sys_root / "class" / "net" / "wwan0" / "operstate").write_text("up\n")
    first = health.collect(state, proc=proc, sys_root=sys_root)
    assert (first["uptime_s"], first["reboots"], first["temperature_c"], first["network"]) == (7322, 0, 53.5,
                                                                                                "cellular")
    assert health.collect(state, proc=proc, sys_root=sys_root)["reboots"] == 0
    (proc / "sys" / "kernel" / "random" / "boot_id").write_text("boot-b\n")
    assert health.collect(state, proc=proc, sys_root=sys_root)["reboots"] == 1
    bare = health.collect(state, proc=tmp_path / "none", sys_root=tmp_path / "none")
    assert set(bare) == {"reported_at"}


def test_device_api_keeps_sane_health_and_counts_absurd_values(province) -> None:
    ok = province.inventory("a1", health={"uptime_s": 3600, "reboots": 1, "temperature_c": 41.0, "network": "wifi"})
    assert ok.status_code == 204
    future = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    bad = province.inventory("a1", files=[], free_bytes=5_000, health={
        "uptime_s": -10, "reboots": 2, "temperature_c": 400, "network": "wifi", "reported_at": future})
    assert bad.status_code == 204  # the inventory itself is kept
    with session() as s:
        h = repo.health_of(s, [province.id("a1")])[province.id("a1")]
        assert (h.uptime_s, h.temperature_c, h.network, h.reboots_total, h.free_bytes) == (3600, 41.0, "wifi", 3,
                                                                                            5_000)
        assert h.rejected_values == 3  # uptime, temperature, reported_at
        assert h.reported_at < datetime.now(UTC) + timedelta(seconds=5)
        assert device_repo.get_device(s, province.id("a1")).last_inventory["free_bytes"] == 5_000
    malformed = province.inventory("a1", health=["not", "an", "object"])
    assert malformed.status_code == 422 and "health" in malformed.json()["error"]
