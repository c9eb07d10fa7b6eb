"""The sweeper flow: crash recovery without a person (wiring only; see tasks/sweeping.py)."""

from datetime import UTC, datetime

from prefect import flow

from tasks.relays import orphan_streams
from tasks.sweeping import (
    checkpoint_audit,
    lost_runs,
    requeue,
    retry_pushes,
    stalled_deliveries,
    stalled_productions,
    unstarted_publications,
)


@flow(name="sweep", flow_run_name="sweep", validate_parameters=True)
def sweep(now: datetime | None = None) -> dict[str, object]:
    """Crash and queue again the work pool's flow runs whose machine died (no heartbeat), re-queue packages
    stuck producing, deliveries stuck sending and approved packages whose publish was lost, past their
    timeouts, push failed MQTT emergency messages again, and sign an audit checkpoint when the log grew (each
    run of the ``due`` deployment, :func:`flows.publish.publish_due`, ends with it: every
    ``BANTIN_SWEEP_INTERVAL_S``).

    Args:
        now: the time to judge ages by (default: now); tests inject it instead of sleeping.

    Returns:
        What was re-queued: drafts produced again, packages published again, MQTT pushes by outcome, flow runs
        whose worker was lost; relay runs and live sessions whose carrier is gone (``streams``); and the audit
        entry checkpointed (None: none due).
    """
    now = now or datetime.now(UTC)
    runs = lost_runs(now)  # first: the slots their runs held go to the work re-queued below
    drafts = stalled_productions(now)
    again = sorted(set(stalled_deliveries(now)) | set(unstarted_publications(now)))
    pushes = retry_pushes(now)
    streams = orphan_streams(now)  # relay runs and live sessions whose carrier is gone: failed
    for package_id in again:
        requeue("publish", {"package_id": package_id})
    for draft_id in drafts:
        requeue("produce", {"draft_id": draft_id})
    return {"produced_again": drafts, "published_again": again, "pushes": pushes,
            "audit_checkpoint": checkpoint_audit(now), "runs": runs, "streams": streams}
