"""What an administrator does from the browser (and could from the CLI): accounts and their area roles,
destinations, the audit log. Every function takes the acting user and checks the ``admin`` action on the
areas concerned, so an administrator of one province manages only that province's people.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.deliveries import DestinationKind
from domain.errors import Forbidden, InvalidInput
from domain.users import Membership, parse_membership
from services import accounts, audit_anchor, auth
from services import areas as area_service
from services.runtime import object_store
from settings import get_settings
from storage.models import AuditRecord, DestinationRecord, UserRecord
from storage.repositories import audit, destinations, users

AUDIT_PAGE = 100
_LEVELS_VI = {"xã": "commune", "xa": "commune", "huyện": "district", "huyen": "district", "tỉnh": "province",
              "tinh": "province"}


def _admin(session: Session, actor: str, area_codes: list[str]) -> UserRecord:
    """:func:`services.auth.require_admin` (raises ApprovalRefused)."""
    return auth.require_admin(session, actor, area_codes)


def membership_from_form(role: str, area: str, extra: str) -> Membership:
    """A membership from the admin form's fields (role, area code or empty, language or level).

    Raises:
        InvalidInput: a bad role, area, language or level.
    """
    role, value = role.strip(), extra.strip() or None
    if role == "approver" and value:  # the form may say the level in Vietnamese
        value = _LEVELS_VI.get(value.lower(), value)
    return parse_membership(role, area=area.strip() or None, language=value if role == "translator" else None,
                            level=value if role == "approver" else None)


def _scope(m: Membership) -> list[str]:
    return [m.area_code] if m.area_code else []


def create_user(session: Session, *, actor: str, username: str, full_name: str, membership: Membership,
                password: str) -> UserRecord:
    """A new account with one role; the actor must administer the role's area (:func:`services.accounts.add_user`).

    Raises:
        InvalidInput: a taken or bad username, an empty name, a weak password.
        ApprovalRefused: the actor may not administer that area.
    """
    return accounts.add_user(session, actor=actor, username=username, full_name=full_name,
                             memberships=[membership], password=password)


def grant_role(session: Session, *, actor: str, username: str, membership: Membership) -> bool:
    """Give ``username`` a role in an area the actor administers; False when they had it (their sessions and
    tokens end when it changed anything)."""
    return accounts.grant(session, username, [membership], actor=actor)


def revoke_role(session: Session, *, actor: str, username: str, membership: Membership) -> None:
    """Take a role away (the last one too: the account then can do nothing)."""
    accounts.revoke(session, username, [membership], actor=actor)


def set_user_active(session: Session, *, actor: str, username: str, active: bool) -> None:
    """Disable or re-enable an account whose every role lies in areas the actor administers."""
    accounts.set_active(session, username, active, actor=actor)


def list_users(session: Session, *, actor: str) -> list[dict[str, Any]]:
    """Accounts the actor may see: everyone for an installation admin, else those with a role in their areas."""
    me = users.get_user(session, actor)
    out = []
    for u in users.list_users(session):
        ms = users.memberships_of(u)
        if not any(auth.can(session, me, "admin", area_codes=_scope(m)) for m in ms) and ms:
            continue
        out.append({"username": u.username, "full_name": u.full_name, "active": u.active, "is_demo": u.is_demo,
                    "memberships": [{"spec": m.spec, "role": m.role.value, "area": m.area_code or "",
                                     "extra": m.language or (m.level.value if m.level else "")} for m in ms]})
    return out


def add_destination(session: Session, *, actor: str, name: str, kind: str, url: str,
                    area: str = "") -> DestinationRecord:
    """Add (or re-enable with a new URL) a destination the publish flow delivers to; audited.

    Args:
        area: a code or name (with or without diacritics): the destination then takes only bulletins for
            that area (its subtree, and the units above it); an admin of that area may add it. Empty: every
            area, which needs an installation admin.

    Raises:
        ApprovalRefused: not an admin of that area (or of the installation).
        InvalidInput: no name, an unknown kind or area, or a bad URL.
    """
    area_code = area_service.resolve(session, area).code if area.strip() else None
    _admin(session, actor, [area_code] if area_code else [])
    if not name.strip():
        raise InvalidInput("a destination needs a name")
    try:
        kind_value = DestinationKind(kind)
    except ValueError:
        raise InvalidInput(f"unknown destination kind '{kind}'") from None
    existing = destinations.get_by_name(session, name.strip())
    if existing is not None:  # changing it needs authority over what it covered too
        _admin(session, actor, [existing.area_code] if existing.area_code else [])
    rec = destinations.add_destination(session, name=name.strip(), kind=kind_value, url=url.strip(),
                                       area_code=area_code)
    audit.record(session, actor=actor, action="destination.added", entity="destination", entity_id=rec.id,
                 name=rec.name, kind=rec.kind, url=rec.url, area_code=rec.area_code)
    return rec


def destinations_for(session: Session, *, actor: str) -> list[DestinationRecord]:
    """The destinations an admin manages: those filed under their areas (every one for an installation
    admin, including those for every area), for the web page and the CLI alike.

    Raises:
        Forbidden: the user administers no area.
    """
    user = auth.acting_user(session, actor, what="see destinations")
    if not auth.can_anywhere(session, user, "admin"):
        raise Forbidden(f"user '{user.username}' administers no area")
    return [d for d in destinations.list_destinations(session)
            if auth.can(session, user, "admin", area_codes=[d.area_code] if d.area_code else [])]


def disable_destination(session: Session, *, actor: str, name: str) -> None:
    """Stop delivering to a destination (its past deliveries stay), as an admin of its area (or of the
    installation for one without); audited."""
    rec = destinations.get_by_name(session, name)
    _admin(session, actor, [rec.area_code] if rec is not None and rec.area_code else [])
    destinations.disable_destination(session, name)
    audit.record(session, actor=actor, action="destination.disabled", entity="destination", entity_id=name)


def enable_destination(session: Session, *, actor: str, name: str) -> None:
    """Deliver to a disabled destination again, as an admin of its area (or of the installation for one
    without); audited. Publications that stopped for want of it are sent again by a retry."""
    rec = destinations.get_by_name(session, name)
    _admin(session, actor, [rec.area_code] if rec is not None and rec.area_code else [])
    destinations.set_enabled(session, name, True)
    audit.record(session, actor=actor, action="destination.enabled", entity="destination", entity_id=name)


@dataclass(frozen=True, slots=True)
class ConnectionCheck:
    reachable: bool
    status: int | None  # the HTTP status answered, if any
    problem: str  # why it is unreachable ("" when reachable)


def check_destination(session: Session, *, actor: str, name: str, timeout_s: float = 5.0,
                      client: httpx.Client | None = None) -> ConnectionCheck:
    """Whether the destination's server answers at all (any HTTP status counts: nothing is delivered); an admin
    of the destination's area may ask (of the installation for one without)."""
    rec = session.scalar(select(DestinationRecord).where(DestinationRecord.name == name))
    _admin(session, actor, [rec.area_code] if rec is not None and rec.area_code else [])
    if rec is None:
        raise InvalidInput(f"no destination named '{name}'")
    own = client is None
    http = client or httpx.Client(timeout=timeout_s)
    try:
        resp = http.get(rec.url)
        return ConnectionCheck(True, resp.status_code, "")
    except httpx.TimeoutException:
        return ConnectionCheck(False, None, "timeout")
    except httpx.HTTPError:
        return ConnectionCheck(False, None, "unreachable")
    finally:
        if own:
            http.close()


