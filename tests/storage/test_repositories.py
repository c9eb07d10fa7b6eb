"""Repositories and migrations on a real database: SQLite and PostgreSQL."""

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from domain.approvals import Decision, Role
from domain.deliveries import DeliveryStatus, DestinationKind
from domain.drafts import DraftContent
from domain.errors import InvalidInput, InvalidTransition, NotFound
from domain.packages import AssetKind, PackageStatus, VariantStatus
from domain.priority import Priority
from storage.db import make_engine, session_scope
from storage.migrate import upgrade
from storage.models import DraftRevisionRecord, OutboxRecord
from storage.objects import StoredObject
from storage.repositories import areas, audit, destinations, drafts, outbox, packages, users

pytestmark = pytest.mark.integration
# The newest migration on disk: what an up-to-date database is at.
HEAD = sorted(p.name[:4] for p in (Path(__file__).parents[2] / "storage/migrations/versions").glob("0*.py"))[-1]


@pytest.fixture
def engine(database_url: str):  # type: ignore[no-untyped-def]
    upgrade(database_url)
    eng = make_engine(database_url)
    with session_scope(eng) as s:
        areas.upsert_areas(s, areas.read_area_csv(seed=areas.LEGACY_SEED))
    yield eng
    eng.dispose()


def _content(**kw: object) -> DraftContent:
    base: dict[str, object] = dict(title="Thông báo", body="Nội dung thông báo đủ dài để kiểm tra.",
                                   area_codes=("29377",), languages=("vi", "km"), priority=Priority.UU_TIEN,
                                   expires_at=datetime(2026, 12, 7, 10, tzinfo=UTC))
    base.update(kw)
    return DraftContent(**base)  # type: ignore[arg-type]


def test_migration_is_idempotent_and_creates_tables(database_url: str) -> None:
    upgrade(database_url)
    upgrade(database_url)
    eng = make_engine(database_url)
    tables = set(inspect(eng).get_table_names())
    eng.dispose()
    assert {"areas", "drafts", "draft_revisions", "packages", "assets", "approvals", "outbox",
            "audit_log", "alembic_version"} <= tables


def test_a_database_behind_the_code_is_reported_until_upgraded(database_url: str) -> None:
    from storage.migrate import schema_behind

    eng = make_engine(database_url)
    with eng.connect() as conn:
        assert schema_behind(conn) == (None, HEAD)  # empty: never migrated
    upgrade(database_url, "0006")
    with eng.connect() as conn:
        assert schema_behind(conn) == ("0006", HEAD)
    upgrade(database_url)
    with eng.connect() as conn:
        assert schema_behind(conn) is None
        conn.execute(text("UPDATE alembic_version SET version_num = 'f00d'"))  # migrated by a newer bantin
        assert schema_behind(conn) is None
        conn.rollback()
    eng.dispose()


def test_seed_covers_pilot_provinces_and_reload_changes_nothing(engine) -> None:  # type: ignore[no-untyped-def]
    with session_scope(engine) as s:
        loaded = areas.all_areas(s)
        assert areas.upsert_areas(s, areas.read_area_csv(seed=areas.LEGACY_SEED)) == 0
    provinces = {a.name for a in loaded.values() if a.parent_code is None}
    assert provinces == {"Tỉnh Tuyên Quang", "Tỉnh Gia Lai", "Tỉnh Trà Vinh", "Thành phố Đà Nẵng", "Tỉnh Thái Nguyên"}
    assert loaded["29377"].name == "Xã Đa Lộc" and loaded["29377"].parent_code == "847"
    assert "km" in loaded["84"].languages
    assert sum(1 for a in loaded.values() if a.level == "commune") > 600


def test_revisions_are_appended_and_timestamps_are_utc(engine) -> None:  # type: ignore[no-untyped-def]
    with session_scope(engine) as s:
        r1 = drafts.create_draft(s, content=_content(), author="minh")
        r2 = drafts.add_revision(s, draft_id=r1.draft_id, content=_content(title="Thông báo (sửa)"), author="minh")
    with session_scope(engine) as s:
        latest = drafts.latest_revision(s, r1.draft_id)
        first = s.query(DraftRevisionRecord).filter_by(draft_id=r1.draft_id, number=1).one()
        assert (r1.number, r2.number, latest.number) == (1, 2, 2)
        assert first.title == "Thông báo"  # revision 1 untouched
        assert latest.content.expires_at == datetime(2026, 12, 7, 10, tzinfo=UTC)
        assert latest.created_at.tzinfo is not None
        assert latest.content.languages == ("vi", "km")


