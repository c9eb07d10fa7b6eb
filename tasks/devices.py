"""Device tasks: keep what devices are told in step with package changes."""

from prefect import task

from services import device_schedule


@task
def refresh_schedules() -> None:
    """Forget built schedules in this process so the next poll sees a publish, withdrawal or kill at once
    (other nodes rebuild within ``BANTIN_DEVICE_CACHE_S``)."""
    device_schedule.invalidate()
