"""The emergency flow: push a khẩn cấp package to devices at once over MQTT (they also pull it)."""

from prefect import flow

from tasks.devices import refresh_schedules
from tasks.mqtt import emergency_action, push_emergency


@flow(name="broadcast-emergency", flow_run_name="broadcast-emergency-{package_id}", validate_parameters=True)
def broadcast_emergency(package_id: int) -> str:
    """Push an emergency package's signed message to every target area's MQTT topic.

    A published package is sent as ``play`` (devices interrupt, repeat until expiry, revert, acknowledge); a
    withdrawn, killed or corrected one as ``stop`` (``services.emergency.broadcast_action`` decides). Safe to
    rerun: devices recognise the item id.

    Args:
        package_id: a published (or withdrawn/killed) emergency (khan_cap) package.

    Returns:
        The MQTT push's state: ``sent``, ``failed`` (the sweeper pushes it again), ``sending`` (another runner
        has it), ``skipped`` (no broker configured: devices get it at their next poll) or ``none`` (nothing to
        broadcast).
    """
    action = emergency_action(package_id)
    if action is None:
        return "none"
    refresh_schedules()
    return push_emergency(package_id, action)
