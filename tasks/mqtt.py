"""MQTT tasks: push signed emergency messages (``play`` on publish, ``stop`` on withdrawal or kill).

The MQTT push is a channel of its own with its own state (``channel_pushes``): one attempt per call, bounded
by ``BANTIN_MQTT_TIMEOUT_S``, recorded as sent or failed. A broker outage never holds up the HTTP deliveries
running beside it nor fails the publish; the sweeper (``flows.sweep``) pushes a failed one again by itself,
with backoff, until the broker confirms it.
"""

from datetime import UTC, datetime, timedelta

from prefect import get_run_logger, task

from domain.deliveries import PushStatus
from domain.devices import EmergencyAction
from domain.errors import InvalidTransition
from services import device_schedule
from services.emergency import (
    broadcast_action,
    emergency_messages,
    publish_mqtt,
    push_due,
    record_broadcast,
    stop_due,
)
from services.runtime import object_store, session
from settings import get_settings
from storage.models_channels import ChannelRecord
from storage.repositories import channels

MQTT = "mqtt"


def push_once(package_id: int, action: str = EmergencyAction.PLAY, *, now: datetime | None = None) -> PushStatus | None:
    """One attempt to push the package's emergency message on every target area's topic (QoS 1, retained).

    The push is claimed first (compare-and-set), so two runners never push it at the same moment; one left
    ``sending`` by a dead runner is claimed again after ``BANTIN_DELIVERY_CLAIM_TIMEOUT_S``.

    Returns:
        The push's state after the attempt (``sending`` when another runner has it), or None when no broker is
        configured (``BANTIN_MQTT_HOST`` empty: devices get the item at their next poll).
    """
    settings = get_settings()
    if not settings.mqtt_host:
        return None
    now = now or datetime.now(UTC)
    stale_before = now - timedelta(seconds=settings.delivery_claim_timeout_s)
    with session() as s:
        messages = emergency_messages(s, object_store(), package_id, action, now=now)
        rec = channels.ensure_push(s, package_id=package_id, channel=MQTT, action=action)
        if rec.status == PushStatus.SENDING and rec.updated_at >= stale_before:
            return PushStatus.SENDING  # in flight on another runner
        try:
            channels.set_push_status(s, rec, PushStatus.SENDING, now=now)
        except InvalidTransition:  # another runner claimed it between our read and write
            return PushStatus.SENDING
        push_id = rec.id
    device_schedule.invalidate()
    try:
        publish_mqtt(messages)
    except Exception as exc:  # the broker is down or did not confirm: the sweeper retries; deliveries go on
        with session() as s:
            failed = s.get(ChannelRecord, push_id)
            assert failed is not None
            channels.set_push_status(s, failed, PushStatus.FAILED, error=f"{type(exc).__name__}: {exc}")
        return PushStatus.FAILED
    with session() as s:
        record_broadcast(s, package_id, messages)
        sent = s.get(ChannelRecord, push_id)
        assert sent is not None
        channels.set_push_status(s, sent, PushStatus.SENT)
    return PushStatus.SENT


@task(task_run_name="mqtt-{action}-{package_id}")
def push_emergency(package_id: int, action: str = EmergencyAction.PLAY) -> str:
    """Push the package's emergency message once (see :func:`push_once`); never raises for a broker outage.

    Returns:
        ``sent``, ``failed`` (retried by the sweeper), ``sending`` (another runner has it) or ``skipped`` (no
        broker configured).
    """
    logger = get_run_logger()
    status = push_once(package_id, action)
    if status is None:
        logger.warning("no MQTT broker configured: emergency %s reaches devices at their next poll", package_id)
        return "skipped"
    if status is PushStatus.FAILED:
        logger.error("emergency %s: MQTT %s failed; HTTP deliveries go on and the sweeper retries the push",
                     package_id, action)
    else:
        logger.info("emergency %s: MQTT %s %s", package_id, action, status.value)
    return status.value


@task
def emergency_action(package_id: int) -> EmergencyAction | None:
    """``play``, ``stop`` or None (nothing to broadcast) for an emergency broadcast run, audited."""
    from prefect.runtime import flow_run

    with session() as s:
        action = broadcast_action(s, package_id, flow_run_id=str(flow_run.id or ""))
    if action is None:
        get_run_logger().warning("package %s: nothing to broadcast", package_id)
    return action


@task
def emergency_push_due(package_id: int, action: str = EmergencyAction.PLAY) -> bool:
    """Whether the package is an emergency whose MQTT ``action`` was not confirmed yet."""
    with session() as s:
        return push_due(s, package_id, action)


@task
def emergency_stop_due(package_id: int) -> bool:
    """Whether a withdrawn or killed package is an emergency pushed to play and not stopped yet."""
    with session() as s:
        return stop_due(s, package_id)
