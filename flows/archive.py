"""Archive flows: ingest a folder (or S3 prefix) of old recordings, and rebuild the search index."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from prefect import flow, get_run_logger
from prefect.futures import as_completed

from domain.search import IngestStatus
from services.archive import ingest
from settings import get_settings
from tasks.archive import ingest_recording, plan_ingest, rebuild_index

# Callbacks of this process told about each finished file (the CLI's progress bar); none under a worker.
_listeners: list[Callable[[dict[str, Any]], None]] = []


@contextmanager
def progress_listener(callback: Callable[[dict[str, Any]], None]) -> Iterator[None]:
    """Call ``callback(outcome)`` for every recording an ingest in this process finishes (or skips)."""
    _listeners.append(callback)
    try:
        yield
    finally:
        _listeners.remove(callback)


@flow(name="archive-ingest", flow_run_name="archive-ingest-{area_code}", validate_parameters=True)
def ingest_recordings(source: str, area_code: str, language: str | None = None,
                      limit: int | None = None) -> dict[str, Any]:
    """Transcribe old broadcast recordings into searchable archive entries.

    Resumable: a file whose content is already archived is skipped, and a failed file is tried again on
    the next run. Files are transcribed in parallel, each inside a slot of the ``bantin-ml`` limit.

    Args:
        source: a folder, or ``s3://bucket/prefix`` on the configured S3 server.
        area_code: where these recordings were broadcast.
        language: spoken language (e.g. "vi"); None to detect it per file.
        limit: ingest at most this many files of the source (in name order).

    Returns:
        Counts per outcome (``done``, ``skipped``, ``failed``) and the failures' messages.
    """
    language, refs = plan_ingest(source, area_code, language, limit)
    for callback in _listeners:
        callback({"status": "listed", "count": len(refs)})
    counts: dict[str, Any] = {**{s.value: 0 for s in IngestStatus}, "errors": {}}
    # A sliding window of submitted files: at most `workers` transcriptions in this run at once, however
    # many threads the task runner has (the bantin-ml slot also bounds the whole fleet).
    workers = get_settings().archive_ingest_workers
    todo = iter(refs)
    running: dict[Any, str] = {}
    while True:
        while len(running) < workers and (ref := next(todo, None)) is not None:
            running[ingest_recording.submit(ref, area_code, language)] = ref
        if not running:
            break
        future = next(as_completed(list(running)))
        ref = running.pop(future)
        try:
            outcome = future.result()
        except Exception as exc:  # a model or storage error: reported, the other files continue
            outcome = {"source": ref, "status": IngestStatus.FAILED.value, "entry_id": None,
                       "message": f"{type(exc).__name__}: {exc}"}
        ingest.tally(counts, ref, outcome)
        for callback in _listeners:
            callback(outcome)
    get_run_logger().info("ingest of %s: %d done, %d skipped, %d failed", source, counts[IngestStatus.DONE],
                          counts[IngestStatus.SKIPPED], counts[IngestStatus.FAILED])
    return counts


@flow(name="archive-reindex", flow_run_name="archive-reindex")
def reindex_archive() -> dict[str, int]:
    """Rebuild the archive's search index from every published, corrected or withdrawn package and every
    ingested recording (run after an upgrade that changes how text is folded, or to repair the index).

    Returns:
        Counts of ``packages``, their ``entries``, and ``recordings``.
    """
    return rebuild_index()
