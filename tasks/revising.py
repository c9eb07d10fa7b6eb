"""The first step of the revise flow: check the package still waits for its one changed variant."""

from prefect import get_run_logger, task
from prefect.runtime import flow_run

from services import variant_edits
from services.runtime import session


@task
def start_revision(package_id: int, language: str) -> bool:
    """True when the package is being produced (made by ``services.variant_edits``) and the flow should go on;
    a package already in review or replaced is left as it is (a second run of the flow changes nothing)."""
    with session() as s:
        go_on = variant_edits.start_revision(s, package_id, language, flow_run_id=str(flow_run.id or ""))
    if not go_on:
        get_run_logger().info("package %s is no longer being produced; nothing to revise", package_id)
    return go_on
