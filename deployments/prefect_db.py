"""The local Prefect server's own database: SQLite under ``$BANTIN_HOME/prefect`` (Prefect's default), or
PostgreSQL when ``BANTIN_PREFECT_DATABASE_URL`` names one (``bantin serve``, ``bantin prefect up``).

On SQLite every write of the server waits for the one before it: while it takes in a burst of runs (50
produce runs queued by editors), creating an emergency's run took up to 6.5 s there. PostgreSQL takes
concurrent writes. Prefect talks to it through asyncpg (a dependency of Prefect itself); the setting takes
any ``postgresql://`` URL and names that driver. The database is created when it does not exist yet (the
role needs CREATEDB; otherwise create it first, e.g. ``createdb prefect``); Prefect creates its tables.
"""

from __future__ import annotations

from sqlalchemy.engine import URL, make_url

from domain.errors import InvalidInput

PREFECT_DB_ENV = "PREFECT_SERVER_DATABASE_CONNECTION_URL"  # Prefect 3's name (PREFECT_API_DATABASE_... is its alias)


def asyncpg_url(url: str) -> str:
    """``url`` with Prefect's PostgreSQL driver (``postgresql+asyncpg``), password kept.

    Raises:
        InvalidInput: not a PostgreSQL URL.
    """
    try:
        parsed = make_url(url)
    except Exception:  # noqa: BLE001 (SQLAlchemy's ArgumentError and ValueError: not a URL at all)
        raise InvalidInput("BANTIN_PREFECT_DATABASE_URL is not a database URL") from None
    if parsed.get_backend_name() != "postgresql" or not parsed.database:
        raise InvalidInput("BANTIN_PREFECT_DATABASE_URL must be a PostgreSQL URL with a database name, e.g. "
                           "postgresql://bantin:PASSWORD@127.0.0.1:5432/prefect")
    return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)


def server_env(url: str) -> dict[str, str]:
    """The environment a ``prefect server start`` needs to keep its database at ``url`` ({} for "" : SQLite)."""
    return {PREFECT_DB_ENV: asyncpg_url(url)} if url else {}


def _psycopg(parsed: URL, database: str) -> str:
    return parsed.set(drivername="postgresql+psycopg", database=database).render_as_string(hide_password=False)


def ensure_database(url: str) -> bool:
    """Create the PostgreSQL database ``url`` names unless it exists (through the server's ``postgres``
    database). Returns whether it was created.

    Raises:
        InvalidInput: the server does not answer, or the database is missing and cannot be created.
    """
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import OperationalError, ProgrammingError

    parsed = make_url(asyncpg_url(url))
    name = str(parsed.database)
    shown = parsed.render_as_string(hide_password=True)

    def first_line(exc: Exception) -> str:
        return str(getattr(exc, "orig", exc)).strip().splitlines()[0]

    target = create_engine(_psycopg(parsed, name), connect_args={"connect_timeout": 5})
    try:
        with target.connect():
            return False  # it exists (and the role may connect)
    except OperationalError as exc:
        if "does not exist" not in str(exc.orig):
            raise InvalidInput(f"the Prefect database {shown} does not answer: {first_line(exc)}") from None
    finally:
        target.dispose()
    admin = create_engine(_psycopg(parsed, "postgres"), isolation_level="AUTOCOMMIT",
                          connect_args={"connect_timeout": 5})
    try:
        with admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {admin.dialect.identifier_preparer.quote(name)}"))
        return True
    except (OperationalError, ProgrammingError) as exc:  # no CREATEDB right, no postgres database
        raise InvalidInput(f"the Prefect database {shown} does not exist and could not be created "
                           f"({first_line(exc)}); create it first") from None
    finally:
        admin.dispose()
