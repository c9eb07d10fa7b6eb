"""The publish flow: approved package -> devices (pull, and MQTT for emergencies) and deliveries to every
enabled destination; the retract flow tells destinations and devices about a withdrawal or kill."""

from prefect import flow, get_run_logger

from domain.deliveries import DeliveryStatus
from domain.devices import EmergencyAction
from domain.packages import PackageStatus
from tasks.archive import index_package
from tasks.devices import refresh_schedules
from tasks.limits import DUE_LIMIT, only_one
from tasks.mqtt import emergency_push_due, emergency_stop_due, push_emergency
from tasks.outbox import send_outbox
from tasks.production import describe_error
from tasks.publishing import (
    complete_publication,
    due_packages,
    hold_until_embargo,
    mark_publication_failed,
    open_device_channel,
    prepare_deliveries,
    reopen_dead_deliveries,
)
from tasks.retractions import packages_to_retract, prepare_retractions, retraction_due


@flow(name="publish-package", flow_run_name="publish-package-{package_id}", validate_parameters=True)
def publish_package(package_id: int, resend_dead: bool = False) -> str:
    """Publish an approved package: to devices (at once), then to every enabled destination.

    Each delivery is retried on transient failures with backoff and jitter; a delivered one is never sent
    again, and each send is claimed first, so the flow can be rerun (or run twice at once) safely.
    An emergency (khan_cap) that reaches devices is pushed over MQTT in a task of its own, beside the HTTP
    deliveries: a broker outage marks the MQTT channel failed (the sweeper retries it) and holds nothing up.

    Args:
        package_id: a package approved for its current manifest.
        resend_dead: first give deliveries that were given up a fresh attempt budget.

    Returns:
        The package status after publication ("published"), or "scheduled" when its embargo lies ahead.
    """
    try:
        return _publish(package_id, resend_dead)
    except Exception as exc:
        mark_publication_failed(package_id, describe_error(exc))
        raise


def _publish(package_id: int, resend_dead: bool) -> str:
    logger = get_run_logger()
    held_until = hold_until_embargo(package_id)
    if held_until is not None:
        logger.info("package %s is scheduled for %s; publish_due will send it then", package_id, held_until)
        return "scheduled"
    if resend_dead:
        reopen_dead_deliveries(package_id)
    todo = prepare_deliveries(package_id)
    push = None
    if open_device_channel(package_id) and emergency_push_due(package_id):
        push = push_emergency.submit(package_id, EmergencyAction.PLAY)  # beside the deliveries, never before them
    try:
        counts = send_outbox(todo) if todo else {}
        if dead := counts.get(DeliveryStatus.DEAD):
            logger.warning("%d delivery(ies) are dead; see 'bantin deliveries list --dead'", dead)
        status = complete_publication(package_id)
    finally:
        if push is not None:
            push.wait()
    if push is None and status == PackageStatus.PUBLISHED and emergency_push_due(package_id):
        # no device was authorised when the publish started, but HTTP took it
        push_emergency(package_id, EmergencyAction.PLAY)
    if status == PackageStatus.PUBLISHED:
        index_package(package_id)  # the archive (idempotent; `bantin archive reindex` repairs a missed one)
    return status


@flow(name="retract-package", flow_run_name="retract-package-{package_id}", validate_parameters=True)
def retract_package(package_id: int) -> dict[str, int]:
    """Tell everyone who has a withdrawn or killed package: devices drop it at their next poll (emergencies
    get an MQTT ``stop`` at once) and every destination that was delivered it gets a signed notice.

    Returns:
        How many notices ended in each status.
    """
    refresh_schedules()
    if not retraction_due(package_id):
        return {}
    index_package(package_id)  # the archive keeps it, flagged withdrawn or killed
    if emergency_stop_due(package_id):
        from flows.emergency import broadcast_emergency

        broadcast_emergency(package_id)
    todo = prepare_retractions(package_id)
    return send_outbox(todo) if todo else {}


@flow(name="publish-due", flow_run_name="publish-due")
def publish_due() -> list[int]:
    """Publish every scheduled package whose embargo has passed, send outstanding withdrawal and kill notices,
    then recover work a killed runner left half done (the sweeper, :func:`flows.sweep.sweep`). The ``due``
    deployment runs it every ``BANTIN_SWEEP_INTERVAL_S`` (a minute); a run that comes due while the previous
    one still works skips its turn (the ``bantin-due`` slot, see :mod:`tasks.limits`).

    Returns:
        The packages published by this run.
    """
    from flows.sweep import sweep

    logger = get_run_logger()
    with only_one(DUE_LIMIT) as held:
        if not held:
            logger.info("the previous due run is still working; this one skips its turn")
            return []
        published = []
        for package_id in due_packages():
            try:
                publish_package(package_id)
                published.append(package_id)
            except Exception:  # one failing package must not hold back the others; it stays scheduled
                logger.exception("publishing scheduled package %s failed", package_id)
        for package_id in packages_to_retract():
            try:
                retract_package(package_id)
            except Exception:  # retried at the next run
                logger.exception("retracting package %s failed", package_id)
        try:
            sweep()
        except Exception:  # the next run sweeps again
            logger.exception("the crash-recovery sweep failed")
    return published
