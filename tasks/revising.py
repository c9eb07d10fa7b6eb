"""The first step of the revise flow: check the package still waits for its one changed variant."""

from prefect import get_run_logger, task
from prefect.runtime import flow_run

from domain.packages import PackageStatus
from services.runtime import session
from storage.repositories import audit, packages


@task
def start_revision(package_id: int, language: str) -> bool:
    """True when the package is being produced (made by ``services.variant_edits``) and the flow should go on;
    a package already in review or replaced is left as it is (a second run of the flow changes nothing)."""
    with session() as s:
        pkg = packages.get_package(s, package_id)
        if pkg.status != PackageStatus.PRODUCING:
            get_run_logger().info("package %s is %s; nothing to revise", package_id, pkg.status)
            return False
        audit.record(s, actor="system", action="flow.revise", entity="package", entity_id=package_id,
                     language=language, flow_run_id=str(flow_run.id or ""))
        return True
