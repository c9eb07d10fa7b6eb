"""Crash-recovery tasks run by the sweeper flow (``flows.sweep``): work a killed runner left half done is
found by its age and handed back, without a person.

- a package left ``producing`` past ``BANTIN_PRODUCING_TIMEOUT_S`` is marked failed (the reason says its run
  stopped) and its draft produced again (production resumes from what was stored);
- an approved package whose publish run was lost (nothing sent, nothing given up) is published again;
- a delivery left ``sending`` past ``BANTIN_DELIVERY_CLAIM_TIMEOUT_S`` is marked failed and its package
  published again (the re-send carries the same idempotency key, so the receiver recognises it);
- a failed MQTT emergency push (a broker outage) is pushed again once its backoff has passed;
- a flow run of the work pool whose worker is gone (its machine crashed: no heartbeat for
  ``BANTIN_RUN_LEASE_S``) is marked crashed, freeing the concurrency slot it held, and queued again.

Every task takes the time as an argument (an injected clock), so tests never sleep.
"""

from datetime import datetime, timedelta

from prefect import get_run_logger, task

from domain.deliveries import DeliveryStatus, OutboxKind, PushStatus, backoff_delay
from domain.devices import EmergencyAction
from domain.packages import PackageStatus
from services.runtime import session
from settings import get_settings
from storage.repositories import channels, outbox, packages
from tasks.mqtt import push_once
from tasks.retry import RETRY_TRANSIENT

STALLED_PRODUCTION = "production stopped (its run ended without finishing); produced again by the sweeper"
STALLED_DELIVERY = "the runner stopped mid-send; sent again with the same idempotency key"
_PUBLISHABLE = (PackageStatus.APPROVED, PackageStatus.SCHEDULED, PackageStatus.PUBLISHED)


@task(**RETRY_TRANSIENT)
def stalled_productions(now: datetime) -> list[int]:
    """Fail packages left producing past the timeout.

    Returns:
        Their drafts, to produce again.
    """
    before = now - timedelta(seconds=get_settings().producing_timeout_s)
    drafts = []
    with session() as s:
        for pkg in packages.packages_in_status(s, PackageStatus.PRODUCING):
            if pkg.updated_at < before:
                packages.set_status(s, pkg, PackageStatus.FAILED, actor="sweeper", error=STALLED_PRODUCTION)
                drafts.append(pkg.draft_id)
    if drafts:
        get_run_logger().warning("stalled productions re-queued for drafts %s", drafts)
    return drafts


@task(**RETRY_TRANSIENT)
def stalled_deliveries(now: datetime) -> list[int]:
    """Fail outbox rows (deliveries and retraction notices) left sending past the claim timeout. A notice is
    sent again by the next ``publish_due`` (it still owes it).

    Returns:
        The packages of stalled deliveries that may still be published, to publish again.
    """
    before = now - timedelta(seconds=get_settings().delivery_claim_timeout_s)
    again: set[int] = set()
    with session() as s:
        for d in outbox.stale_sending(s, stale_before=before):
            outbox.set_status(s, d, DeliveryStatus.FAILED, error=STALLED_DELIVERY)
            if d.kind == OutboxKind.DELIVERY and packages.get_package(s, d.package_id).status in _PUBLISHABLE:
                again.add(d.package_id)
    if again:
        get_run_logger().warning("stalled deliveries: packages %s published again", sorted(again))
    return sorted(again)


@task(**RETRY_TRANSIENT)
def unstarted_publications(now: datetime) -> list[int]:
    """Approved packages whose publish never ran or died before sending anything (the run that approval
    started was lost), older than the claim timeout: nothing delivered, nothing given up.

    Returns:
        The packages to publish again.
    """
    before = now - timedelta(seconds=get_settings().delivery_claim_timeout_s)
    again = []
    with session() as s:
        for pkg in packages.packages_in_status(s, PackageStatus.APPROVED):
            states = {d.status for d, _ in outbox.of_package(s, pkg.id, OutboxKind.DELIVERY)}
            if pkg.updated_at < before and not states & {DeliveryStatus.DELIVERED, DeliveryStatus.DEAD,
                                                          DeliveryStatus.SENDING}:
                again.append(pkg.id)
    return again


