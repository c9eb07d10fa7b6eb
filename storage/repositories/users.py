"""Users, their area-scoped memberships and password hashes. Account changes are audited."""

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.approvals import Role
from domain.areas import AreaLevel, approval_levels
from domain.errors import InvalidInput, NotFound
from domain.users import Membership, complete_membership, hash_password, verify_password
from storage.models import MembershipRecord, UserRecord
from storage.repositories import areas, audit


def _complete(session: Session, m: Membership) -> Membership:
    """Check the membership's area exists and fill an approver's default level."""
    return complete_membership(m, areas.get_area(session, m.area_code) if m.area_code else None,
                               approval_levels(areas.levels(session)))


def membership_of(rec: MembershipRecord) -> Membership:
    return Membership(Role(rec.role), rec.area_code, rec.language, AreaLevel(rec.level) if rec.level else None)


def memberships_of(user: UserRecord) -> list[Membership]:
    return [membership_of(m) for m in user.memberships]


def add_user(
    session: Session, *, username: str, full_name: str, roles: Sequence[Role] = (), area_code: str | None = None,
    is_demo: bool = False, memberships: Sequence[Membership] = (), password: str | None = None,
    actor: str = "system",
) -> UserRecord:
    """Create a user, or return the existing one when every field already matches (idempotent seeding).

    An existing account without a password gets ``password`` (so re-seeding demo users after the
    upgrade lets them sign in); one with a different password is a mismatch.

    Args:
        roles: shorthand: one membership per role, scoped to ``area_code`` (approvers at that area's level,
            or province level everywhere without an area; translators for every language).
        memberships: explicit memberships, added to those from ``roles``.
        password: hashed with argon2id; None leaves the account unable to sign in.

    Raises:
        InvalidInput: the username exists with other details, a membership does not fit its area, or the
            password is too short.
        NotFound: an area code is unknown.
    """
    username = username.strip()
    if not username or len(username) > 64 or any(ch.isspace() or ch == ":" for ch in username):
        raise InvalidInput(f"bad username '{username}': 1-64 characters, no spaces or ':'")
    wanted = [Membership(r, area_code, language="*" if r is Role.TRANSLATOR else None) for r in roles]
    wanted = sorted({_complete(session, m) for m in [*wanted, *memberships]}, key=_key)
    if not wanted:
        raise InvalidInput(f"user '{username}' needs at least one role")
    existing = session.scalar(select(UserRecord).where(UserRecord.username == username))
    if existing is not None:
        have = sorted(memberships_of(existing), key=_key)
        same = (existing.full_name, have, existing.is_demo) == (full_name, wanted, is_demo)
        if not same or (password is not None and existing.password_hash is not None
                        and not verify_password(existing.password_hash, password)):
            raise InvalidInput(f"user '{username}' already exists with other details")
        if password is not None and existing.password_hash is None:
            # Seeding again after passwords arrived (0002) gives an old account its first password.
            set_password(session, existing, password, actor=actor)
        return existing
    user = UserRecord(username=username, full_name=full_name, is_demo=is_demo,
                      password_hash=hash_password(password) if password is not None else None,
                      memberships=[_record(m) for m in wanted])
    session.add(user)
    session.flush()
    audit.record(session, actor=actor, action="user.created", entity="user", entity_id=username,
                 memberships=[m.spec for m in wanted], is_demo=is_demo, password_set=password is not None)
    return user


def _key(m: Membership) -> str:
    return m.spec


def _record(m: Membership) -> MembershipRecord:
    return MembershipRecord(role=m.role.value, area_code=m.area_code, language=m.language,
                            level=m.level.value if m.level else None)


def find_user(session: Session, username: str) -> UserRecord | None:
    """The user, active or not, or None."""
    return session.scalar(select(UserRecord).where(UserRecord.username == username))


def get_user(session: Session, username: str) -> UserRecord:
    """An active user.

    Raises:
        NotFound: unknown or disabled.
    """
    user = find_user(session, username)
    if user is None or not user.active:
        raise NotFound(f"unknown or disabled user '{username}'")
    return user


def grant(session: Session, user: UserRecord, membership: Membership, *, actor: str) -> bool:
    """Add a membership; False when the user already has it."""
    m = _complete(session, membership)
    if m in memberships_of(user):
        return False
    user.memberships.append(_record(m))
    session.flush()
    audit.record(session, actor=actor, action="user.granted", entity="user", entity_id=user.username,
                 membership=m.spec)
    return True


def revoke(session: Session, user: UserRecord, membership: Membership, *, actor: str) -> None:
    """Remove a membership.

    Raises:
        NotFound: the user does not have it.
    """
    m = _complete(session, membership)
    for rec in user.memberships:
        if membership_of(rec) == m:
            user.memberships.remove(rec)
            session.flush()
            audit.record(session, actor=actor, action="user.revoked", entity="user", entity_id=user.username,
                         membership=m.spec)
            return
    raise NotFound(f"user '{user.username}' has no membership {m.spec}")


def set_password(session: Session, user: UserRecord, password: str, *, actor: str) -> None:
    """Replace the password hash (the password itself is never stored or audited)."""
    user.password_hash = hash_password(password)
    session.flush()
    audit.record(session, actor=actor, action="user.password_set", entity="user", entity_id=user.username)


def set_active(session: Session, user: UserRecord, active: bool, *, actor: str) -> None:
    """Disable or re-enable an account; a disabled account cannot sign in or act."""
    if user.active == active:
        return
    user.active = active
    session.flush()
    audit.record(session, actor=actor, action="user.enabled" if active else "user.disabled", entity="user",
                 entity_id=user.username)


def roles_of(user: UserRecord) -> frozenset[Role]:
    return frozenset(m.role for m in memberships_of(user))


def list_users(session: Session) -> list[UserRecord]:
    return list(session.scalars(select(UserRecord).order_by(UserRecord.username)))
