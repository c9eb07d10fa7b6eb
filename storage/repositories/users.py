"""Users and their roles (issue #4 adds passwords and area-scoped memberships)."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.approvals import Role
from domain.errors import InvalidInput, NotFound
from storage.models import UserRecord


def add_user(
    session: Session, *, username: str, full_name: str, roles: list[Role], area_code: str | None = None,
    is_demo: bool = False,
) -> UserRecord:
    """Create a user, or return the existing one when every field already matches (idempotent seeding).

    Raises:
        InvalidInput: the username exists with different details.
    """
    existing = session.scalar(select(UserRecord).where(UserRecord.username == username))
    role_values = sorted(r.value for r in roles)
    if existing is not None:
        if (existing.full_name, sorted(existing.roles), existing.area_code, existing.is_demo) != (
            full_name, role_values, area_code, is_demo,
        ):
            raise InvalidInput(f"user '{username}' already exists with other details")
        return existing
    user = UserRecord(username=username, full_name=full_name, roles=role_values, area_code=area_code,
                      is_demo=is_demo)
    session.add(user)
    session.flush()
    return user


def get_user(session: Session, username: str) -> UserRecord:
    user = session.scalar(select(UserRecord).where(UserRecord.username == username))
    if user is None or not user.active:
        raise NotFound(f"unknown or disabled user '{username}'")
    return user


def roles_of(user: UserRecord) -> frozenset[Role]:
    return frozenset(Role(r) for r in user.roles)


def require_role(user: UserRecord, role: Role) -> None:
    if role not in roles_of(user):
        raise InvalidInput(f"user '{user.username}' does not have the {role.value} role")


def list_users(session: Session) -> list[UserRecord]:
    return list(session.scalars(select(UserRecord).order_by(UserRecord.username)))
