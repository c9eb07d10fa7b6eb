"""Relay tasks: claim the airings that are due, and carry one airing on its area's mount
(``services.relay_air``: ffmpeg from the upstream, the area's default content during an outage)."""

from datetime import datetime

from prefect import get_run_logger, task

from services import relay_air, relays
from services.runtime import session
from tasks.retry import RETRY_TRANSIENT


@task(**RETRY_TRANSIENT)
def claim_due(now: datetime) -> list[tuple[int, str]]:
    """Claim every airing on the air now or starting within three minutes that no run has taken.

    Returns:
        ``(slot id, Vietnam date)`` of each airing claimed.
    """
    claimed = []
    with session() as s:
        for occ, _rec, _src in relays.due_airings(s, now):
            if relays.claim(s, occ) is not None:
                claimed.append((occ.slot_id, occ.local_date.isoformat()))
    return claimed


@task
def start_airing(slot_id: int, local_date: str) -> str:
    """Hand a claimed airing to its own flow run on the work pool (inline when no Prefect server runs).

    Returns:
        The new flow run's id, or the airing's final status when it ran here.
    """
    from tasks.runs import server_configured, start_deployment

    if server_configured():
        try:
            run_id = start_deployment("relay", {"slot_id": slot_id, "local_date": local_date}, username="relay")
        except Exception as exc:  # noqa: BLE001 (no relay deployment on this server: carry it here instead)
            get_run_logger().warning("could not queue relay %s %s (%s); carrying it here", slot_id, local_date, exc)
        else:
            with session() as s:  # the sweeper asks about this flow run before failing a run not yet carried
                relays.queued(s, slot_id, local_date, run_id)
            return run_id
    return relay_air.carry(slot_id, local_date).status


@task
def carry_airing(slot_id: int, local_date: str, until: float | None = None) -> dict[str, object]:
    """Carry one airing to its end; returns its final status and the events logged on the way."""
    done = relay_air.carry(slot_id, local_date, until=until)
    return {"status": done.status, "events": done.events}


@task(**RETRY_TRANSIENT)
def orphan_streams(now: datetime) -> dict[str, list[str]]:
    """Relay runs and live sessions still open whose carrier is gone (no heartbeat, or long past their end),
    marked failed with an event and an audit entry (run by the sweeper).

    Returns:
        ``relay_runs`` as ``slot/date`` and ``live_sessions`` as ids.
    """
    from services import live

    with session() as s:
        runs = [f"{slot}/{day}" for slot, day in relays.sweep_orphans(s, now, flow_run_gone=flow_run_gone)]
        sessions = [str(i) for i in live.sweep_orphans(s, now)]
    if runs or sessions:
        get_run_logger().warning("streams whose carrier is gone, marked failed: relay runs %s, live sessions %s",
                                 runs, sessions)
    return {"relay_runs": runs, "live_sessions": sessions}


def flow_run_gone(run_id: str) -> bool:
    """Whether a relay airing's flow run is over (completed, failed, crashed, cancelled) or unknown to the
    server; False when no server runs or it cannot say (the sweeper then waits for the airing's end)."""
    from tasks.runs import FINAL_STATES, _client, server_configured

    if not server_configured():
        return False
    try:
        with _client() as client:
            run = client.read_flow_run(run_id)
    except Exception as exc:  # noqa: BLE001 (unknown id: gone; no answer: not known gone)
        return type(exc).__name__ == "ObjectNotFound"
    return run.state is not None and run.state.type.value in FINAL_STATES
