"""Transcription task: an audio draft's recording -> a machine-transcript revision.

Only storage hiccups are retried: a corrupt recording, a missing model or a checksum mismatch will
fail the same way every time, and the operator needs that message at once.
"""

from prefect import get_run_logger, task

from services import drafts as draft_service
from services.runtime import object_store, session
from tasks.retry import RETRY_TRANSIENT


@task(**RETRY_TRANSIENT)
def transcribe_recording(draft_id: int, force: bool = False) -> int:
    """Transcribe the draft's recording and append the transcript as a revision if the text changed.

    Args:
        draft_id: an audio draft.
        force: transcribe even if the latest revision is an editor's correction.

    Returns:
        The number of the draft's latest revision afterwards.
    """
    revision = draft_service.retranscribe_draft(session, object_store(), draft_id, force=force)
    get_run_logger().info("draft %s: latest revision %s (%s)", draft_id, revision.number, revision.note[:60])
    return revision.number
