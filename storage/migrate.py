"""Apply Alembic migrations programmatically (``bantin init`` and the tests call this)."""

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def schema_behind(connection: Connection) -> tuple[str | None, str] | None:
    """``(revision in the database, newest revision of this code)`` when the database needs :func:`upgrade`,
    else None: up to date, or migrated by a newer bantin (running older code on it is the operator's choice)."""
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    head = script.get_current_head()
    current = MigrationContext.configure(connection).get_current_revision()
    if head is None or current == head:
        return None
    if current is not None and current not in {rev.revision for rev in script.walk_revisions()}:
        return None
    return current, head


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at ``url`` to ``revision``; safe to run repeatedly."""
    command.upgrade(alembic_config(url), revision)
