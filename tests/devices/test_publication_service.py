"""What a publish run decides before sending anything (``services.publication``), on the real SQLite test home
and local object store, without Prefect: may the package go out, to which destinations, and its audit entry."""

import pytest

from domain.deliveries import DeliveryStatus, DestinationKind
from domain.errors import ApprovalRefused, InvalidInput
from domain.packages import PackageStatus
from services import publication
from services.runtime import object_store, session
from storage.repositories import audit, destinations, outbox, packages
from tests.devices.factory import published_package

pytestmark = pytest.mark.integration


def _publish_entries(package_id: int) -> list[tuple[str, str, dict[str, object]]]:
    with session() as s:
        return [(e.actor, e.action, dict(e.detail)) for e in audit.entries(s, entity="package", entity_id=package_id)
                if e.action == "flow.publish"]


def test_deliveries_go_to_destinations_taking_the_area_once_and_the_run_is_audited(home) -> None:  # type: ignore[no-untyped-def]
    package_id, _ = published_package(languages="vi", status=PackageStatus.APPROVED)  # area 29377, Trà Vinh
    with session() as s:
        province = destinations.add_destination(s, name="htttn-tra-vinh", kind=DestinationKind.HTTTN,
                                                url="http://127.0.0.1:9/tv", area_code="84")
        destinations.add_destination(s, name="htttn-da-nang", kind=DestinationKind.HTTTN,
                                     url="http://127.0.0.1:9/dn", area_code="48")
        national = destinations.add_destination(s, name="quoc-gia", kind=DestinationKind.HTTTN,
                                                url="http://127.0.0.1:9/qg")
        todo = publication.prepare_deliveries(s, object_store(), package_id, flow_run_id="run-1")
        rows = {d.id: (t.name, d.status) for d, t in outbox.of_package(s, package_id)}
    assert sorted(rows[i] for i in todo) == [("htttn-tra-vinh", "pending"), ("quoc-gia", "pending")]
    assert _publish_entries(package_id) == [("system", "flow.publish", {"flow_run_id": "run-1"})]
    # A rerun creates nothing new and leaves out what was delivered.
    with session() as s:
        delivered = next(d for d, t in outbox.of_package(s, package_id) if t.id == province.id)
        outbox.set_status(s, delivered, DeliveryStatus.SENDING)
        outbox.set_status(s, delivered, DeliveryStatus.DELIVERED, receipt_id="r-1")
        again = publication.prepare_deliveries(s, object_store(), package_id, flow_run_id="run-2")
        kept = {d.id: t.id for d, t in outbox.of_package(s, package_id)}
    assert len(kept) == 2 and [kept[i] for i in again] == [national.id]


def test_a_package_going_nowhere_or_not_approved_is_refused_before_any_audit_entry(home) -> None:  # type: ignore[no-untyped-def]
    nowhere, _ = published_package(languages="vi", status=PackageStatus.APPROVED)
    in_review, _ = published_package(languages="vi", status=PackageStatus.IN_REVIEW)
    with session() as s:
        with pytest.raises(InvalidInput, match="no destination is configured"):
            publication.prepare_deliveries(s, object_store(), nowhere, flow_run_id="run-1")
        destinations.add_destination(s, name="quoc-gia", kind=DestinationKind.HTTTN, url="http://127.0.0.1:9/qg")
        with pytest.raises(ApprovalRefused):
            publication.prepare_deliveries(s, object_store(), in_review, flow_run_id="run-1")
    assert _publish_entries(nowhere) == [] and _publish_entries(in_review) == []
    with session() as s:
        assert outbox.of_package(s, nowhere) == [] and outbox.of_package(s, in_review) == []


def test_a_missing_stored_asset_stops_the_publish(home) -> None:  # type: ignore[no-untyped-def]
    package_id, _ = published_package(languages="vi", slides=0, status=PackageStatus.APPROVED)
    store = object_store()
    with session() as s:
        destinations.add_destination(s, name="quoc-gia", kind=DestinationKind.HTTTN, url="http://127.0.0.1:9/qg")
        audio = next(a for a in packages.assets_of(s, package_id) if a.kind == "audio")
        store.delete(audio.key)
        with pytest.raises(InvalidInput, match="lacks 1 stored asset"):
            publication.prepare_deliveries(s, store, package_id, flow_run_id="run-1")
    assert _publish_entries(package_id) == []
