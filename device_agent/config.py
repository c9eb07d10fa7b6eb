"""Agent configuration: command-line flags over ``BANTIN_DEVICE_*`` environment variables over a TOML file.

Every option has the same name in all three places (``--poll-interval``, ``BANTIN_DEVICE_POLL_INTERVAL``,
``poll_interval = 60``). Lists (``trust``, ``mqtt_areas``, ``slots``) are repeatable flags, comma-separated
environment values, or TOML arrays.
"""

import argparse
import os
import re
import socket
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

ENV_PREFIX = "BANTIN_DEVICE_"
KINDS = ("speaker", "board")
PLAYERS = ("auto", "ffplay", "aplay", "null")
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


class ConfigError(ValueError):
    """The configuration is incomplete or contradictory; the message says which option to fix."""


def default_state_dir() -> Path:
    """``/var/lib/bantin-device`` for root (systemd), else under ``$XDG_STATE_HOME``."""
    if os.geteuid() == 0:
        return Path("/var/lib/bantin-device")
    return Path(os.environ.get("XDG_STATE_HOME", Path.home() / ".local" / "state")) / "bantin-device"


@dataclass
class AgentConfig:
    """Everything the agent needs to run (see docs/device-agent.md for each option)."""

    server: str = ""
    area_code: str = ""
    state_dir: Path = field(default_factory=default_state_dir)
    trust: list[str] = field(default_factory=list)
    trust_file: Path | None = None
    kind: str = "speaker"
    name: str = field(default_factory=socket.gethostname)
    hardware_id: str | None = None
    poll_interval: float = 60.0
    hours: int = 48
    player: str = "auto"
    mqtt: str | None = None
    mqtt_areas: list[str] = field(default_factory=list)
    slots: list[str] = field(default_factory=lambda: ["06:00", "17:00"])
    play_on_arrival: bool = True
    default_every: float = 1800.0
    late_tolerance: float = 900.0
    timezone: str = "Asia/Ho_Chi_Minh"
    slide_seconds: float = 8.0
    kiosk_host: str = "127.0.0.1"
    kiosk_port: int = 8765
    time_scale: float = 1.0
    clock_offset: float = 0.0
    log_level: str = "INFO"

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def validate(self) -> "AgentConfig":
        """Check values; raise :class:`ConfigError` naming the option at fault."""
        if not self.server.startswith(("http://", "https://")):
            raise ConfigError("--server must be the bantin URL, e.g. https://bantin.example.vn")
        self.server = self.server.rstrip("/")
        if not re.fullmatch(r"\d{2,5}", self.area_code):
            raise ConfigError("--area-code must be the official code of the device's commune (2-5 digits)")
        if self.kind not in KINDS:
            raise ConfigError(f"--kind must be one of {', '.join(KINDS)}")
        if self.player not in PLAYERS:
            raise ConfigError(f"--player must be one of {', '.join(PLAYERS)}")
        if not (1 <= self.hours <= 168):
            raise ConfigError("--hours must be between 1 and 168")
        if self.poll_interval <= 0 or self.time_scale <= 0 or self.slide_seconds <= 0:
            raise ConfigError("--poll-interval, --time-scale and --slide-seconds must be positive")
        for slot in self.slots:
            if not _HHMM.match(slot):
                raise ConfigError(f"--slots: {slot!r} is not HH:MM")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ConfigError(f"--timezone: unknown time zone {self.timezone!r}") from exc
        if not self.mqtt_areas:
            self.mqtt_areas = [self.area_code]
        if self.mqtt and not self.mqtt.startswith(("mqtt://", "mqtts://")):
            raise ConfigError("--mqtt must look like mqtt://host:1883 or mqtts://host:8883")
        if not self.trust and self.trust_file is None:
            raise ConfigError("give the installation's public key with --trust (bantin keys show) or --trust-file")
        return self

    def trusted_keys_b64(self) -> list[str]:
        """The configured keys: ``--trust`` values and the keys in ``--trust-file`` (one per line, ``#`` starts a
        comment; lines printed by ``bantin keys show`` can be pasted whole)."""
        keys = list(self.trust)
        if self.trust_file is not None:
            try:
                text = self.trust_file.read_text(encoding="utf-8")
            except OSError as exc:
                raise ConfigError(f"--trust-file: cannot read {self.trust_file}: {exc}") from exc
            for line in text.splitlines():
                tokens = line.split("#", 1)[0].split()
                # a pasted 'bantin keys show' line ("<key id>  <base64>  current") works as is
                keys.extend(t for t in tokens if len(tokens) == 1 or len(t) == 44 and t.endswith("="))
        return keys


_LISTS = {"trust", "mqtt_areas", "slots"}
_BOOLS = {"play_on_arrival"}


