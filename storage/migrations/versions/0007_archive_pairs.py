"""archive index: adjacent word pairs on PostgreSQL

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 09:00:00

PostgreSQL's tsvectors now also hold each entry's adjacent word pairs, which phrase searches ask for
(``storage.search.postgresql``); entries indexed before would not be found by a phrase, so every entry's
index row is written again here, inside the migration's transaction. SQLite's FTS5 table has held pairs
since 0004: nothing to do there.
"""

from collections.abc import Sequence

from alembic import op
from sqlalchemy.orm import Session

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 1000


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    from storage.repositories import archive  # the current index format is what is written

    with Session(bind=bind) as session:  # joins the migration's transaction: all rows or none
        ids = archive.all_entry_ids(session)
        for start in range(0, len(ids), BATCH):
            archive.reindex_entries(session, ids[start:start + BATCH])
            session.expunge_all()  # bounded memory on a large archive
        session.flush()


def downgrade() -> None:
    pass  # extra position-less lexemes are ignored by the older queries
