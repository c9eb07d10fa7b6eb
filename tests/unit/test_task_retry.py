"""Which failures a step is retried for (``tasks.retry.is_transient``): a unique-key violation is a concurrent
writer's (the steps are idempotent, so the retry reads the other run's row); a missing reference or a NULL fails
the same way on every attempt, as do a missing or damaged object."""

from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import Column, Engine, ForeignKey, Integer, MetaData, String, Table, insert
from sqlalchemy.exc import IntegrityError

from storage.db import get_engine
from storage.errors import ChecksumMismatch, ObjectNotFound, StorageError
from tasks.retry import TransientError, is_transient, is_unique_violation

META = MetaData()
PARENT = Table("retry_probe_parent", META, Column("id", Integer, primary_key=True))
CHILD = Table("retry_probe_child", META, Column("id", Integer, primary_key=True),
              Column("parent_id", ForeignKey("retry_probe_parent.id"), nullable=False),
              Column("name", String(20), nullable=False, unique=True))


@pytest.fixture
def db(database_url: str) -> Iterator[Engine]:
    engine = get_engine(database_url)  # bantin's engine: SQLite with foreign keys enforced
    META.create_all(engine)
    with engine.begin() as conn:
        conn.execute(insert(PARENT).values(id=1))
        conn.execute(insert(CHILD).values(id=1, parent_id=1, name="taken"))
    yield engine
    META.drop_all(engine)


def _refused(engine: Engine, **row: object) -> IntegrityError:
    with pytest.raises(IntegrityError) as caught, engine.begin() as conn:
        conn.execute(insert(CHILD).values(**row))
    return caught.value


def test_a_unique_key_taken_by_another_writer_is_retried(db: Engine) -> None:
    exc = _refused(db, id=2, parent_id=1, name="taken")
    assert is_unique_violation(exc)
    assert is_transient(exc)


def test_a_taken_primary_key_is_a_unique_violation_too(db: Engine) -> None:
    assert is_transient(_refused(db, id=1, parent_id=1, name="other"))


def test_a_missing_reference_is_permanent(db: Engine) -> None:
    exc = _refused(db, id=2, parent_id=99, name="fresh")
    assert not is_unique_violation(exc)
    assert not is_transient(exc)


def test_a_null_in_a_required_column_is_permanent(db: Engine) -> None:
    assert not is_transient(_refused(db, id=2, parent_id=1, name=None))


@pytest.mark.parametrize("exc,transient", [
    (TransientError("receiver 503"), True),
    (httpx.ConnectError("refused"), True),
    (TimeoutError(), True),
    (StorageError("S3 unreachable"), True),
    (ObjectNotFound("gone"), False),
    (ChecksumMismatch("damaged"), False),
    (ValueError("bad input"), False),
])
def test_other_failures(exc: BaseException, transient: bool) -> None:
    assert is_transient(exc) is transient
