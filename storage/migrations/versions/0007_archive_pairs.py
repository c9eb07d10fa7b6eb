"""archive index: adjacent word pairs on PostgreSQL

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 09:00:00

PostgreSQL's index gets the columns ``folded_pairs``/``exact_pairs`` (each entry's adjacent word pairs, with
GIN indexes), which phrase searches ask for (``storage.search.postgresql``); entries indexed before would not
be found by a phrase, so every entry's index row is written again here, inside the migration's transaction.
SQLite's FTS5 table has held pairs since 0004: nothing to do there.
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
    op.execute("ALTER TABLE archive_fts ADD COLUMN folded_pairs tsvector NOT NULL DEFAULT '', "
               "ADD COLUMN exact_pairs tsvector NOT NULL DEFAULT ''")
    from storage.repositories import archive  # the current index format is what is written

    with Session(bind=bind) as session:  # joins the migration's transaction: all rows or none
        ids = archive.all_entry_ids(session)
        for start in range(0, len(ids), BATCH):
            archive.reindex_entries(session, ids[start:start + BATCH])
            session.expunge_all()  # bounded memory on a large archive
        session.flush()
    # After the rows: one index build instead of an update per row.
    op.execute("CREATE INDEX archive_fts_folded_pairs_gin ON archive_fts USING gin (folded_pairs)")
    op.execute("CREATE INDEX archive_fts_exact_pairs_gin ON archive_fts USING gin (exact_pairs)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE archive_fts DROP COLUMN folded_pairs, DROP COLUMN exact_pairs")
