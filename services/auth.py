"""Who may do what: sign-in and permission checks shared by the web app, the JSON API and the CLI.

Permissions come from memberships (see ``domain.users``): each grants one role in one area subtree.
Acting needs authority over *every* target area; seeing needs it over *any* of them (a commune editor
sees a district-wide bulletin that reaches their commune, but may not change it).

=================  ===================================================  ==========================
action             roles that grant it                                  areas
=================  ===================================================  ==========================
``draft.create``   editor, admin                                        all targets in the subtree
``draft.view``     any role                                             any target in the subtree
``variant.edit``   translator (of ``language``, or ``*``), editor       all targets in the subtree
``package.view``   any role                                             any target in the subtree
``package.approve``approver (any level; the level is checked on         all targets in the subtree
                   approval by ``services.approvals``)
``area.configure`` approver, admin (programme order, quiet hours,       all targets in the subtree
                   volume, default content)
``relay.manage``   approver, admin (relay slots: what an area's mount   all targets in the subtree
                   carries; relay sources need an admin in any area)
``live.broadcast`` approver, admin (go on air live from a browser)      all targets in the subtree
``package.retry``  approver, admin (send a failed publication again)    all targets in the subtree
``admin``          admin                                                all given areas
=================  ===================================================  ==========================

An area-scoped membership covers that area's subtree only: an admin of one commune is no admin of its
province. With no ``area_codes``, :func:`can` asks for *system-wide* authority (a membership without an
area); :func:`can_anywhere` asks "in some area at all?" (whether to show a menu entry, before filtering).
A disabled account may do nothing. Services call :func:`require` (raises ``Forbidden``) so the web pages,
the API and the CLI get the same answer.
"""

from collections.abc import Iterable, Mapping

from sqlalchemy.orm import Session

from domain.approvals import Role
from domain.areas import Area, is_within
from domain.errors import ApprovalRefused, Forbidden, InvalidInput
from domain.users import ANY_LANGUAGE, Membership, dummy_hash, needs_rehash, verify_password
from storage.models import UserRecord
from storage.repositories import areas, drafts, packages, users

ALL_ROLES = frozenset(Role)
_ACTIONS: dict[str, tuple[frozenset[Role], bool]] = {  # action -> (roles granting it, needs every area)
    "draft.create": (frozenset({Role.EDITOR, Role.ADMIN}), True),
    "draft.view": (ALL_ROLES, False),
    "variant.edit": (frozenset({Role.TRANSLATOR, Role.EDITOR}), True),
    "package.view": (ALL_ROLES, False),
    "package.approve": (frozenset({Role.APPROVER}), True),
    "area.configure": (frozenset({Role.APPROVER, Role.ADMIN}), True),
    "relay.manage": (frozenset({Role.APPROVER, Role.ADMIN}), True),
    "live.broadcast": (frozenset({Role.APPROVER, Role.ADMIN}), True),
    "package.retry": (frozenset({Role.APPROVER, Role.ADMIN}), True),
    "admin": (frozenset({Role.ADMIN}), True),
}
ACTIONS = frozenset(_ACTIONS)


def authenticate(session: Session, username: str, password: str) -> UserRecord | None:
    """The active user whose password this is, or None.

    An unknown username costs one argon2 verification too (against a dummy hash), so response time does
    not reveal which usernames exist. Disabled accounts and accounts without a password fail. A hash made
    with weaker parameters than today's is replaced in the caller's transaction. Nothing is audited here:
    ``services.credentials.open_session`` records the sign-in; the web layer applies rate limits.
    """
    user = users.find_user(session, username.strip())
    stored = user.password_hash if user is not None else None
    ok = verify_password(stored or dummy_hash(), password)
    if user is None or stored is None or not ok or not user.active:
        return None
    if needs_rehash(stored):
        users.set_password(session, user, password, actor=user.username)
    return user


def can(
    session: Session, user: UserRecord, action: str, *, area_codes: list[str] = [],  # noqa: B006 (never mutated)
    language: str | None = None,
) -> bool:
    """Whether ``user`` may do ``action`` on items targeting ``area_codes`` (see the module table).

    Args:
        action: one of :data:`ACTIONS`.
        area_codes: the item's target areas; unknown codes are covered by no one (but system-wide members).
            Empty: does the user hold the authority system-wide?
        language: for ``variant.edit``: the variant's language; None means any language.

    Raises:
        ValueError: an unknown action (a programming error, not a denial).
    """
    if action not in _ACTIONS:
        raise ValueError(f"unknown action '{action}' (known: {', '.join(sorted(ACTIONS))})")
    roles, needs_all = _ACTIONS[action]
    if not user.active:
        return False
    grants = [m for m in users.memberships_of(user) if m.role in roles and _speaks(m, action, language)]
    if not grants:
        return False
    if any(m.area_code is None for m in grants):
        return True
    if not area_codes:
        return False  # a scoped membership never answers "everywhere"
    tree = area_tree(session)
    covered = [_covered(code, grants, tree) for code in area_codes]
    return all(covered) if needs_all else any(covered)