def _coerce(name: str, value: Any) -> Any:
    kind = AgentConfig.__dataclass_fields__[name].type
    if name in _LISTS:
        if isinstance(value, str):
            return [v.strip() for v in value.split(",") if v.strip()]
        return [str(v) for v in value]
    if name in _BOOLS:
        if isinstance(value, str):
            return value.strip().lower() in ("1", "true", "yes", "on")
        return bool(value)
    if kind in (Path, Path | None):
        return Path(value).expanduser() if value not in (None, "") else None
    if kind is float:
        return float(value)
    if kind is int:
        return int(value)
    return None if value is None else str(value)


def build_parser() -> argparse.ArgumentParser:
    """The ``bantin-device`` command line (every option also has an environment and a TOML form)."""
    p = argparse.ArgumentParser(
        prog="bantin-device",
        description="bantin reference device agent: polls its signed schedule, caches and verifies files, "
        "plays bulletins (loudspeaker) or shows slides (e-board), reports play logs.",
    )
    p.add_argument("--config", type=Path, help="TOML file with any of the options below")
    p.add_argument("--server", help="bantin base URL, e.g. https://bantin.example.vn")
    p.add_argument("--area-code", help="official code of the device's commune (e.g. 29377)")
    p.add_argument("--state-dir", help="where the key, cache, schedule and play-log queue live")
    p.add_argument("--trust", action="append", help="installation public key (base64, from 'bantin keys show')")
    p.add_argument("--trust-file", help="file with trusted public keys, one per line")
    p.add_argument("--kind", choices=KINDS, help="speaker (loudspeaker cluster) or board (electronic board)")
    p.add_argument("--name", help="name shown to administrators (default: host name)")
    p.add_argument("--hardware-id", help="hardware identity (default: generated once and kept in the state dir)")
    p.add_argument("--poll-interval", help="seconds between polls (default 60)")
    p.add_argument("--hours", help="look-ahead window in hours (1-168, default 48)")
    p.add_argument("--player", choices=PLAYERS, help="auto (ffplay/aplay if a sound device exists, else null)")
    p.add_argument("--mqtt", help="MQTT broker for emergencies, e.g. mqtt://broker.example.vn:1883")
    p.add_argument("--mqtt-areas", action="append", help="area codes to listen on (hamlet, commune, province)")
    p.add_argument("--slots", action="append", help="daily local times (HH:MM) to play current bulletins")
    p.add_argument("--play-on-arrival", help="play a new bulletin as soon as it arrives (true/false)")
    p.add_argument("--default-every", help="seconds between default-content plays when idle (0: back to back)")
    p.add_argument("--late-tolerance", help="seconds after a start time when an item may still start")
    p.add_argument("--timezone", help="time zone of slots and quiet hours (default Asia/Ho_Chi_Minh)")
    p.add_argument("--slide-seconds", help="e-board: seconds per slide")
    p.add_argument("--kiosk-host", help="e-board: address of the kiosk page (default 127.0.0.1)")
    p.add_argument("--kiosk-port", help="e-board: port of the kiosk page (default 8765)")
    p.add_argument("--time-scale", help="testing/demo: playout clock speed factor (default 1)")
    p.add_argument("--clock-offset", help="testing/demo: seconds added to the playout clock")
    p.add_argument("--log-level", help="DEBUG, INFO, WARNING")
    p.add_argument("--print-identity", action="store_true", help="print the device identity and exit")
    return p


def load_config(argv: list[str] | None = None, environ: dict[str, str] | None = None) -> tuple[AgentConfig, bool]:
    """Merge flags, environment and TOML file into a validated config.

    Returns:
        The config and whether ``--print-identity`` was given.

    Raises:
        ConfigError: a value is missing or wrong.
    """
    args = build_parser().parse_args(argv)
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    config_path = args.config or (Path(env[ENV_PREFIX + "CONFIG"]) if env.get(ENV_PREFIX + "CONFIG") else None)
    if config_path is not None:
        try:
            data = tomllib.loads(Path(config_path).read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"--config: cannot read {config_path}: {exc}") from exc
        for key, value in data.items():
            name = key.replace("-", "_")
            if name not in AgentConfig.__dataclass_fields__:
                raise ConfigError(f"{config_path}: unknown option {key!r}")
            values[name] = value
    for f in fields(AgentConfig):
        raw = env.get(ENV_PREFIX + f.name.upper())
        if raw not in (None, ""):
            values[f.name] = raw
    for f in fields(AgentConfig):
        raw = getattr(args, f.name, None)
        if raw is not None:
            values[f.name] = raw
    try:
        coerced = {name: _coerce(name, value) for name, value in values.items()}
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"bad option value: {exc}") from exc
    if "slots" in coerced and coerced["slots"] == ["none"]:
        coerced["slots"] = []
    return AgentConfig(**coerced).validate(), bool(args.print_identity)
