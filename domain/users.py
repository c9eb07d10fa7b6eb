"""Accounts: memberships (role + area subtree + language or level) and password hashing.

A user holds any number of memberships. Each one grants one role inside one area subtree:

- ``editor:29374`` writes drafts for commune 29374;
- ``translator:86:km`` translates Khmer variants for every commune of province 86;
- ``approver:86`` approves at province level for province 86 and its communes (the level defaults to
  the area's own level; ``approver:86:commune`` approves commune-level items anywhere in 86). A legacy
  tree (before July 2025) also has districts: ``approver:847`` approves at district level there;
- ``admin`` manages accounts everywhere.

A membership without an area is system-wide. Passwords are hashed with argon2id (argon2-cffi's defaults,
which follow RFC 9106's recommendations and are upgraded by ``needs_rehash``).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from domain.approvals import Role
from domain.areas import APPROVER_LEVELS, Area, AreaLevel
from domain.errors import InvalidInput
from domain.languages import parse_languages

ANY_LANGUAGE = "*"  # a translator for every language of the area (also what pre-0002 translators became)
MIN_PASSWORD_CHARS = 8


@dataclass(frozen=True, slots=True)
class Membership:
    """One role in one area subtree.

    Attributes:
        role: what the member may do.
        area_code: root of the subtree the membership covers; ``None`` means every area.
        language: translators only: the language they translate, or :data:`ANY_LANGUAGE`.
        level: approvers only: the administrative level at which they approve.
    """

    role: Role
    area_code: str | None = None
    language: str | None = None
    level: AreaLevel | None = None

    @property
    def spec(self) -> str:
        """The ``role[:area][:language-or-level]`` form the CLI reads and prints."""
        extra = self.language or (self.level.value if self.level else None)
        if extra:
            return f"{self.role.value}:{self.area_code or '*'}:{extra}"
        return f"{self.role.value}:{self.area_code}" if self.area_code else self.role.value


def parse_membership(spec: str, *, area: str | None = None, language: str | None = None,
                     level: str | None = None) -> Membership:
    """Parse ``role[:area][:language-or-level]``; the keyword values fill parts the spec leaves out.

    ``*`` as the area means every area. The third part is a language for translators and a level
    (commune, district, province) for approvers. The result is not yet checked against the area list:
    call :func:`complete_membership` for that.

    Raises:
        InvalidInput: unknown role, or a part that does not fit the role.
    """
    parts = [p.strip() for p in spec.strip().split(":")]
    if len(parts) > 3 or not parts[0]:
        raise InvalidInput(f"bad role '{spec}': expected role[:area][:language-or-level]")
    try:
        role = Role(parts[0].lower())
    except ValueError:
        choices = ", ".join(r.value for r in Role)
        raise InvalidInput(f"unknown role '{parts[0]}' (choose one of: {choices})") from None
    area_part = parts[1] if len(parts) > 1 and parts[1] else area
    extra = parts[2] if len(parts) > 2 and parts[2] else None
    area_code = None if area_part in (None, "*") else area_part
    if role is Role.TRANSLATOR:
        lang = extra or language
        if not lang:
            raise InvalidInput(f"role '{spec}': a translator needs a language (translator:AREA:km or --language)")
        if lang != ANY_LANGUAGE:
            codes = parse_languages(lang)
            if len(codes) != 1:
                raise InvalidInput(f"role '{spec}': one language per translator membership")
            lang = codes[0]
        return Membership(role, area_code, language=lang)
    if role is Role.APPROVER:
        value = extra or level
        parsed = None
        if value:
            try:
                parsed = AreaLevel(value.lower())
            except ValueError:
                parsed = None
            if parsed not in APPROVER_LEVELS:
                raise InvalidInput(f"role '{spec}': unknown level '{value}' (commune, province; "
                                   "district in a tree from before July 2025)")
        return Membership(role, area_code, level=parsed)
    if extra:
        raise InvalidInput(f"role '{spec}': only translators take a language and approvers a level")
    return Membership(role, area_code)


def complete_membership(m: Membership, area: Area | None,
                        levels: Sequence[AreaLevel] | None = None) -> Membership:
    """Check a membership against its area and fill an approver's default level (the area's own).

    An approver's level may sit at or below the area's level (a province office approving commune items
    for its communes), never above it: a commune cannot hold province-level authority. ``levels`` are the
    approval levels the area tree has (``domain.areas.approval_levels``): a district level exists only in
    a legacy tree.

    Raises:
        InvalidInput: the level sits above the area, the tree has no such level, or the area is a hamlet.
    """
    if m.role is not Role.APPROVER:
        return m
    if area is not None and area.level is AreaLevel.HAMLET:
        raise InvalidInput(f"approvers hold a commune or a larger area, not hamlet {area.code}: "
                           "give the hamlet's commune")
    level = m.level or (area.level if area else AreaLevel.PROVINCE)
    if levels is not None and level not in levels:
        why = " (no districts since July 2025)" if level is AreaLevel.DISTRICT else ""
        raise InvalidInput(f"this area tree has no '{level.value}' approval level{why}; "
                           f"use one of: {', '.join(x.value for x in levels)}")
    if area is not None and level.rank < area.level.rank:
        raise InvalidInput(
            f"an approver for {area.level.value} {area.code} cannot approve at {level.value} level"
        )
    return Membership(m.role, m.area_code, level=level)


def validate_password(password: str) -> str:
    """Raises InvalidInput when the password is too short or only spaces."""
    if len(password) < MIN_PASSWORD_CHARS or not password.strip():
        raise InvalidInput(f"a password needs at least {MIN_PASSWORD_CHARS} characters")
    return password


@lru_cache(maxsize=1)
def _hasher() -> PasswordHasher:
    return PasswordHasher()


def hash_password(password: str) -> str:
    """An argon2id PHC string (salt and parameters included)."""
    return _hasher().hash(validate_password(password))


def verify_password(stored_hash: str, password: str) -> bool:
    """True when ``password`` matches; a malformed stored hash counts as a mismatch, never an error."""
    try:
        return _hasher().verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    """True when the hash was made with weaker parameters than today's defaults."""
    return _hasher().check_needs_rehash(stored_hash)


@lru_cache(maxsize=1)
def dummy_hash() -> str:
    """A hash to verify against when the user is unknown, so both paths cost the same time."""
    return _hasher().hash("bantin-no-such-user")
