"""Two publishes of one package index it in the archive at the same time: the loser's insert hits the
unique (package, language) entry the winner just wrote; its task is retried and updates that entry."""

from pathlib import Path

import pytest

from domain.packages import PackageStatus
from services.runtime import object_store, session
from tests.devices.factory import published_package


def test_an_entry_written_between_read_and_insert_is_retried_into_an_update(
        home: Path, prefect_harness: None, monkeypatch: pytest.MonkeyPatch) -> None:
    from prefect import flow

    from services.archive import indexing
    from storage.repositories import archive
    from tasks.archive import index_package

    package_id, _ = published_package(status=PackageStatus.PUBLISHED, languages="vi")
    with session() as s:
        first = indexing.index_package(s, object_store(), package_id)  # the other run's entry
    real_find = archive.find_entry
    calls: list[int] = []

    def stale_find(s, **kw):  # type: ignore[no-untyped-def]
        calls.append(1)
        return None if len(calls) == 1 else real_find(s, **kw)  # read before the other run's commit

    monkeypatch.setattr(archive, "find_entry", stale_find)

    @flow
    def publish_tail() -> list[int]:
        return index_package(package_id)

    assert publish_tail() == first  # the same entry, updated, not a second one or a failure
    assert len(calls) == 2  # the first attempt failed on the unique entry, the retry found it
    with session() as s:
        assert [e.id for e in archive.entries_of_package(s, package_id)] == first
