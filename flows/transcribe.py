"""The transcribe flow: an audio draft's recording -> an editable machine transcript (wiring only)."""

from prefect import flow

from tasks.transcription import transcribe_recording


@flow(name="transcribe-draft", flow_run_name="transcribe-draft-{draft_id}", validate_parameters=True)
def transcribe_draft(draft_id: int, force: bool = False) -> int:
    """Transcribe an audio draft's recording into a new revision for the editor to correct.

    Safe to rerun: the same model on the same recording adds no revision, and an editor's corrected
    revision is left on top unless ``force`` is given.

    Args:
        draft_id: a draft whose latest revision has a recording as its source.
        force: replace an editor's corrections with a fresh machine transcript.

    Returns:
        The number of the draft's latest revision.
    """
    return transcribe_recording(draft_id, force)
