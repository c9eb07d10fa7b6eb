"""Prepare a Prefect server for bantin (``python -m deployments.setup``; safe to run again).

Creates the process work pool ``bantin`` with its prioritised queues (``emergency`` polled first, then
``publishing``, ``production`` and ``archive``, each with its concurrency limit: see ``tasks.runs.QUEUES``),
so an emergency never waits behind a long production run, and the global concurrency limit ``bantin-ml`` that
heavy ML tasks hold a slot of (:func:`tasks.limits.ml_slot`), sized by ``BANTIN_ML_CONCURRENCY``. Run it
before ``prefect deploy --all``; ``bantin serve`` and ``python -m deployments.serve`` create the limit
themselves. Needs ``PREFECT_API_URL``.
"""

import argparse
import sys

from settings import configure_prefect_env, get_settings
from tasks.limits import ML_LIMIT, ONE_SLOT_LIMITS
from tasks.runs import POOL, QUEUES  # (queue, priority, limit): lower priority number = polled first


def ensure_ml_limit(limit: int, *, resize: bool = True) -> str:
    """Create the ``bantin-ml`` global concurrency limit, or set its size if it exists.

    Args:
        resize: set an existing limit's size; False leaves it as the server's operator set it (a command
            run on one machine must not resize a fleet's limit).

    Returns:
        "created", "updated" or "kept".
    """
    return ensure_global_limit(ML_LIMIT, limit, resize=resize)


def ensure_global_limit(name: str, limit: int, *, resize: bool = True) -> str:
    """Create the global concurrency limit ``name``, or set its size if it exists (see ensure_ml_limit).

    Returns:
        "created", "updated" or "kept".
    """
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate, GlobalConcurrencyLimitUpdate
    from prefect.exceptions import ObjectNotFound

    with get_client(sync_client=True) as client:
        try:
            client.read_global_concurrency_limit_by_name(name)
        except ObjectNotFound:
            client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=name, limit=limit))
            return "created"
        if not resize:
            return "kept"
        client.update_global_concurrency_limit(name, GlobalConcurrencyLimitUpdate(limit=limit))
        return "updated"


def ensure_work_pool(name: str = POOL) -> None:
    """Create the process work pool and its queues with their priorities (existing ones are kept)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound
    from prefect.workers.process import ProcessWorker

    with get_client(sync_client=True) as client:
        try:
            client.read_work_pool(name)
        except ObjectNotFound:
            try:
                client.create_work_pool(WorkPoolCreate(
                    name=name, type="process", description="bantin flows (process workers on any machine)",
                    base_job_template=ProcessWorker.get_default_base_job_template()))
            except ObjectAlreadyExists:  # another machine ran setup at the same moment
                pass
        existing = {q.name: q for q in client.read_work_queues(work_pool_name=name)}
        for queue, priority, limit in QUEUES:
            if queue not in existing:
                try:
                    client.create_work_queue(name=queue, work_pool_name=name, priority=priority,
                                             concurrency_limit=limit)
                except ObjectAlreadyExists:
                    pass
            elif (existing[queue].priority, existing[queue].concurrency_limit) != (priority, limit):
                client.update_work_queue(existing[queue].id, priority=priority, concurrency_limit=limit)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ml-limit", type=int, default=None, help="slots of bantin-ml (default BANTIN_ML_CONCURRENCY)")
    args = parser.parse_args(argv)
    settings = get_settings()
    configure_prefect_env(settings)
    ensure_work_pool()
    limit = args.ml_limit if args.ml_limit is not None else settings.ml_concurrency
    what = ensure_ml_limit(limit)
    for name in ONE_SLOT_LIMITS:  # bantin-due, bantin-program, bantin-reports
        ensure_global_limit(name, 1)
    sys.stdout.write(f"work pool {POOL} (queues: {', '.join(q for q, _, _ in QUEUES)}) ready; "
                     f"{ML_LIMIT} limit {what}: {limit}\n")


if __name__ == "__main__":
    main()