def test_missing_records_raise_not_found(engine) -> None:  # type: ignore[no-untyped-def]
    with session_scope(engine) as s:
        with pytest.raises(NotFound):
            drafts.latest_revision(s, 999)
        with pytest.raises(NotFound):
            packages.get_package(s, 999)
        with pytest.raises(NotFound):
            areas.get_area(s, "00000")


def test_package_status_is_enforced_and_audited(engine) -> None:  # type: ignore[no-untyped-def]
    with session_scope(engine) as s:
        rev = drafts.create_draft(s, content=_content(), author="minh")
        rev_id = drafts.latest_revision_record(s, rev.draft_id).id
        pkg = packages.create_package(s, draft_id=rev.draft_id, revision_id=rev_id, actor="system")
        packages.set_status(s, pkg, PackageStatus.FAILED, actor="system", error="boom")
        assert pkg.error == "boom"
        with pytest.raises(InvalidTransition):
            packages.set_status(s, pkg, PackageStatus.APPROVED, actor="system")
        packages.set_status(s, pkg, PackageStatus.PRODUCING, actor="system")
        pid = pkg.id
    with session_scope(engine) as s:
        actions = [e.action for e in audit.entries(s, entity="package", entity_id=pid)]
        assert actions == ["package.created", "package.failed", "package.producing"]
        assert packages.get_package(s, pid).status == "producing"


def test_assets_replace_in_place_and_variants_hide_blocked(engine) -> None:  # type: ignore[no-untyped-def]
    obj1 = StoredObject("objects/aa/" + "a" * 64 + ".txt", "a" * 64, 3, "text/plain")
    obj2 = StoredObject("objects/bb/" + "b" * 64 + ".txt", "b" * 64, 4, "text/plain")
    with session_scope(engine) as s:
        rev = drafts.create_draft(s, content=_content(), author="minh")
        pkg = packages.create_package(s, draft_id=rev.draft_id,
                                      revision_id=drafts.latest_revision_record(s, rev.draft_id).id, actor="system")
        for obj in (obj1, obj2):  # a rerun records the same slot again
            packages.record_asset(s, package_id=pkg.id, language="vi", kind=AssetKind.SCRIPT, stored=obj, meta={})
        packages.record_asset(s, package_id=pkg.id, language="vi", kind=AssetKind.RAW_SPEECH, stored=obj1, meta={})
        packages.set_variant(s, package_id=pkg.id, language="vi", status=VariantStatus.READY)
        packages.set_variant(s, package_id=pkg.id, language="km", status=VariantStatus.BLOCKED, blocked_reason="MT")
        variants = {v.language: v for v in packages.variants_of(s, pkg.id)}
    assert [a.key for a in variants["vi"].assets] == [obj2.key]  # replaced; raw speech not in the manifest
    assert variants["km"].assets == () and variants["km"].blocked_reason == "MT"


def test_one_delivery_per_package_and_destination(engine) -> None:  # type: ignore[no-untyped-def]
    with session_scope(engine) as s:
        rev = drafts.create_draft(s, content=_content(), author="minh")
        pkg = packages.create_package(s, draft_id=rev.draft_id,
                                      revision_id=drafts.latest_revision_record(s, rev.draft_id).id, actor="system")
        dest = destinations.add_destination(s, name="htttn-tv", kind=DestinationKind.HTTTN, url="http://127.0.0.1:9/x")
        d1 = outbox.ensure(s, package_id=pkg.id, manifest_hash="f" * 64, destination_id=dest.id)
        d2 = outbox.ensure(s, package_id=pkg.id, manifest_hash="f" * 64, destination_id=dest.id)
        assert d1.id == d2.id
        outbox.set_status(s, d1, DeliveryStatus.SENDING)
        outbox.set_status(s, d1, DeliveryStatus.DELIVERED, receipt_id="r-1")
        with pytest.raises(InvalidTransition):
            outbox.set_status(s, d1, DeliveryStatus.SENDING)
        assert d1.attempts == 1
        ids = (pkg.id, dest.id)
    with pytest.raises(IntegrityError), session_scope(engine) as s:  # the database enforces it too
        s.add(OutboxRecord(kind="delivery", action="publish", package_id=ids[0], destination_id=ids[1],
                           status="pending", idempotency_key="k"))
        s.flush()


def test_destination_url_validated(engine) -> None:  # type: ignore[no-untyped-def]
    with session_scope(engine) as s, pytest.raises(InvalidInput, match="http"):
        destinations.add_destination(s, name="x", kind=DestinationKind.HTTP, url="ftp://example")


