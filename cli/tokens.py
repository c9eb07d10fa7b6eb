"""``bantin api-token``: bearer tokens for the JSON API, stored hashed, listed, expiring and revocable.

    bantin api-token create lan --name "tỉnh Trà Vinh" --days 30 --as lan
    bantin api-token list [lan]
    bantin api-token revoke 7 --as lan

``create`` and ``revoke`` act as ``--as``: a user manages their own tokens, an admin those of the people they
administer (the same area rule as for the accounts).

The token is printed once by ``create``; only its hash is kept. A password change, disabling the account
or a role change revokes every token of the user.
"""

from datetime import UTC, datetime
from typing import Annotated

import typer

from cli.common import AsUser, echo, ensure_db, need_user
from services import credentials
from services.runtime import session
from settings import get_settings

tokens_app = typer.Typer(help="API tokens: create, list, revoke.", no_args_is_help=True)


@tokens_app.command("create")
def token_create(
    username: str,
    name: Annotated[str, typer.Option(help="What the token is for (shown by 'list').")] = "",
    days: Annotated[int | None, typer.Option(help="Lifetime in days (default BANTIN_API_TOKEN_DAYS).")] = None,
    as_user: AsUser = "",
) -> None:
    """Print a new bearer token acting as USERNAME (shown once)."""
    ensure_db()
    with session() as s:
        info, token = credentials.create_api_token(s, username, name=name, days=days or get_settings().api_token_days,
                                                   actor=need_user(as_user))
    typer.echo(f"token #{info.id} for {info.username}, expires {info.expires_at:%Y-%m-%d %H:%M} UTC", err=True)
    echo(token)


@tokens_app.command("list")
def token_list(username: Annotated[str | None, typer.Argument(help="Only this user's tokens.")] = None) -> None:
    """List tokens (never the tokens themselves): id, user, name, state, expiry, last use."""
    ensure_db()
    now = datetime.now(UTC)
    with session() as s:
        rows = credentials.list_api_tokens(s, username)
    for t in rows:
        used = f"{t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "never"
        echo(f"#{t.id:<5} {t.username:<20} {t.state(now):<22} expires {t.expires_at:%Y-%m-%d %H:%M}  "
             f"last used {used}  {t.name}")
    if not rows:
        echo("no API tokens")


@tokens_app.command("revoke")
def token_revoke(token_id: int, as_user: AsUser = "") -> None:
    """Revoke a token by the id 'list' shows; it stops working at once."""
    ensure_db()
    with session() as s:
        info = credentials.revoke_api_token(s, token_id, actor=need_user(as_user))
    echo(f"token #{info.id} of {info.username} revoked")
