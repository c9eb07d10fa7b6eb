"""``bantin-device``: command-line entry point (configuration, logging, signals)."""

import json
import logging
import signal
import sys
from types import FrameType

from device_agent.config import ConfigError, load_config


def main(argv: list[str] | None = None) -> None:
    """Run the agent until SIGTERM/SIGINT; exit status 2 on a configuration error."""
    try:
        cfg, print_identity = load_config(argv)
    except ConfigError as exc:
        sys.stderr.write(f"bantin-device: {exc}\n")
        raise SystemExit(2) from exc
    logging.basicConfig(level=cfg.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    from device_agent.agent import Agent  # after logging is set up

    try:
        agent = Agent(cfg)
    except (ConfigError, ValueError, OSError) as exc:
        sys.stderr.write(f"bantin-device: {exc}\n")
        raise SystemExit(2) from exc
    if print_identity:
        sys.stdout.write(json.dumps({"hardware_id": agent.identity.hardware_id,
                                     "public_key": agent.identity.public_key_b64,
                                     "device_id": agent.identity.device_id,
                                     "status": agent.identity.status}, indent=1) + "\n")
        return

    def stop(signum: int, frame: FrameType | None) -> None:
        logging.getLogger("device_agent").info("signal %s: stopping", signal.Signals(signum).name)
        agent.shutdown()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    agent.run()
