"""The emergency flow: push a khẩn cấp package to devices at once over MQTT (they also pull it)."""

from prefect import flow, get_run_logger

from domain.devices import EmergencyAction
from domain.packages import PackageStatus
from services.runtime import session
from storage.repositories import audit, packages
from tasks.devices import refresh_schedules
from tasks.mqtt import push_emergency

STOPPED = (PackageStatus.WITHDRAWN.value, PackageStatus.KILLED.value, PackageStatus.CORRECTED.value)


@flow(name="broadcast-emergency", flow_run_name="broadcast-emergency-{package_id}", validate_parameters=True)
def broadcast_emergency(package_id: int) -> str:
    """Push an emergency package's signed message to every target area's MQTT topic.

    A published package is sent as ``play`` (devices interrupt, repeat until expiry, revert, acknowledge); a
    withdrawn, killed or corrected one as ``stop``. Safe to rerun: devices recognise the item id.

    Args:
        package_id: a published (or withdrawn/killed) emergency (khan_cap) package.

    Returns:
        The MQTT push's state: ``sent``, ``failed`` (the sweeper pushes it again), ``sending`` (another runner
        has it), ``skipped`` (no broker configured: devices get it at their next poll) or ``none`` (nothing to
        broadcast).
    """
    from prefect.runtime import flow_run

    with session() as s:
        status = packages.get_package(s, package_id).status
        audit.record(s, actor="system", action="flow.emergency", entity="package", entity_id=package_id,
                     flow_run_id=str(flow_run.id or ""))
    if status not in STOPPED and status != PackageStatus.PUBLISHED:
        get_run_logger().warning("package %s is %s: nothing to broadcast", package_id, status)
        return "none"
    refresh_schedules()
    return push_emergency(package_id, EmergencyAction.STOP if status in STOPPED else EmergencyAction.PLAY)
