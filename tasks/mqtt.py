"""MQTT tasks: push signed emergency messages (``play`` on publish, ``stop`` on withdrawal or kill)."""

from prefect import get_run_logger, task

from services.emergency import emergency_messages, publish_mqtt, record_broadcast
from services.runtime import object_store, session
from settings import get_settings
from tasks.retry import retry_if_transient


@task(task_run_name="mqtt-{action}-{package_id}", retries=3, retry_delay_seconds=[1, 3, 10],
      retry_jitter_factor=0.5, retry_condition_fn=retry_if_transient)
def push_emergency(package_id: int, action: str = "play") -> int:
    """Publish the package's emergency message on each target area's topic (QoS 1, retained, expiring).

    Without a configured broker (``BANTIN_MQTT_HOST``) nothing is pushed and devices get the item at their
    next poll; that is logged, not an error. A broker that does not answer is retried, then fails the task.

    Returns:
        How many messages the broker confirmed.
    """
    logger = get_run_logger()
    with session() as s:
        messages = emergency_messages(s, object_store(), package_id, action)
    if not get_settings().mqtt_host:
        logger.warning("no MQTT broker configured: emergency %s reaches devices at their next poll", package_id)
        return 0
    publish_mqtt(messages)
    with session() as s:
        record_broadcast(s, package_id, messages)
    logger.info("emergency %s: %s pushed on %s", package_id, action, ", ".join(m.topic for m in messages) or "-")
    return len(messages)
