"""deployments/prefect.yaml must point at real flows (a typo there only shows at deploy time)."""

from pathlib import Path

import yaml
from prefect import Flow
from prefect.flows import load_flow_from_entrypoint

ROOT = Path(__file__).parents[2]


def test_every_deployment_entrypoint_loads_a_flow(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(ROOT)
    spec = yaml.safe_load((ROOT / "deployments" / "prefect.yaml").read_text(encoding="utf-8"))
    names = {d["name"]: d["entrypoint"] for d in spec["deployments"]}
    assert {"produce", "publish"} <= set(names)
    for entrypoint in names.values():
        flow = load_flow_from_entrypoint(entrypoint)
        assert isinstance(flow, Flow)
    assert load_flow_from_entrypoint(names["produce"]).name == "produce-package"
