"""``bantin users``: manage users."""

from typing import Annotated

import typer

from cli.common import echo, ensure_db
from domain.approvals import Role
from domain.errors import InvalidInput
from services.runtime import session
from storage.repositories import areas, users

users_app = typer.Typer(help="Manage users.", no_args_is_help=True)


@users_app.command("add")
def users_add(
    username: str,
    name: Annotated[str, typer.Option(help="Full name.")],
    role: Annotated[str, typer.Option(help="Comma-separated: editor, translator, approver, admin.")],
    area: Annotated[str | None, typer.Option(help="Area code the user works in.")] = None,
) -> None:
    """Add a user."""
    ensure_db()
    try:
        roles = [Role(r.strip()) for r in role.split(",") if r.strip()]
    except ValueError:
        raise InvalidInput(f"unknown role in '{role}' (editor, translator, approver, admin)") from None
    with session() as s:
        if area:
            areas.get_area(s, area)
        users.add_user(s, username=username, full_name=name, roles=roles, area_code=area)
    echo(f"user {username} added")


@users_app.command("list")
def users_list() -> None:
    """List users."""
    ensure_db()
    with session() as s:
        for u in users.list_users(s):
            demo = "  (demo account)" if u.is_demo else ""
            echo(f"{u.username:<20} {','.join(u.roles):<20} {u.full_name}{demo}")
