"""Small state files of the agent: the planner's memory (``plan.json``) and time formatting for reports."""

import json
import logging
from datetime import UTC, datetime
from pathlib import Path

from device_agent.identity import set_aside, write_private
from device_agent.planner import PlanState

log = logging.getLogger(__name__)
PLAN_FILE = "plan.json"


def iso(epoch: float) -> str:
    """Epoch seconds as ISO 8601 UTC with milliseconds (``2026-11-23T10:00:00.000Z``)."""
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def load_plan(state_dir: Path) -> PlanState:
    """What was played when; a missing or unreadable file starts fresh (logged)."""
    path = state_dir / PLAN_FILE
    try:
        return PlanState.from_json(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        return PlanState()
    except (ValueError, TypeError, KeyError) as exc:
        set_aside(path, f"plan state: {exc}")
        return PlanState()


def save_plan(state_dir: Path, plan: PlanState) -> None:
    """Persist the planner's memory atomically (so a restart neither replays nor skips)."""
    write_private(state_dir / PLAN_FILE, json.dumps(plan.to_json(), ensure_ascii=False).encode("utf-8"))
