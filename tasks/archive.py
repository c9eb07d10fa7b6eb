"""Archive tasks: index a published package, list and ingest old recordings, rebuild the index.

Only storage hiccups and concurrent writers are retried (``RETRY_TRANSIENT``): bad audio is reported per file by
the service, and a missing model would fail the same way on every attempt.
"""

from prefect import get_run_logger, task

from domain.search import IngestStatus
from services.archive import indexing, ingest
from services.runtime import object_store, session
from tasks.limits import ml_slot
from tasks.retry import RETRY_TRANSIENT


@task(**RETRY_TRANSIENT)
def index_package(package_id: int) -> list[int]:
    """Put a published (or corrected, withdrawn) package into the archive; safe to call again.

    Args:
        package_id: any package; one not (yet) published is left out.

    Returns:
        The ids of its archive entries, one per ready language variant.

    Two publishes of one package may index it at once: the other run's entry goes in between this attempt's
    read and its insert, the unique entry refuses the insert and the attempt is rolled back whole; the retry
    (a unique violation is transient, ``tasks.retry.is_transient``) finds that entry and updates it.
    """
    with session() as s:
        ids = indexing.index_package(s, object_store(), package_id)
    get_run_logger().info("package %s: %d archive entr%s", package_id, len(ids), "y" if len(ids) == 1 else "ies")
    return ids


@task(**RETRY_TRANSIENT)
def plan_ingest(source: str, area_code: str, language: str | None = None,
                limit: int | None = None) -> tuple[str | None, list[str]]:
    """Check the ingest's area and language, and list the mp3, wav and m4a files under a folder or
    ``s3://bucket/prefix`` (at most ``limit``), as paths or URLs."""
    with session() as s:
        return ingest.plan_ingest(s, source, area_code, language, limit)


@task(task_run_name="ingest {ref}", **RETRY_TRANSIENT)
def ingest_recording(ref: str, area_code: str, language: str | None = None) -> dict[str, object]:
    """Transcribe one recording into an archive entry inside an ML slot (skipped when already done).

    Returns:
        ``{"source", "status": "done"|"skipped"|"failed", "entry_id", "message"}``.
    """
    outcome = ingest.ingest_recording(session, object_store(), ref, area_code=area_code, language=language,
                                     slot=ml_slot)
    log = get_run_logger()
    failed = outcome.status is IngestStatus.FAILED
    (log.warning if failed else log.info)("%s: %s %s", ref, outcome.status.value, outcome.message)
    return {"source": outcome.source, "status": outcome.status.value, "entry_id": outcome.entry_id,
            "message": outcome.message}


@task
def rebuild_index() -> dict[str, int]:
    """Clear the full-text index and write it again from the packages and the ingested recordings."""
    return indexing.reindex(session, object_store())