def can_anywhere(session: Session, user: UserRecord, action: str) -> bool:
    """Whether ``user`` may do ``action`` in at least one area (to show a page whose rows are then filtered
    with :func:`can` per row)."""
    if action not in _ACTIONS:
        raise ValueError(f"unknown action '{action}' (known: {', '.join(sorted(ACTIONS))})")
    return user.active and any(m.role in _ACTIONS[action][0] for m in users.memberships_of(user))


def require(session: Session, user: UserRecord, action: str, *, area_codes: list[str],
            language: str | None = None) -> None:
    """Raise :class:`Forbidden` unless :func:`can` says yes."""
    if not can(session, user, action, area_codes=area_codes, language=language):
        where = f" in area {', '.join(area_codes)}" if area_codes else " system-wide"
        raise Forbidden(f"user '{user.username}' may not do {action}{where}")


def require_anywhere(session: Session, user: UserRecord, action: str) -> None:
    """Raise :class:`Forbidden` unless :func:`can_anywhere` says yes (before a form whose areas are chosen on
    it: the form is then refused before anything is typed into it)."""
    if not can_anywhere(session, user, action):
        raise Forbidden(f"user '{user.username}' may not do {action} in any area")


def acting_user(session: Session, username: str, *, what: str) -> UserRecord:
    """The active user named as acting (the web's signed-in user, the API's token, the CLI's ``--as``).

    Raises:
        InvalidInput: nobody named (the CLI's ``--as`` left out).
        NotFound: unknown or disabled user.
    """
    if not username:
        raise InvalidInput(f"who is acting? pass --as USERNAME or set BANTIN_USER to {what}")
    return users.get_user(session, username)


def require_actor(session: Session, username: str, action: str, *, area_codes: list[str], what: str) -> UserRecord:
    """:func:`acting_user`, then :func:`require`; returns the user."""
    user = acting_user(session, username, what=what)
    require(session, user, action, area_codes=area_codes)
    return user


def require_admin(session: Session, actor: str, area_codes: list[str]) -> UserRecord:
    """The acting user, if they administer every one of ``area_codes`` (none: the whole installation).

    Raises:
        InvalidInput: nobody named as acting.
        ApprovalRefused: they do not administer those areas (or are unknown or disabled).
    """
    user = acting_user(session, actor, what="manage accounts")
    installation_wide = any(m.role is Role.ADMIN and m.area_code is None for m in users.memberships_of(user))
    if not can(session, user, "admin", area_codes=area_codes) or (not area_codes and not installation_wide):
        where = ", ".join(area_codes) or "every area"
        raise ApprovalRefused(f"user '{actor}' is not an administrator for {where}")
    return user


def user_admin_scope(user: UserRecord) -> list[str]:
    """The areas an admin must hold to act on ``user`` as a whole ([] when one of their roles is everywhere)."""
    scopes = [m.area_code for m in users.memberships_of(user)]
    return [] if None in scopes or not scopes else [c for c in scopes if c]


def package_area_codes(session: Session, package_id: int) -> list[str]:
    """The target areas of a package (those of the draft revision it was produced from).

    Raises:
        NotFound: no such package.
    """
    pkg = packages.get_package(session, package_id)
    return list(drafts.revision_by_id(session, pkg.revision_id).content.area_codes)


def _speaks(m: Membership, action: str, language: str | None) -> bool:
    """Translators edit only their language's variants; editors edit any (e.g. to attach a recording)."""
    if action != "variant.edit" or m.role is not Role.TRANSLATOR or language is None:
        return True
    return m.language in (ANY_LANGUAGE, language)


def area_tree(session: Session) -> dict[str, Area]:
    """Every area by code, loaded once per session (permission checks run per row of a listing)."""
    tree: dict[str, Area] | None = session.info.get("bantin.area_tree")
    if tree is None:
        tree = session.info["bantin.area_tree"] = areas.all_areas(session)
    return tree


def _covered(code: str, grants: Iterable[Membership], tree: Mapping[str, Area]) -> bool:
    if code not in tree:
        return False
    return any(m.area_code is not None and m.area_code in tree and is_within(code, m.area_code, tree)
               for m in grants)


def visible_area_codes(session: Session, user: UserRecord) -> set[str] | None:
    """Every area code inside the user's membership subtrees, or None when they see everything.

    None: an active user with a system-wide membership (no area; admins usually). A province approver of
    Trà Vinh gets Trà Vinh's code and every district and commune in it, not None. A disabled user gets
    an empty set. Filter items by intersecting their target areas with this set.
    """
    if not user.active:
        return set()
    scoped = users.memberships_of(user)
    if any(m.area_code is None for m in scoped):
        return None
    tree = area_tree(session)
    children: dict[str, list[str]] = {}
    for a in tree.values():
        if a.parent_code is not None:
            children.setdefault(a.parent_code, []).append(a.code)
    seen: set[str] = set()
    stack = [m.area_code for m in scoped if m.area_code in tree]
    while stack:
        code = stack.pop()
        if code not in seen:
            seen.add(code)
            stack.extend(children.get(code, ()))
    return seen
