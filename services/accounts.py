"""Account changes: new accounts, roles, enabling and disabling, passwords. The web admin pages and the CLI's
``bantin users`` call these functions with the acting user (the signed-in user, or ``--as``), who must
administer the areas concerned: an admin of one province manages that province's people only. Each change that
alters what a person may do (or proves who they are) ends their sessions and API tokens, so nothing issued
before it keeps working.

Bootstrap: while the installation has no active installation-wide admin, the local operator (``bantin users
add|grant`` without ``--as``, i.e. whoever can open the installation's files) may create accounts; the audit
log names them ``cli``. From the first such admin on, ``--as`` is needed and checked.
"""

from sqlalchemy.orm import Session

from domain.approvals import Role
from domain.errors import InvalidInput
from domain.users import Membership, parse_membership, validate_password
from services import credentials
from services.auth import require_admin, user_admin_scope
from storage.models import UserRecord
from storage.repositories import users

BOOTSTRAP_ACTOR = "cli"


def memberships_from_specs(session: Session, specs: list[str], *, area: str | None = None,
                           language: str | None = None, level: str | None = None) -> list[Membership]:
    """Roles written ``role[:area][:language-or-level]`` (commas separate roles), where the area is a code or a
    name with or without diacritics (``approver:Vĩnh Long``, ``editor:chau thanh, vinh long``); ``area``,
    ``language`` and ``level`` fill the parts a spec leaves out.

    Raises:
        InvalidInput: no role, a bad one, or an area name that matches nothing or several areas.
    """
    from services import areas as area_service

    items: list[str] = []
    for part in (p.strip() for spec in specs for p in spec.split(",")):
        if not part:
            continue
        if items and part.split(":")[0].strip().lower() not in _ROLE_NAMES:
            items[-1] = f"{items[-1]}, {part}"  # a comma inside an area name ("Châu Thành, Vĩnh Long")
        else:
            items.append(part)
    if not items:
        raise InvalidInput("give at least one --role (editor, translator, approver, admin)")

    def code(text: str | None) -> str | None:
        return text if text is None or text.strip() in ("", "*") else area_service.code_from_option(session, text)

    out = []
    for item in items:
        parts = item.split(":")
        if len(parts) > 1:
            parts[1] = code(parts[1]) or parts[1]
        out.append(parse_membership(":".join(parts), area=code(area), language=language, level=level))
    return out


_ROLE_NAMES = frozenset(r.value for r in Role)


def _scope(m: Membership) -> list[str]:
    return [m.area_code] if m.area_code else []


def _installation_has_admin(session: Session) -> bool:
    return any(u.active and any(m.role is Role.ADMIN and m.area_code is None for m in users.memberships_of(u))
               for u in users.list_users(session))


def _actor_for(session: Session, actor: str, memberships: list[Membership]) -> str:
    """Who acts on ``memberships``: ``actor`` checked against every scope, or the bootstrap operator."""
    if not actor and not _installation_has_admin(session):
        return BOOTSTRAP_ACTOR
    for m in memberships:
        require_admin(session, actor, _scope(m))
    return actor


def find(session: Session, username: str) -> UserRecord:
    user = users.find_user(session, username.strip())
    if user is None:
        raise InvalidInput(f"unknown user '{username}'")
    return user


def add_user(session: Session, *, actor: str, username: str, full_name: str, memberships: list[Membership],
             password: str | None) -> UserRecord:
    """A new account; the actor must administer every role's area.

    Args:
        password: None for an account that cannot sign in (a service account).

    Raises:
        InvalidInput: no role, a taken or bad username, an empty name, a weak password.
        ApprovalRefused: the actor may not administer one of those areas.
    """
    if not memberships:
        raise InvalidInput("give at least one role (editor, translator, approver, admin)")
    who = _actor_for(session, actor, memberships)
    if not full_name.strip():
        raise InvalidInput("a user needs a full name")
    if users.find_user(session, username.strip()) is not None:
        raise InvalidInput(f"user '{username.strip()}' already exists")
    return users.add_user(session, username=username.strip(), full_name=full_name.strip(), memberships=memberships,
                          password=None if password is None else validate_password(password), actor=who)


def grant(session: Session, username: str, memberships: list[Membership], *, actor: str) -> bool:
    """Add roles in areas the actor administers; the user's sessions and tokens are revoked when anything
    changed.

    Returns:
        Whether anything changed (False: they had every role already).
    """
    who = _actor_for(session, actor, memberships)
    user = find(session, username)
    changed = any([users.grant(session, user, m, actor=who) for m in memberships])
    if changed:
        credentials.revoke_all(session, user, reason="roles_changed", actor=who)
    return changed


def revoke(session: Session, username: str, memberships: list[Membership], *, actor: str) -> UserRecord:
    """Take roles away (the last one too: the account then can do nothing); sessions and tokens are revoked."""
    for m in memberships:
        require_admin(session, actor, _scope(m))
    user = find(session, username)
    for m in memberships:
        users.revoke(session, user, m, actor=actor)
    credentials.revoke_all(session, user, reason="roles_changed", actor=actor)
    return user


def set_active(session: Session, username: str, active: bool, *, actor: str) -> UserRecord:
    """Disable (revoking every session and token) or re-enable an account (nothing old comes back), as an
    admin of every area the account has a role in.

    Raises:
        InvalidInput: unknown user, or disabling one's own account.
        ApprovalRefused: not an admin there.
    """
    user = find(session, username)
    require_admin(session, actor, user_admin_scope(user))
    if user.username == actor and not active:
        raise InvalidInput("you cannot disable your own account")
    users.set_active(session, user, active, actor=actor)
    if not active:
        credentials.revoke_all(session, user, reason="disabled", actor=actor)
    return user


def set_password(session: Session, username: str, password: str, *, actor: str) -> None:
    """Set a new password, as that user or an admin of every area they have a role in; every session and
    token of the user is revoked.

    Raises:
        InvalidInput: unknown user, or a weak password.
        ApprovalRefused: someone else who does not administer them.
    """
    user = find(session, username)
    if actor != user.username:
        require_admin(session, actor, user_admin_scope(user))
    users.set_password(session, user, validate_password(password), actor=actor)
    credentials.revoke_all(session, user, reason="password_changed", actor=actor)
