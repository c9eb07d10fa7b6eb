"""archive search index

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 09:00:00

``archive_entries`` is an ordinary table (in the models). The full-text index ``archive_fts`` is derived
data outside the models, one shape per database (see ``storage.search``): an FTS5 virtual table on SQLite,
a table of two ``tsvector`` columns with GIN indexes on PostgreSQL. Both index token streams made by
``domain.search``, so neither needs ``unaccent`` or a text-search configuration.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Tokens arrive already lower-cased and folded, separated by spaces; "Pc" keeps the "_" of facet tokens.
# Prefix indexes for 2-4 letters: without them FTS5 merges the postings of every word sharing the prefix
# ("thu*": 50 ms at 200k entries, < 1 ms with them; benchmarks/search.py), for 2.8 times the index size.
# folded_pairs/exact_pairs hold each entry's distinct adjacent word pairs ("ubnd_xa", domain.search.word_pairs):
# a phrase of common words that are rarely adjacent otherwise makes FTS5 check positions in thousands of rows.
SQLITE_FTS = ("CREATE VIRTUAL TABLE archive_fts USING fts5(folded, exact, facets, folded_pairs, exact_pairs, "
              "tokenize = \"unicode61 remove_diacritics 0 categories 'L* N* Co M* Pc'\", prefix = '2 3 4')")
POSTGRES_FTS = (
    "CREATE TABLE archive_fts (doc_key bigint PRIMARY KEY, folded tsvector NOT NULL, exact tsvector NOT NULL)",
    "CREATE INDEX archive_fts_folded_gin ON archive_fts USING gin (folded)",
    "CREATE INDEX archive_fts_exact_gin ON archive_fts USING gin (exact)",
)


def upgrade() -> None:
    op.create_table(
        "archive_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("doc_key", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("package_id", sa.Integer(), nullable=True),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("sections", sa.JSON(), nullable=False),
        sa.Column("segments", sa.JSON(), nullable=False),
        sa.Column("area_codes", sa.JSON(), nullable=False),
        sa.Column("priority", sa.String(length=16), nullable=True),
        sa.Column("channels", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("broadcast_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recording_key", sa.String(length=200), nullable=True),
        sa.Column("transcript_key", sa.String(length=200), nullable=True),
        sa.Column("source_name", sa.Text(), nullable=False),
        sa.Column("source_sha256", sa.String(length=64), nullable=True),
        sa.Column("duration_s", sa.Float(), nullable=True),
        sa.Column("meta", sa.JSON(), nullable=False),
        sa.Column("indexed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["package_id"], ["packages.id"], name=op.f("fk_archive_entries_package_id_packages")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_archive_entries")),
        sa.UniqueConstraint("doc_key", name=op.f("uq_archive_entries_doc_key")),
        sa.UniqueConstraint("package_id", "language", name=op.f("uq_archive_entries_package_id_language")),
        sa.UniqueConstraint("source_sha256", name=op.f("uq_archive_entries_source_sha256")),
    )
    with op.batch_alter_table("archive_entries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_archive_entries_package_id"), ["package_id"], unique=False)
    # A left-over index from a schema dropped by table (test fixtures drop the models' tables only) is
    # derived data: drop it, the entries it indexed are gone.
    op.execute("DROP TABLE IF EXISTS archive_fts")
    if op.get_bind().dialect.name == "postgresql":
        for statement in POSTGRES_FTS:
            op.execute(statement)
    else:
        op.execute(SQLITE_FTS)


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS archive_fts")
    with op.batch_alter_table("archive_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_archive_entries_package_id"))
    op.drop_table("archive_entries")
