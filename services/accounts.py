"""Account changes: passwords, enabling and disabling, roles. Each change that alters what a person may do
(or proves who they are) ends their sessions and API tokens, so nothing issued before it keeps working."""

from sqlalchemy.orm import Session

from domain.errors import InvalidInput
from domain.users import Membership
from services import credentials
from storage.models import UserRecord
from storage.repositories import users


def set_password(s: Session, username: str, password: str, *, actor: str) -> None:
    """Set a new password; every session and token of the user is revoked."""
    user = users.get_user(s, username)
    users.set_password(s, user, password, actor=actor)
    credentials.revoke_all(s, user, reason="password_changed", actor=actor)


def set_active(s: Session, username: str, active: bool, *, actor: str) -> UserRecord:
    """Disable (revoking every session and token) or re-enable an account (nothing old comes back).

    Raises:
        InvalidInput: unknown user.
    """
    user = users.find_user(s, username)
    if user is None:
        raise InvalidInput(f"unknown user '{username}'")
    users.set_active(s, user, active, actor=actor)
    if not active:
        credentials.revoke_all(s, user, reason="disabled", actor=actor)
    return user


def grant(s: Session, username: str, memberships: list[Membership], *, actor: str) -> UserRecord:
    """Add roles; the user's sessions and tokens are revoked when anything changed."""
    user = users.get_user(s, username)
    changed = [users.grant(s, user, m, actor=actor) for m in memberships]
    if any(changed):
        credentials.revoke_all(s, user, reason="roles_changed", actor=actor)
    return user


def revoke(s: Session, username: str, memberships: list[Membership], *, actor: str) -> UserRecord:
    """Take roles away; the user's sessions and tokens are revoked."""
    user = users.get_user(s, username)
    for m in memberships:
        users.revoke(s, user, m, actor=actor)
    credentials.revoke_all(s, user, reason="roles_changed", actor=actor)
    return user
