"""Production tasks: from a draft revision to a package awaiting review.

Each task wraps one step of ``services.production`` / ``services.production_media`` for one package (and
language); the decisions, records and audit entries are made there, so they run and are tested without
Prefect. Steps whose output is already recorded and stored are skipped, so a rerun after a failure
resumes where it stopped and produces identical keys.
"""

from prefect import get_run_logger, task
from prefect.runtime import flow_run

from services import production, production_media
from services.production import ProductionStart, describe_error
from tasks.retry import RETRY_TRANSIENT

__all__ = ["ProductionStart", "describe_error", "finalize_package", "mark_failed", "normalize_audio",
           "render_board_slides", "start_production", "synthesize_speech", "write_texts"]



@task(**RETRY_TRANSIENT)
def start_production(draft_id: int) -> ProductionStart:
    """Create the package for the draft's latest revision, or resume the one that exists
    (``services.production.start``); the flow does nothing more unless its status is ``producing``."""
    return production.start(draft_id, flow_run_id=str(flow_run.id or ""), log=get_run_logger())


@task(task_run_name="texts-{language}", **RETRY_TRANSIENT)
def write_texts(package_id: int, language: str) -> bool:
    """The loudspeaker script and board text of one language; True when the variant is ready."""
    return production.write_texts(package_id, language, log=get_run_logger())


@task(task_run_name="speak-{language}", **RETRY_TRANSIENT)
def synthesize_speech(package_id: int, language: str) -> bool:
    """A person's recording or the language's TTS voice; True when speech exists for the variant."""
    return production_media.synthesize_speech(package_id, language, log=get_run_logger())


@task(task_run_name="loudness-{language}", **RETRY_TRANSIENT)
def normalize_audio(package_id: int, language: str) -> bool:
    """Loudness normalisation and MP3 encoding; True when the broadcast audio exists."""
    return production_media.normalize_audio(package_id, language, log=get_run_logger())


@task(task_run_name="slides-{language}", **RETRY_TRANSIENT)
def render_board_slides(package_id: int, language: str) -> int:
    """The e-board slides of one language; the number of slides (0 when there is no board variant)."""
    return production_media.render_board_slides(package_id, language, log=get_run_logger())


@task(**RETRY_TRANSIENT)
def finalize_package(package_id: int) -> str:
    """Write the manifest and put the package up for review; returns the manifest hash."""
    return production.finalize(package_id, log=get_run_logger())


@task
def mark_failed(package_id: int, error: str) -> None:
    """Record why production stopped; everything produced so far stays for the rerun."""
    production.mark_failed(package_id, error)
