"""kill -9 against a real Prefect server and real bantin workers: a produce whose flow-run process (the warm
worker running it) is killed mid-way and a publish whose whole worker (with its flow-run processes) is killed
mid-send are both recovered by the scheduled sweeper, without a person, and the destination gets the package
exactly once.

Timeouts are shortened through settings (a due run, which sweeps, every 15 s; a claim judged stale after 20 s,
a production after 60 s) so the test waits seconds, not the production defaults' minutes.
"""

import os
import signal
from pathlib import Path

import pytest

from domain.deliveries import DeliveryStatus, DestinationKind, OutboxKind
from domain.drafts import DraftContent
from domain.languages import parse_languages
from domain.packages import PackageStatus
from domain.priority import Priority
from services.runtime import session
from storage.repositories import destinations, drafts, outbox, packages
from tests.devices.factory import published_package
from tests.flows.receivers import fleet
from tests.orchestration.stack import (
    deployment_ids,
    descendants,
    flow_run_process,
    pause,
    prefect_server,
    register,
    runs,
    wait_for,
    worker,
)

pytestmark = [pytest.mark.flow, pytest.mark.integration, pytest.mark.slow]

SETTINGS = {"BANTIN_SWEEP_INTERVAL_S": "15", "BANTIN_DELIVERY_CLAIM_TIMEOUT_S": "20",
            "BANTIN_PRODUCING_TIMEOUT_S": "60", "BANTIN_HTTP_TIMEOUT": "90", "BANTIN_DELIVERY_MAX_ATTEMPTS": "3",
            "BANTIN_DELIVERY_BACKOFF_SECONDS": "0.1", "BANTIN_PUBLIC_BASE_URL": "http://bantin.test"}
BODY = ("Ủy ban nhân dân xã thông báo lịch tiêm vắc xin sởi cho trẻ em từ 9 đến 24 tháng tuổi. "
        "Buổi tiêm diễn ra vào sáng thứ Bảy tại trạm y tế xã, từ 7 giờ đến 11 giờ. "
        "Phụ huynh mang theo sổ tiêm chủng và thẻ bảo hiểm y tế của trẻ. "
        "Trẻ đang sốt hoặc mắc bệnh cấp tính sẽ được hẹn tiêm vào buổi khác.")


def _package_of(draft_id: int) -> tuple[int, str] | None:
    with session() as s:
        found = packages.packages_of_draft(s, draft_id)
        return (found[-1].id, found[-1].status) if found else None


def _kill_tree(root: int) -> None:
    """kill -9 a worker and everything below it at once (a machine losing power)."""
    procs = descendants(root) | {root}
    for pid in procs:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def test_kill_9_mid_produce_and_mid_publish_recover_without_a_person(
        tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tasks.runs import start_deployment

    with prefect_server(tmp_path) as api:
        register(api, tmp_path, **SETTINGS)
        ids = deployment_ids(api)
        for name in ("program", "reports"):  # schedules this test does not need (they only load the machine)
            pause(api, ids[name])
        monkeypatch.setenv("PREFECT_API_URL", api)

        # --- kill -9 of the flow-run process mid-produce; its worker lives on and runs the sweeper ---
        with session() as s:
            rev = drafts.create_draft(s, content=DraftContent(
                title="Lịch tiêm chủng", body=BODY, area_codes=("29377",), languages=parse_languages("vi"),
                priority=Priority.THUONG), author="demo-editor")
        draft_id = rev.draft_id
        with worker(api, home, tmp_path / "worker-1.log", limit=3, **SETTINGS) as first:
            produce = start_deployment("produce", {"draft_id": draft_id}, username="demo-editor")

            def producing() -> int | None:
                pkg = _package_of(draft_id)
                if pkg is None or pkg[1] != PackageStatus.PRODUCING:
                    return None
                return flow_run_process(api, first.pid, produce)

            victim = wait_for("the produce run to start producing", producing, 300)
            os.kill(victim, signal.SIGKILL)
            assert _package_of(draft_id)[1] == PackageStatus.PRODUCING  # type: ignore[index]  # killed mid-way

            def produced() -> bool:
                pkg = _package_of(draft_id)
                if pkg and pkg[1] not in (PackageStatus.PRODUCING, PackageStatus.FAILED, PackageStatus.IN_REVIEW):
                    raise AssertionError(f"package {pkg}")
                return bool(pkg and pkg[1] == PackageStatus.IN_REVIEW)

            wait_for("the sweeper to produce the draft again", produced, 420)
        with session() as s:
            (pkg,) = packages.packages_of_draft(s, draft_id)  # the failed package was resumed, not duplicated
            assert pkg.status == PackageStatus.IN_REVIEW
        by_id = {r["id"]: r for r in runs(api, flow_runs={"tags": {"all_": ["queue:production"]}})}
        assert by_id[produce]["state_type"] == "CRASHED"
        again = [r for r in by_id.values() if "user:sweeper" in r["tags"]]
        assert [r["state_type"] for r in again] == ["COMPLETED"]

        # --- kill -9 of the whole worker mid-publish (the delivery is being sent); a new worker recovers ---
        package_id, _ = published_package(status=PackageStatus.APPROVED, languages="vi")
        with fleet([[("slow", 120.0), ("status", 201)]]) as receiver:
            with session() as s:
                destinations.add_destination(s, name="so-tttt", kind=DestinationKind.HTTTN, url=receiver.url(0))
            with worker(api, home, tmp_path / "worker-2.log", limit=3, **SETTINGS) as second:
                start_deployment("publish", {"package_id": package_id}, username="demo-approver")

                def sending() -> bool:
                    with session() as s:
                        states = [d.status for d, _ in outbox.of_package(s, package_id, OutboxKind.DELIVERY)]
                    return states == [DeliveryStatus.SENDING] and len(receiver.keys[0]) == 1

                wait_for("the delivery to be on the wire", sending, 300)
                _kill_tree(second.pid)
                second.wait(timeout=10)
            with session() as s:
                rows = outbox.of_package(s, package_id, OutboxKind.DELIVERY)
                assert [d.status for d, _ in rows] == [DeliveryStatus.SENDING]

            with worker(api, home, tmp_path / "worker-3.log", limit=3, **SETTINGS):
                def published() -> bool:
                    with session() as s:
                        states = [d.status for d, _ in outbox.of_package(s, package_id, OutboxKind.DELIVERY)]
                    return states == [DeliveryStatus.DELIVERED]

                wait_for("the sweeper to publish the package again", published, 420)
            keys = list(receiver.keys[0])
            kept = dict(receiver.kept[0])
        with session() as s:
            ((delivery, _),) = outbox.of_package(s, package_id, OutboxKind.DELIVERY)
            assert (delivery.status, delivery.attempts) == (DeliveryStatus.DELIVERED, 2)
            assert packages.get_package(s, package_id).status == PackageStatus.PUBLISHED
        # The killed send and the sweeper's resend carry one idempotency key: the receiver kept it once.
        assert len(keys) == 2 and keys[0] == keys[1]
        assert list(kept) == [keys[0]]
