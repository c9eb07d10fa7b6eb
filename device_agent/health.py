"""What the box knows about its own health, for the inventory's optional ``health`` member
(docs/device-protocol.md §2): uptime, reboots since the last report, temperature and network type. Each is
left out when the platform does not expose it (Linux ``/proc`` and ``/sys`` are read; nothing is run)."""

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

PROC = Path("/proc")
SYS = Path("/sys")


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None


def _network(sys_root: Path) -> str | None:
    """The kind of the first interface that is up (wifi, cellular, ethernet), by the kernel's own naming."""
    net = sys_root / "class" / "net"
    try:
        names = sorted(p.name for p in net.iterdir() if p.name != "lo")
    except OSError:
        return None
    for name in names:
        if _read(net / name / "operstate") not in ("up", "unknown"):
            continue
        if (net / name / "wireless").exists() or name.startswith(("wl", "wlan")):
            return "wifi"
        if name.startswith(("wwan", "ppp", "usb", "rmnet")):
            return "cellular"
        if name.startswith(("eth", "en")):
            return "ethernet"
        return "other"
    return None


def collect(state_dir: Path, *, proc: Path = PROC, sys_root: Path = SYS) -> dict[str, Any]:
    """The health fields this box can report now. ``reboots`` counts a boot id not seen at the last report
    (remembered in ``state_dir/boot_id``), so each reboot is reported once."""
    out: dict[str, Any] = {"reported_at": datetime.now(UTC).isoformat()}
    uptime = _read(proc / "uptime")
    if uptime:
        out["uptime_s"] = int(float(uptime.split()[0]))
    boot = _read(proc / "sys" / "kernel" / "random" / "boot_id")
    if boot:
        marker = state_dir / "boot_id"
        previous = _read(marker)
        out["reboots"] = 0 if previous in (None, boot) else 1
        if previous != boot:
            try:
                marker.write_text(boot, encoding="ascii")
            except OSError:
                pass
    temp = _read(sys_root / "class" / "thermal" / "thermal_zone0" / "temp")
    if temp and temp.lstrip("-").isdigit():
        out["temperature_c"] = round(int(temp) / 1000.0, 1)
    network = _network(sys_root)
    if network:
        out["network"] = network
    return out
