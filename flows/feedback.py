"""Feedback flows (wiring only): a voice message's transcript, and the daily retention run.

Deployments to register (``deployments/serve.py``): ``transcribe-feedback-voice`` tagged ``ml`` (started
after a voice message arrives), and ``erase-feedback-contacts`` on a daily schedule.
"""

from prefect import flow

from tasks.feedback import erase_feedback_contacts, transcribe_feedback_voice


@flow(name="transcribe-feedback-voice", flow_run_name="transcribe-feedback-{feedback_id}", validate_parameters=True)
def transcribe_feedback(feedback_id: int) -> int:
    """Transcribe a feedback item's voice message for the officer (the recording is kept); safe to rerun."""
    return transcribe_feedback_voice(feedback_id)


@flow(name="erase-feedback-contacts", validate_parameters=True)
def erase_expired_feedback_contacts(retention_days: int | None = None) -> int:
    """Erase contact data and voice messages past the retention period (Decree 13/2023); safe to rerun."""
    return erase_feedback_contacts(retention_days)
