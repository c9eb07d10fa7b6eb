"""``bantin users``: accounts, their area-scoped roles and passwords.

A role is written ``role[:area][:language-or-level]`` and ``--role`` may be repeated::

    bantin users add lan --name "Nguyễn Thị Lan" --role approver:86 --role editor:29374
    bantin users add sokha --name "Thạch Sokha" --role translator:86:km
    bantin users add lan --name "Nguyễn Thị Lan" --role approver --area 86      # same as approver:86

The area of a role, and ``--area``, is a code or a name with or without diacritics (``approver:Vĩnh Long``,
``--area "chau thanh, vinh long"``). ``--area``, ``--language`` and ``--level`` fill the parts a ``--role``
leaves out. An approver's level defaults to its area's level. ``*`` or no area means every area.

``--as`` (or ``BANTIN_USER``) names the local operator acting, checked like a signed-in web user: only an admin
of a role's area may give it, and only an admin of every area a person works in may disable them or set their
password (a person may set their own). While no installation-wide admin exists yet, ``users add`` and
``users grant`` work without ``--as`` so the first one can be created. The password comes from ``--password``,
else ``BANTIN_PASSWORD``, else a prompt on a terminal; ``--no-password`` makes an account that cannot sign in.
"""

import sys
from typing import Annotated

import typer

from cli.common import AsUser, echo, ensure_db, need_user
from domain.errors import InvalidInput
from domain.users import Membership, validate_password
from services import accounts
from services.runtime import session
from storage.repositories import users

users_app = typer.Typer(help="Manage users, their roles per area, and passwords.", no_args_is_help=True)

RoleOpt = Annotated[list[str], typer.Option(
    "--role", help="role[:area][:language-or-level], repeatable; commas also separate roles. "
                   "Roles: editor, translator, approver, admin.")]
AreaOpt = Annotated[str | None, typer.Option(help="Area (code or name) for roles given without one.")]
LanguageOpt = Annotated[str | None, typer.Option(help="Language for translator roles given without one.")]
LevelOpt = Annotated[str | None, typer.Option(help="commune|province (district in a pre-2025 tree) for approver "
                                                   "roles without one.")]


def parse_roles(specs: list[str], *, area: str | None, language: str | None, level: str | None) -> list[Membership]:
    """Every ``--role`` value as memberships (:func:`services.accounts.memberships_from_specs`: areas by code or
    name)."""
    with session() as s:
        return accounts.memberships_from_specs(s, specs, area=area, language=language, level=level)


def _password(password: str | None, no_password: bool) -> str | None:
    """The password to set: the option or BANTIN_PASSWORD, else a prompt on a terminal."""
    if no_password:
        if password:
            raise InvalidInput("--no-password and a password exclude each other")
        return None
    if password is None and sys.stdin.isatty():
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    if password is None:
        raise InvalidInput("give --password, set BANTIN_PASSWORD, or pass --no-password")
    return validate_password(password)


@users_app.command("add")
def users_add(
    username: str,
    name: Annotated[str, typer.Option(help="Full name.")],
    role: RoleOpt,
    area: AreaOpt = None,
    language: LanguageOpt = None,
    level: LevelOpt = None,
    password: Annotated[str | None, typer.Option(envvar="BANTIN_PASSWORD", show_envvar=True,
                                                 help="Password (prefer the environment variable).")] = None,
    no_password: Annotated[bool, typer.Option("--no-password", help="An account that cannot sign in.")] = False,
    as_user: AsUser = "",
) -> None:
    """Add a user with one or more area-scoped roles."""
    ensure_db()
    memberships = parse_roles(role, area=area, language=language, level=level)
    secret = _password(password, no_password)
    with session() as s:
        user = accounts.add_user(s, actor=as_user, username=username, full_name=name, memberships=memberships,
                                 password=secret)
        specs = ", ".join(m.spec for m in users.memberships_of(user))
    echo(f"user {username} added: {specs}")


@users_app.command("list")
def users_list() -> None:
    """List users with their roles (role:area:language-or-level) and status."""
    ensure_db()
    with session() as s:
        for u in users.list_users(s):
            state = "active  " if u.active else "disabled"
            demo = "  (demo account)" if u.is_demo else ""
            specs = ",".join(m.spec for m in users.memberships_of(u))
            echo(f"{u.username:<20} {state} {specs:<40} {u.full_name}{demo}")


@users_app.command("disable")
def users_disable(username: str, as_user: AsUser = "") -> None:
    """Disable an account: it can no longer sign in, approve or submit; its sessions and API tokens are
    revoked for good (its history stays)."""
    ensure_db()
    with session() as s:
        accounts.set_active(s, username, False, actor=need_user(as_user))
    echo(f"user {username} disabled")


@users_app.command("enable")
def users_enable(username: str, as_user: AsUser = "") -> None:
    """Re-enable a disabled account."""
    ensure_db()
    with session() as s:
        accounts.set_active(s, username, True, actor=need_user(as_user))
    echo(f"user {username} enabled")


@users_app.command("grant")
def users_grant(username: str, role: RoleOpt, area: AreaOpt = None, language: LanguageOpt = None,
                level: LevelOpt = None, as_user: AsUser = "") -> None:
    """Give an existing user more roles."""
    ensure_db()
    memberships = parse_roles(role, area=area, language=language, level=level)
    with session() as s:
        accounts.grant(s, username, memberships, actor=as_user)
        user = accounts.find(s, username)
        specs = ", ".join(m.spec for m in users.memberships_of(user))
    echo(f"user {username}: {specs}")


@users_app.command("revoke")
def users_revoke(username: str, role: RoleOpt, area: AreaOpt = None, language: LanguageOpt = None,
                 level: LevelOpt = None, as_user: AsUser = "") -> None:
    """Take roles away from a user."""
    ensure_db()
    memberships = parse_roles(role, area=area, language=language, level=level)
    with session() as s:
        user = accounts.revoke(s, username, memberships, actor=need_user(as_user))
        specs = ", ".join(m.spec for m in users.memberships_of(user)) or "no roles left"
    echo(f"user {username}: {specs}")


@users_app.command("passwd")
def users_passwd(
    username: str,
    password: Annotated[str | None, typer.Option(envvar="BANTIN_PASSWORD", show_envvar=True)] = None,
    as_user: AsUser = "",
) -> None:
    """Set a user's password (from --password, BANTIN_PASSWORD or a prompt)."""
    ensure_db()
    secret = _password(password, no_password=False) or ""  # never empty: _password raises instead
    with session() as s:
        accounts.set_password(s, username, secret, actor=need_user(as_user))
    echo(f"password of {username} set")