def test_users_seed_idempotently_and_conflicts_are_refused(engine) -> None:  # type: ignore[no-untyped-def]
    with session_scope(engine) as s:
        a = users.add_user(s, username="lan", full_name="Lan", roles=[Role.APPROVER])
        b = users.add_user(s, username="lan", full_name="Lan", roles=[Role.APPROVER])
        assert a.id == b.id
        with pytest.raises(InvalidInput, match="already exists"):
            users.add_user(s, username="lan", full_name="Lan", roles=[Role.EDITOR])
        assert users.roles_of(a) == frozenset({Role.APPROVER})


def test_session_scope_rolls_back_on_error(engine) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(RuntimeError), session_scope(engine) as s:
        drafts.create_draft(s, content=_content(), author="minh")
        raise RuntimeError("step failed")
    with session_scope(engine) as s:
        assert drafts.list_drafts(s) == []


def test_approvals_recorded_per_manifest(engine) -> None:  # type: ignore[no-untyped-def]
    with session_scope(engine) as s:
        rev = drafts.create_draft(s, content=_content(), author="minh")
        pkg = packages.create_package(s, draft_id=rev.draft_id,
                                      revision_id=drafts.latest_revision_record(s, rev.draft_id).id, actor="system")
        packages.add_approval(s, package_id=pkg.id, manifest_hash="a" * 64, approver="lan", decision=Decision.APPROVED)
        packages.add_approval(s, package_id=pkg.id, manifest_hash="b" * 64, approver="lan", decision=Decision.REJECTED,
                              reason="sai số điện thoại")
        assert packages.approved_hashes(s, pkg.id) == {"a" * 64}


def test_concurrent_status_change_is_not_overwritten(engine) -> None:  # type: ignore[no-untyped-def]
    """An approver's transaction that read 'in_review' must not overwrite a 'superseded' written meanwhile."""
    with session_scope(engine) as s:
        rev = drafts.create_draft(s, content=_content(), author="minh")
        pkg = packages.create_package(s, draft_id=rev.draft_id,
                                      revision_id=drafts.latest_revision_record(s, rev.draft_id).id, actor="system")
        packages.set_status(s, pkg, PackageStatus.IN_REVIEW, actor="system")
        pid = pkg.id
    with session_scope(engine) as approver:
        stale = packages.get_package(approver, pid)
        assert stale.status == "in_review"
        with session_scope(engine) as producer:
            packages.set_status(producer, packages.get_package(producer, pid), PackageStatus.SUPERSEDED, actor="system")
        with pytest.raises(InvalidTransition, match="now superseded"):
            packages.set_status(approver, stale, PackageStatus.APPROVED, actor="lan")
    with session_scope(engine) as s:
        assert packages.get_package(s, pid).status == "superseded"


def test_dead_deliveries_can_be_resent(engine) -> None:  # type: ignore[no-untyped-def]
    with session_scope(engine) as s:
        rev = drafts.create_draft(s, content=_content(), author="minh")
        pkg = packages.create_package(s, draft_id=rev.draft_id,
                                      revision_id=drafts.latest_revision_record(s, rev.draft_id).id, actor="system")
        dest = destinations.add_destination(s, name="htttn", kind=DestinationKind.HTTTN, url="http://127.0.0.1:9/x")
        d = outbox.ensure(s, package_id=pkg.id, manifest_hash="f" * 64, destination_id=dest.id)
        outbox.set_status(s, d, DeliveryStatus.SENDING)
        outbox.set_status(s, d, DeliveryStatus.DEAD, error="HTTP 503")
        assert outbox.reopen_dead(s, pkg.id, actor="operator") == 1
        assert (d.status, d.attempts) == ("pending", 0)
        assert outbox.reopen_dead(s, pkg.id, actor="operator") == 0


def test_migrations_match_the_models(database_url: str) -> None:
    """A model change without its migration shows up here, not on an operator's upgrade."""
    import warnings

    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from storage.models import Base

    def include(obj, name, type_, reflected, compare_to):  # type: ignore[no-untyped-def]
        # The archive's full-text index (an FTS5 virtual table and its shadow tables on SQLite, tsvector
        # columns with GIN indexes on PostgreSQL) is backend-specific derived data outside the models.
        table = obj if type_ == "table" else getattr(obj, "table", None)
        return not (table is not None and str(table.name).startswith("archive_fts"))

    upgrade(database_url)
    eng = make_engine(database_url)
    with warnings.catch_warnings(), eng.connect() as conn:
        warnings.simplefilter("ignore")  # SQLite cannot reflect expression indexes; PostgreSQL compares them
        diff = compare_metadata(MigrationContext.configure(conn, opts={"include_object": include}), Base.metadata)
    eng.dispose()
    assert diff == []
