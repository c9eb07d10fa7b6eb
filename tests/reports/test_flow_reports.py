"""The reports flow under a Prefect test server: rollups folded, device states recorded, and the reports due
(here: Q3 2026, due 6 September, judged on 3 September) generated once per top-level area."""

from datetime import timedelta

import pytest

from services.runtime import session
from storage.repositories import reports as repo
from tests.devices.factory import published_package

pytestmark = pytest.mark.flow


def test_maintain_reports_generates_due_reports_once(province, prefect_harness) -> None:
    from flows.reports import maintain_reports

    pid, manifest = published_package(title="Thông báo", areas=("070",), languages="vi")
    with session() as s:
        t0 = repo.published_times(s, [pid])[pid]
    province.play("a1", manifest, t0 + timedelta(seconds=3))
    province.play("a2", manifest, t0 + timedelta(seconds=4))
    first = maintain_reports(today="2026-09-03", formats=["csv"])
    # a1 and a2 were marked online by their first requests (nothing left for the flow); five provinces in the seed
    assert first == {"folded": 2, "state_changes": 0, "reports": 5}
    with session() as s:
        made = repo.list_reports(s)
    assert sorted((r.period, r.area_code, r.format, r.created_by) for r in made) == [
        ("2026-Q3", code, "csv", "system:reports") for code in ("08", "19", "48", "64", "84")]
    again = maintain_reports(today="2026-09-03", formats=["csv"])
    assert again == {"folded": 0, "state_changes": 0, "reports": 0}


def test_a_scheduled_reports_run_skips_its_turn_while_another_holds_the_reports_slot(
        province, prefect_harness) -> None:  # type: ignore[no-untyped-def]
    from prefect.client.orchestration import get_client

    from deployments.setup import ensure_global_limit
    from flows.reports import maintain_reports
    from tasks.limits import REPORTS_LIMIT, only_one

    assert ensure_global_limit(REPORTS_LIMIT, 1) == "created"
    try:
        with only_one(REPORTS_LIMIT) as held:  # the previous scheduled run still works
            assert held
            skipped = maintain_reports(today="2026-09-03", formats=["csv"], skip_if_busy=True)
            assert skipped == {"folded": 0, "state_changes": 0, "reports": 0}
            with session() as s:
                assert repo.list_reports(s) == []
        done = maintain_reports(today="2026-09-03", formats=["csv"], skip_if_busy=True)
        assert done["reports"] == 5  # five provinces in the seed, each with its Q3 2026 report due
    finally:
        with get_client(sync_client=True) as client:
            client.delete_global_concurrency_limit_by_name(REPORTS_LIMIT)
