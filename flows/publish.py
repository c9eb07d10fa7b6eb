"""The publish flow: approved package -> deliveries to every enabled destination."""

from prefect import flow, get_run_logger
from prefect.tasks import exponential_backoff

from settings import get_settings
from tasks.publishing import (
    complete_publication,
    deliver,
    due_packages,
    hold_until_embargo,
    prepare_deliveries,
    reopen_dead_deliveries,
)


@flow(name="publish-package", flow_run_name="publish-package-{package_id}", validate_parameters=True)
def publish_package(package_id: int, resend_dead: bool = False) -> str:
    """Deliver an approved package to every enabled destination.

    Each delivery is retried on transient failures with backoff; a delivered one is never sent
    again, so the flow can be rerun safely (e.g. after a destination came back).

    Args:
        package_id: a package approved for its current manifest.
        resend_dead: first give deliveries that were given up a fresh attempt budget.

    Returns:
        The package status after publication ("published"), or "scheduled" when its embargo lies ahead.
    """
    logger = get_run_logger()
    held_until = hold_until_embargo(package_id)
    if held_until is not None:
        logger.info("package %s is scheduled for %s; publish_due will send it then", package_id, held_until)
        return "scheduled"
    if resend_dead:
        reopen_dead_deliveries(package_id)
    todo = prepare_deliveries(package_id)
    settings = get_settings()
    sender = deliver.with_options(retries=settings.delivery_max_attempts - 1,
                                  retry_delay_seconds=exponential_backoff(settings.delivery_backoff_seconds))
    futures = sender.map(todo)
    futures.wait()
    failed = [f for f in futures if not f.state.is_completed()]
    if failed:
        logger.warning("%d delivery(ies) did not complete; see 'bantin package show %s'", len(failed), package_id)
    return complete_publication(package_id)


@flow(name="publish-due", flow_run_name="publish-due")
def publish_due() -> list[int]:
    """Publish every scheduled package whose embargo has passed (run it every minute: see deployments/).

    Returns:
        The packages published by this run.
    """
    published = []
    for package_id in due_packages():
        try:
            publish_package(package_id)
            published.append(package_id)
        except Exception:  # one failing package must not hold back the others; it stays scheduled
            get_run_logger().exception("publishing scheduled package %s failed", package_id)
    return published
