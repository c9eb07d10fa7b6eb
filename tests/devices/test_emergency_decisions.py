"""What an emergency broadcast sends, decided in ``services.emergency`` without Prefect or a broker."""

from pathlib import Path

from domain.packages import PackageStatus
from services import emergency
from services.runtime import session
from storage.repositories import audit, packages
from tests.devices.factory import published_package


def runs(package_id: int) -> list[str]:
    with session() as s:
        return [e.detail["flow_run_id"] for e in audit.entries(s, entity="package", entity_id=package_id)
                if e.action == "flow.emergency"]


def test_a_published_emergency_plays_once_then_stops(home: Path) -> None:
    package_id, _ = published_package(priority="khan_cap", languages="vi")
    with session() as s:
        assert emergency.is_emergency(s, package_id)
        assert emergency.push_due(s, package_id)
        assert emergency.broadcast_action(s, package_id, flow_run_id="run-1") == "play"
        audit.record(s, actor="system", action="emergency.play", entity="package", entity_id=package_id)
        assert not emergency.push_due(s, package_id)  # confirmed: a rerun does not push it again
        packages.set_status(s, packages.get_package(s, package_id), PackageStatus.WITHDRAWN, actor="demo-approver")
        assert emergency.stop_due(s, package_id)  # it played: the withdrawal must reach the devices
        assert emergency.broadcast_action(s, package_id, flow_run_id="run-2") == "stop"
        audit.record(s, actor="system", action="emergency.stop", entity="package", entity_id=package_id)
        assert not emergency.stop_due(s, package_id)
    assert runs(package_id) == ["run-1", "run-2"]


def test_nothing_to_broadcast(home: Path) -> None:
    ordinary, _ = published_package(priority="thuong", languages="vi")
    waiting, _ = published_package(priority="khan_cap", languages="vi", status=PackageStatus.IN_REVIEW)
    never_played, _ = published_package(priority="khan_cap", languages="vi")
    with session() as s:
        packages.set_status(s, packages.get_package(s, never_played), PackageStatus.KILLED, actor="demo-approver")
        assert not emergency.stop_due(s, never_played)  # no device was told to play it
        assert not emergency.is_emergency(s, ordinary) and not emergency.push_due(s, ordinary)
        assert emergency.broadcast_action(s, waiting, flow_run_id="run-3") is None
    assert runs(waiting) == ["run-3"]  # the run is audited whatever it decides