@dataclass(frozen=True, slots=True)
class AuditFilter:
    actor: str = ""
    action: str = ""  # a prefix: "user." finds every account change
    day_from: date | None = None
    day_to: date | None = None
    page: int = 1


def audit_entries(session: Session, *, actor: str, flt: AuditFilter, tz: Any = UTC) -> tuple[list[AuditRecord], bool]:
    """One page of the audit log, newest first, and whether more follow (installation admins only)."""
    _admin(session, actor, [])
    stmt = select(AuditRecord).order_by(AuditRecord.seq.desc())
    if flt.actor:
        stmt = stmt.where(AuditRecord.actor == flt.actor.strip())
    if flt.action:
        stmt = stmt.where(AuditRecord.action.startswith(flt.action.strip()))
    if flt.day_from:
        stmt = stmt.where(AuditRecord.at >= datetime.combine(flt.day_from, time(), tz).astimezone(UTC))
    if flt.day_to:
        stmt = stmt.where(AuditRecord.at < datetime.combine(flt.day_to + timedelta(days=1), time(), tz)
                          .astimezone(UTC))
    rows = list(session.scalars(stmt.offset((max(flt.page, 1) - 1) * AUDIT_PAGE).limit(AUDIT_PAGE + 1)))
    return rows[:AUDIT_PAGE], len(rows) > AUDIT_PAGE


def verify_audit(session: Session, *, actor: str) -> tuple[int, list[str]]:
    """Check the log as ``bantin audit verify`` does (:func:`services.audit_anchor.verify`): the hash chain,
    its append-only triggers, and the signed checkpoints in the object store and in the auditor's file
    (``BANTIN_AUDIT_CHECKPOINT_FILE``, when it exists), so a cut-off end, an emptied or a recomputed log is
    reported, not only a break in the middle. Returns the number of entries and a line per problem."""
    _admin(session, actor, [])
    kept = get_settings().audit_checkpoint_file
    report = audit_anchor.verify(session, object_store(), files=[kept] if kept is not None and kept.exists() else [])
    return report.count, report.problems


def rotate_signing_key(session: Session, *, actor: str) -> str:
    """A new signing key endorsed by the current one (which stays valid for the grace period); audited.
    Returns the new key's id."""
    from services import device_schedule, signing

    _admin(session, actor, [])
    previous = signing.current_key().key_id
    entry = signing.rotate()
    device_schedule.invalidate()  # schedules are signed: devices get the new signature at their next poll
    audit.record(session, actor=actor, action="signing_key.rotated", entity="signing_key", entity_id=entry.key_id,
                 previous=previous)
    return entry.key_id


def models_overview(session: Session, *, actor: str, verify: bool = False) -> list[dict[str, Any]]:
    """The models the engines use: task, backend, languages, licence and, when ``verify``, whether their
    files match the recorded SHA-256 (reads every file: seconds to minutes for large models)."""
    from engines import registry

    _admin(session, actor, [])
    reg = registry.load_registry()
    rows = []
    for entry in reg.all():
        check = registry.verify(entry) if verify else None
        rows.append({"name": entry.name, "task": entry.task.value, "backend": entry.backend,
                     "languages": list(entry.languages), "licence": entry.licence or "",
                     "non_commercial": entry.non_commercial, "status": check.status if check else "",
                     "ok": check.ok if check else None,
                     "origin": "bundled" if entry.bundled else ("default" if entry not in reg.entries else "registry")})
    if verify:
        audit.record(session, actor=actor, action="models.verified", entity="models", entity_id="all",
                     failed=[r["name"] for r in rows if r["ok"] is False])
    return rows