@task
def retry_pushes(now: datetime) -> dict[str, int]:
    """Push failed (or stalled) MQTT emergency messages again once their backoff has passed; a ``play`` only
    while the package is still published, a ``stop`` always.

    Returns:
        How many pushes ended in each state.
    """
    settings = get_settings()
    stale_before = now - timedelta(seconds=settings.delivery_claim_timeout_s)
    with session() as s:
        due = []
        for rec in channels.pushes_to_retry(s, stale_before=stale_before):
            wait = backoff_delay(rec.attempts, settings.mqtt_retry_backoff_s, rand=0.5)
            if rec.status == PushStatus.FAILED and rec.updated_at + timedelta(seconds=wait) > now:
                continue
            if rec.action == EmergencyAction.PLAY and \
                    packages.get_package(s, rec.package_id).status != PackageStatus.PUBLISHED:
                continue
            due.append((rec.package_id, rec.action))
    counts: dict[str, int] = {}
    for package_id, action in due:
        status = push_once(package_id, action, now=now)
        key = status.value if status else "skipped"
        counts[key] = counts.get(key, 0) + 1
    if counts:
        get_run_logger().info("MQTT pushes retried: %s", counts)
    return counts


@task
def checkpoint_audit(now: datetime) -> int | None:
    """Sign an audit checkpoint when the log grew since the last one (``services.audit_anchor``); a broken log
    is not blessed: it is logged as an error and nothing is written.

    Returns:
        The sequence number checkpointed, or None (none due, or the log is broken).
    """
    from services import audit_anchor
    from services.runtime import object_store

    settings = get_settings()
    with session() as s:
        document, report = audit_anchor.checkpoint_if_due(s, object_store(), now=now,
                                                          interval_s=settings.audit_checkpoint_interval_s,
                                                          file=settings.audit_checkpoint_file)
    if report is None:
        return None
    if document is None:
        get_run_logger().error("audit log broken, no checkpoint written: %s", "; ".join(report.problems[:3]))
        return None
    return report.head_seq


@task
def lost_runs(now: datetime) -> dict[str, list[str]]:
    """Crash the work pool's flow runs whose worker is gone and queue them again
    (:func:`tasks.lost_runs.recover_lost_runs`), and the subflow runs their attempts left running; nothing
    without a Prefect server (runs then live in this process).

    Returns:
        The ids of the flow runs queued again (``retried``), of those left crashed (``crashed``) and of the
        subflow runs crashed (``children``).
    """
    from tasks.lost_runs import recover_lost_runs
    from tasks.runs import _client, server_configured

    if not server_configured():
        return {"retried": [], "crashed": [], "children": []}
    settings = get_settings()
    with _client() as client:
        found = recover_lost_runs(client, now, lease_s=settings.run_lease_s, silent_s=settings.silent_run_timeout_s)
    if found.retried or found.crashed or found.children:
        get_run_logger().warning("runs whose worker is gone: queued again %s; left crashed %s; their subflow runs "
                                 "crashed %s", found.retried, found.crashed, found.children)
    return {"retried": found.retried, "crashed": found.crashed, "children": found.children}


@task
def requeue(deployment: str, parameters: dict[str, int]) -> str:
    """Hand recovered work back: as a new run on the work pool when a Prefect server with bantin's
    deployments runs, else (a local sweep without a server) in this process.

    Returns:
        The new flow run's id, or ``inline``.
    """
    from tasks.runs import server_configured, start_deployment

    if server_configured():
        try:
            return start_deployment(deployment, parameters, username="sweeper")
        except Exception as exc:  # noqa: BLE001 (no such deployment on this server: run it here instead)
            get_run_logger().warning("could not queue %s %s (%s); running it here", deployment, parameters, exc)
    if deployment == "produce":
        from flows.produce import produce_package

        produce_package(parameters["draft_id"])
    else:
        from flows.publish import publish_package

        publish_package(parameters["package_id"])
    return "inline"
