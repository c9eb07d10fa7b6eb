"""The revise flow's first decision (``services.variant_edits.start_revision``), without Prefect, on the real
SQLite test home: go on only while the edited package is being produced, and audit that run once."""

import pytest

from domain.drafts import DraftContent
from domain.packages import PackageStatus
from domain.priority import Priority
from services import variant_edits
from services.runtime import session
from storage.repositories import audit, drafts, packages
from tests.devices.factory import published_package

pytestmark = pytest.mark.integration


def _revise_entries(package_id: int) -> list[tuple[str, dict[str, object]]]:
    with session() as s:
        return [(e.actor, dict(e.detail)) for e in audit.entries(s, entity="package", entity_id=package_id)
                if e.action == "flow.revise"]


def test_a_package_being_produced_is_revised_and_the_run_audited(home) -> None:  # type: ignore[no-untyped-def]
    content = DraftContent(title="Lịch tiêm chủng", body="Lịch tiêm chủng tuần này.", area_codes=("29377",),
                           languages=("vi", "km"), priority=Priority.THUONG)
    with session() as s:
        rev = drafts.create_draft(s, content=content, author="demo-editor")
        pkg = packages.create_package(s, draft_id=rev.draft_id,
                                      revision_id=drafts.latest_revision_record(s, rev.draft_id).id, actor="test")
        assert variant_edits.start_revision(s, pkg.id, "km", flow_run_id="run-7") is True
    assert _revise_entries(pkg.id) == [("system", {"language": "km", "flow_run_id": "run-7"})]


def test_a_package_in_review_is_left_alone_without_an_audit_entry(home) -> None:  # type: ignore[no-untyped-def]
    package_id, _ = published_package(languages="vi", status=PackageStatus.IN_REVIEW)
    with session() as s:
        assert variant_edits.start_revision(s, package_id, "vi", flow_run_id="run-8") is False
        assert packages.get_package(s, package_id).status == "in_review"
    assert _revise_entries(package_id) == []
