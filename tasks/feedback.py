"""Feedback tasks: transcribe a citizen's voice message; erase contact data past the retention period.

Only storage hiccups are retried; a corrupt recording or a missing model fails the same way every time.
"""

from prefect import get_run_logger, task

from services import feedback as feedback_service
from services import feedback_intake
from services.runtime import object_store, session
from tasks.limits import ml_slot
from tasks.retry import RETRY_TRANSIENT


@task(**RETRY_TRANSIENT)
def transcribe_feedback_voice(feedback_id: int) -> int:
    """Whisper's transcript of the item's voice message, stored for the officer; returns its length."""
    with ml_slot():  # Whisper: one of the fleet's bantin-ml slots
        text = feedback_intake.transcribe_voice(session, object_store(), feedback_id)
    get_run_logger().info("feedback %s: voice transcript of %s characters", feedback_id, len(text))
    return len(text)


@task(**RETRY_TRANSIENT)
def erase_feedback_contacts(retention_days: int | None = None) -> int:
    """Erase contact data and voice messages older than the retention period; returns how many items."""
    done = feedback_service.erase_expired(session, object_store(), retention_days=retention_days)
    get_run_logger().info("feedback: contact data erased on %s item(s), %s voice message(s) deleted", done.items,
                          len(done.voice_keys))
    return done.items
