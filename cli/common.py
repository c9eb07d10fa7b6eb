"""Helpers shared by the command modules."""

from typing import Annotated

import typer
from sqlalchemy.exc import OperationalError

from domain.errors import InvalidInput
from services.runtime import session
from storage.migrate import schema_behind
from storage.repositories import areas

# The local operator's identity: whoever runs ``bantin`` on the installation's files says which account they act
# as; the services check it like a signed-in user of the web app (role and area), so the CLI cannot do what that
# person could not do on the web. (It is a claim, not a sign-in: shell access to BANTIN_HOME is the trust.)
AsUser = Annotated[str, typer.Option("--as", envvar="BANTIN_USER",
                                     help="The local operator's identity (a username): the change is checked and "
                                          "audited as that user's, like a web sign-in (role and area).")]


def need_user(as_user: str) -> str:
    """The ``--as`` username, which every command that changes something needs (the services check it)."""
    if not as_user:
        raise InvalidInput("who is acting? pass --as USERNAME or set BANTIN_USER")
    return as_user


def echo(text: str = "") -> None:
    typer.echo(text)


def ensure_db() -> None:
    """Every command but init needs a migrated database; say how to get one."""
    with session() as s:
        try:
            behind = schema_behind(s.connection())
            if behind is not None and behind[0] is not None:
                raise InvalidInput(f"the database schema is at revision {behind[0]} and this bantin needs {behind[1]}: "
                                   "back it up, then run 'bantin init' to upgrade it")
            if areas.count_areas(s) == 0:
                raise InvalidInput("no areas loaded; run 'bantin init' first")
        except OperationalError:
            raise InvalidInput("the database is not initialised; run 'bantin init' first") from None
