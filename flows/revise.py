"""The revise flow: one variant changed by a person (text or voice) -> the new package awaiting review."""

from prefect import flow

from tasks.production import (
    describe_error,
    finalize_package,
    mark_failed,
    normalize_audio,
    render_board_slides,
    synthesize_speech,
)
from tasks.revising import start_revision


@flow(name="revise-variant", flow_run_name="revise-package-{package_id}-{language}", validate_parameters=True)
def revise_variant(package_id: int, language: str) -> int:
    """Speak, normalise and render only ``language`` of a package made by ``services.variant_edits`` (the
    other variants were carried over), then write the new manifest, which needs a new approval.

    On failure the package is marked failed and the produce flow of its draft resumes it.

    Returns:
        The package ID.
    """
    if not start_revision(package_id, language):
        return package_id
    try:
        slides = render_board_slides.submit(package_id, language)
        synthesize_speech(package_id, language)
        normalize_audio(package_id, language)
        slides.result()
        finalize_package(package_id)
    except Exception as exc:
        mark_failed(package_id, describe_error(exc))
        raise
    return package_id
