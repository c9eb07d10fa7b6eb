"""Relay flows (wiring only; see tasks/relays.py and services/relay_air.py).

``relay-due`` runs every minute: it claims the airings about to start and starts one ``relay-airing`` run per
airing, which feeds the area's Icecast mount from the upstream for the slot's length (falling back to the
area's default content during an outage).
"""

from datetime import UTC, datetime

from prefect import flow

from tasks.relays import carry_airing, claim_due, start_airing


@flow(name="relay-due", flow_run_name="relay-due")
def relay_due(now: datetime | None = None) -> list[str]:
    """Start the airings due now or within three minutes (the ``relay-due`` deployment runs it every minute).

    Args:
        now: the time to judge by (default: now); tests inject it.

    Returns:
        The flow run id (or final status, when carried here) of each airing started.
    """
    return [start_airing(slot_id, day) for slot_id, day in claim_due(now or datetime.now(UTC))]


@flow(name="relay-airing", flow_run_name="relay-{slot_id}-{local_date}", validate_parameters=True)
def relay_airing(slot_id: int, local_date: str, until: float | None = None) -> dict[str, object]:
    """Carry relay slot ``slot_id`` on Vietnam date ``local_date`` (YYYY-MM-DD) on its area's mount.

    Args:
        until: stop earlier than the slot's end (unix seconds; tests).
    """
    return carry_airing(slot_id, local_date, until)
