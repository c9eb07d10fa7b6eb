"""The produce flow: draft -> package awaiting review."""

from prefect import flow, get_run_logger, unmapped

from domain.packages import PackageStatus
from tasks.production import (
    describe_error,
    finalize_package,
    mark_failed,
    normalize_audio,
    render_board_slides,
    start_production,
    synthesize_speech,
    write_texts,
)


@flow(name="produce-package", flow_run_name="produce-draft-{draft_id}", validate_parameters=True)
def produce_package(draft_id: int) -> int:
    """Produce the package for a draft's latest revision.

    Text, speech, loudness and slides are produced per language; the manifest is written last. On
    failure the package is marked failed with the reason and everything produced so far is kept, so
    running the flow again resumes it. Running it on a package already produced changes nothing.

    Args:
        draft_id: the draft to produce (must exist).

    Returns:
        The package ID.
    """
    logger = get_run_logger()
    start = start_production(draft_id)
    package_id = start.package_id
    if start.status != PackageStatus.PRODUCING:
        logger.info("package %s is already %s; nothing to produce", package_id, start.status)
        return package_id
    langs = list(start.languages)
    try:
        for language in langs:
            write_texts(package_id, language)
        slides = render_board_slides.map(unmapped(package_id), langs)  # runs alongside the audio chain
        synthesize_speech.map(unmapped(package_id), langs).result()
        normalize_audio.map(unmapped(package_id), langs).result()
        slides.result()
        finalize_package(package_id)
    except Exception as exc:
        mark_failed(package_id, describe_error(exc))
        raise
    return package_id
