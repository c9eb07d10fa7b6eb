"""Completing a publication that another runner is sending at the same time (two publishes of one package):
the second runner waits for the first one's sends, and a package published meanwhile is no conflict."""

from pathlib import Path

import pytest

from domain.deliveries import DeliveryStatus, DestinationKind
from domain.packages import PackageStatus
from services.runtime import session
from storage.repositories import audit, destinations, outbox, packages
from tests.devices.factory import published_package


def _sending(package_id: int, manifest: str) -> int:
    """One delivery another runner has claimed and is sending."""
    with session() as s:
        dest = destinations.add_destination(s, name="so-tttt", kind=DestinationKind.HTTTN,
                                            url="http://127.0.0.1:9/in")
        d = outbox.ensure(s, package_id=package_id, manifest_hash=manifest, destination_id=dest.id)
        outbox.set_status(s, d, DeliveryStatus.SENDING)
        return d.id


def _published_entries(package_id: int) -> int:
    with session() as s:
        return sum(e.action == "package.published" for e in audit.entries(s, entity="package", entity_id=package_id))


def test_a_second_runner_waits_for_the_first_ones_send_then_reports_published(home: Path) -> None:
    from tasks.publishing import complete

    package_id, manifest = published_package(status=PackageStatus.APPROVED, languages="vi")
    delivery = _sending(package_id, manifest)
    slept: list[float] = []

    def other_runner_finishes(seconds: float) -> None:
        slept.append(seconds)
        with session() as s:
            outbox.set_status(s, outbox.get(s, delivery), DeliveryStatus.DELIVERED)

    assert complete(package_id, sleep=other_runner_finishes, clock=lambda: 0.0) == "published"
    assert slept == [0.5]
    assert _published_entries(package_id) == 1


def test_a_second_runner_gives_up_waiting_and_leaves_it_to_the_first(home: Path) -> None:
    from tasks.publishing import complete

    package_id, manifest = published_package(status=PackageStatus.APPROVED, languages="vi")
    _sending(package_id, manifest)
    ticks = iter([0.0, 0.4, 1.2])  # the deadline (0 + 1 s), a look before it, one after it
    slept: list[float] = []
    assert complete(package_id, sleep=slept.append, clock=lambda: next(ticks), wait_s=1.0) == "approved"
    assert slept == [0.5]
    assert _published_entries(package_id) == 0


def test_a_package_the_other_runner_published_meanwhile_is_published(home: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import tasks.publishing as publishing

    package_id, manifest = published_package(status=PackageStatus.APPROVED, languages="vi")
    delivery = _sending(package_id, manifest)
    with session() as s:
        outbox.set_status(s, outbox.get(s, delivery), DeliveryStatus.DELIVERED)
    real = publishing._mark_published

    def other_runner_first(s, pkg, delivered):  # type: ignore[no-untyped-def]
        with session() as other:  # the other runner commits between our read and our write
            real(other, packages.get_package(other, package_id), delivered)
        real(s, pkg, delivered)  # our stale read: the compare-and-set refuses it

    monkeypatch.setattr(publishing, "_mark_published", other_runner_first)
    assert publishing.complete(package_id) == "published"
    assert _published_entries(package_id) == 1
