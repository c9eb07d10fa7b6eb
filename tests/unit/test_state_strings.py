"""State is compared as the domain's enums, never as bare strings: a misspelt "publihsed" would silently never
match. Checked over the layers that decide (services), persist (storage), run (tasks, flows) and show or take
input (web, cli)."""

import re
from pathlib import Path

from domain.approvals import Decision
from domain.deliveries import DeliveryStatus, OutboxAction, OutboxKind, PushStatus
from domain.devices import DeviceKind, DeviceStatus, EmergencyAction
from domain.editions import EditionStatus
from domain.feedback import FeedbackState
from domain.packages import AssetKind, PackageStatus, VariantStatus
from domain.priority import Priority
from domain.relays import RelayRunStatus
from domain.reports import DeviceState
from domain.streams import LiveStatus

ROOT = Path(__file__).parents[2]
VALUES = {m.value for enum in (PackageStatus, VariantStatus, AssetKind, DeliveryStatus, PushStatus, DeviceStatus,
                               FeedbackState, Priority, Decision, EditionStatus, OutboxKind, OutboxAction,
                               DeviceKind, EmergencyAction, DeviceState, LiveStatus, RelayRunStatus) for m in enum}
_FIELD = r"(?:status|state|priority|decision|kind)"
# x.status == "published", rec.priority != "khan_cap", priority == "khan_cap", a.kind in ("audio", ...,
# r["status"] == "published", row.get('status') != "ready"
COMPARED = re.compile(r"(?:\.(?:status|state|priority|decision|kind)(?:\.value)?|\bpriority|\bstatus"
                      r"|\[\s*[\"']" + _FIELD + r"[\"']\s*\]|\.get\(\s*[\"']" + _FIELD + r"[\"'][^)]*\))\s*"
                      r"(?:==|!=|in|not in)\s*[\(\[{]?\s*[\"']([a-z_]+)[\"']")
# a ranking or a set of states written out as bare strings: order = {"pending": 0, ...}, frozenset({"sent", ...
# a state handed over or stored as a bare string: Draft(priority="uu_tien"), status = "failed"
ASSIGNED = re.compile(r"\b" + _FIELD + r"\s*=\s*[\"']([a-z_]+)[\"']")
RANKED = re.compile(r"\{\s*[\"']([a-z_]+)[\"']\s*:\s*\d|(?:frozenset|set)\(\s*[\{\[\(]\s*[\"']([a-z_]+)[\"']")


# relay/live states: see the live2 work (another helper is changing relay and live state handling there)
NOT_YET: set[str] = set()


def _bare(files: list[Path]) -> list[str]:
    return [f"{f.relative_to(ROOT)}:{n}: {m[m.lastindex or 1]}"
            for f in files if f.relative_to(ROOT).as_posix() not in NOT_YET
            # migrations are history: they write the database values as SQL text, on purpose
            and "migrations" not in f.relative_to(ROOT).parts
            for n, line in enumerate(f.read_text(encoding="utf-8").splitlines(), 1)
            for pattern in (COMPARED, ASSIGNED, RANKED) for m in pattern.finditer(line)
            if m[m.lastindex or 1] in VALUES]


def test_the_pattern_catches_what_it_is_for() -> None:
    found = [m.group(1) for m in COMPARED.finditer('if pkg.status == "published" or rev.priority != "khan_cap" '
                                                   'and a.kind in ("audio", "slide") or r["status"] == "ready" '
                                                   "or c.get('state') not in ('dead', 'x')")]
    assert found == ["published", "khan_cap", "audio", "ready", "dead"]
    assigned = 'Draft(priority="uu_tien", kind="x"); status = "failed"; status == "dead"'
    assert [m.group(1) for m in ASSIGNED.finditer(assigned)] == ["uu_tien", "x", "failed"]
    ranked = 'order = {"pending": 0, "authorised": 1}; _OPEN = frozenset({"sending", "failed"})'
    assert [m[m.lastindex or 1] for m in RANKED.finditer(ranked)] == ["pending", "sending"]


def test_no_state_is_compared_as_a_bare_string() -> None:
    files = [f for layer in ("services", "storage", "tasks", "flows", "web", "cli")
             for f in sorted((ROOT / layer).rglob("*.py"))]
    assert _bare(files) == []


def test_no_page_compares_a_state_as_a_bare_string() -> None:
    """The templates get the enums as globals (web.app.STATE_ENUMS): {% if d.status == DeviceStatus.PENDING %}."""
    assert _bare(sorted((ROOT / "web" / "templates").rglob("*.html"))) == []


def test_the_pages_name_only_members_that_exist() -> None:
    """A misspelt member (DeviceStatus.PENDNG) is undefined to Jinja and compares false without a word."""
    from web.app import STATE_ENUMS

    named = [(f.name, m.group(0)) for f in sorted((ROOT / "web" / "templates").rglob("*.html"))
             for m in re.finditer(r"\b([A-Z][A-Za-z]+)\.([A-Z_]+)\b", f.read_text(encoding="utf-8"))
             if m.group(1) in STATE_ENUMS]
    assert ("devices.html", "DeviceStatus.PENDING") in named
    assert [n for n in named if not hasattr(STATE_ENUMS[n[1].split(".")[0]], n[1].split(".")[1])] == []
