"""State is compared as the domain's enums, never as bare strings: a misspelt "publihsed" would silently never
match. Checked over the layers that decide (services), persist (storage) and the editor pages."""

import re
from pathlib import Path

from domain.approvals import Decision
from domain.deliveries import DeliveryStatus, PushStatus
from domain.devices import DeviceStatus
from domain.feedback import FeedbackState
from domain.packages import AssetKind, PackageStatus, VariantStatus
from domain.priority import Priority

ROOT = Path(__file__).parents[2]
VALUES = {m.value for enum in (PackageStatus, VariantStatus, AssetKind, DeliveryStatus, PushStatus, DeviceStatus,
                               FeedbackState, Priority, Decision) for m in enum}
# x.status == "published", rec.priority != "khan_cap", priority == "khan_cap", a.kind in ("audio", ...
COMPARED = re.compile(r"(?:\.(?:status|state|priority|decision|kind)(?:\.value)?|\bpriority|\bstatus)\s*"
                      r"(?:==|!=|in|not in)\s*[\(\[{]?\s*\"([a-z_]+)\"")


def test_the_pattern_catches_what_it_is_for() -> None:
    found = [m.group(1) for m in COMPARED.finditer('if pkg.status == "published" or rev.priority != "khan_cap" '
                                                   'and a.kind in ("audio", "slide")')]
    assert found == ["published", "khan_cap", "audio"]


def test_no_state_is_compared_as_a_bare_string() -> None:
    files = [*sorted((ROOT / "services").rglob("*.py")), *sorted((ROOT / "storage").rglob("*.py")),
             ROOT / "web" / "pages.py"]
    bare = [f"{f.relative_to(ROOT)}:{n}: {m.group(1)}"
            for f in files for n, line in enumerate(f.read_text(encoding="utf-8").splitlines(), 1)
            for m in COMPARED.finditer(line) if m.group(1) in VALUES]
    assert bare == []
