"""Sign-in credentials that the server can take back: web sessions and API tokens.

A web session is a random token in the signed cookie and a row in ``web_sessions``; an API token is a
random bearer string and a row in ``api_tokens``. Only SHA-256 hashes are stored. Every request looks the
row up, so a credential stops working the moment it is revoked:

* logging out revokes that session;
* a password change, disabling the account and any role change revoke every session and token of the user
  (see ``services.accounts``); enabling the account again does not revive them;
* ``bantin api-token revoke`` revokes one token; tokens also expire (``BANTIN_API_TOKEN_DAYS`` by default).

Functions take ``now`` so tests inject the clock.
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from domain.errors import InvalidInput, NotFound
from services import auth
from storage.models import UserRecord
from storage.models_credentials import ApiTokenRecord
from storage.repositories import audit, credentials, users

SESSION_HOURS = 12
TOKEN_PREFIX = "bantin_"
MAX_TOKEN_DAYS = 365


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


def open_session(s: Session, user: UserRecord, *, via: str = "web", now: datetime | None = None) -> str:
    """Start a session for a user who just proved their password; returns the token for the cookie."""
    now = _now(now)
    token = secrets.token_urlsafe(32)
    credentials.add_session(s, token_hash=_hash(token), user_id=user.id, created_at=now,
                            expires_at=now + timedelta(hours=SESSION_HOURS))
    audit.record(s, actor=user.username, action="user.signed_in", entity="user", entity_id=user.username, via=via)
    return token


def session_user(s: Session, token: object, *, now: datetime | None = None) -> UserRecord | None:
    """The active user of a live session, or None (unknown, expired, revoked, or the account is disabled)."""
    if not isinstance(token, str) or not token or len(token) > 200:
        return None
    rec = credentials.find_session(s, _hash(token))
    if rec is None or rec.revoked_at is not None or rec.expires_at <= _now(now):
        return None
    user = s.get(UserRecord, rec.user_id)
    return user if user is not None and user.active else None


def close_session(s: Session, token: object, *, now: datetime | None = None) -> None:
    """Log out: the session's token no longer works, even if someone kept a copy of the cookie."""
    if not isinstance(token, str) or not token:
        return
    rec = credentials.find_session(s, _hash(token))
    if rec is None or rec.revoked_at is not None:
        return
    credentials.revoke_session(s, rec, at=_now(now), reason="logout")
    user = s.get(UserRecord, rec.user_id)
    name = user.username if user else str(rec.user_id)
    audit.record(s, actor=name, action="user.signed_out", entity="user", entity_id=name)


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """An API token as listed (never the token itself)."""

    id: int
    username: str
    name: str
    created_by: str
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    revoked_reason: str | None

    def state(self, now: datetime) -> str:
        if self.revoked_at is not None:
            return f"revoked ({self.revoked_reason})"
        return "expired" if self.expires_at <= now else "active"


def _require_token_rights(s: Session, actor: str, user: UserRecord) -> None:
    """A user manages their own tokens; anyone else must administer every area the user has a role in (the
    rule for administering the account itself: an editor cannot mint the installation admin's token).

    Raises:
        InvalidInput: nobody named as acting.
        NotFound: unknown or disabled actor.
        ApprovalRefused: someone else who does not administer the user.
    """
    me = auth.acting_user(s, actor, what="manage API tokens")
    if me.id != user.id:
        auth.require_admin(s, actor, auth.user_admin_scope(user))


def create_api_token(s: Session, username: str, *, name: str = "", days: int, actor: str,
                     now: datetime | None = None) -> tuple[TokenInfo, str]:
    """A new bearer token for an active user, made by that user or an admin of theirs; returns its listing
    and the token (shown once, never stored).

    Raises:
        InvalidInput: ``days`` outside 1-365 or a name over 100 characters; nobody named as acting.
        NotFound: unknown or disabled user or actor.
        ApprovalRefused: the actor is someone else who does not administer the user.
    """
    if not 1 <= days <= MAX_TOKEN_DAYS:
        raise InvalidInput(f"a token lives 1-{MAX_TOKEN_DAYS} days, not {days}")
    name = name.strip() or "api"
    if len(name) > 100 or "\x00" in name:
        raise InvalidInput("a token name is at most 100 characters")
    user = users.get_user(s, username)
    _require_token_rights(s, actor, user)
    now = _now(now)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    rec = credentials.add_token(s, token_hash=_hash(token), user_id=user.id, name=name, created_by=actor,
                                created_at=now, expires_at=now + timedelta(days=days))
    audit.record(s, actor=actor, action="api_token.created", entity="user", entity_id=user.username,
                 token_id=rec.id, name=name, expires_at=rec.expires_at.isoformat())
    return _info(rec, user.username), token


def api_token_user(s: Session, token: str, *, now: datetime | None = None) -> UserRecord | None:
    """The active user a live, unexpired, unrevoked token belongs to, or None."""
    if not token or len(token) > 200:
        return None
    rec = credentials.find_token(s, _hash(token))
    now = _now(now)
    if rec is None or rec.revoked_at is not None or rec.expires_at <= now:
        return None
    user = s.get(UserRecord, rec.user_id)
    if user is None or not user.active:
        return None
    if rec.last_used_at is None or now - rec.last_used_at > timedelta(minutes=10):
        rec.last_used_at = now  # coarse, so a busy client does not write on every call
    return user


def list_api_tokens(s: Session, username: str | None = None) -> list[TokenInfo]:
    """Every token (or one user's), oldest first."""
    user_id = None
    if username is not None:
        user = users.find_user(s, username)
        if user is None:
            raise NotFound(f"unknown user '{username}'")
        user_id = user.id
    return [_info(rec, name) for rec, name in credentials.list_tokens(s, user_id)]


def revoke_api_token(s: Session, token_id: int, *, actor: str, now: datetime | None = None) -> TokenInfo:
    """Revoke one token by its listed id, as its user or an admin of theirs.

    Raises:
        NotFound: no such token; unknown or disabled actor.
        InvalidInput: nobody named as acting.
        ApprovalRefused: the actor is someone else who does not administer the token's user.
    """
    rec = credentials.get_token(s, token_id)
    if rec is None:
        raise NotFound(f"no API token #{token_id}")
    user = s.get(UserRecord, rec.user_id)
    if user is None:
        raise NotFound(f"no API token #{token_id}")
    _require_token_rights(s, actor, user)
    username = user.username
    if rec.revoked_at is None:
        credentials.revoke_token(s, rec, at=_now(now), reason="revoked")
        audit.record(s, actor=actor, action="api_token.revoked", entity="user", entity_id=username,
                     token_id=rec.id)
    return _info(rec, username)


def revoke_all(s: Session, user: UserRecord, *, reason: str, actor: str, now: datetime | None = None) -> None:
    """End every session and token of ``user`` (password change, disable, role change)."""
    n_sessions, n_tokens = credentials.revoke_all_of_user(s, user.id, at=_now(now), reason=reason)
    if n_sessions or n_tokens:
        audit.record(s, actor=actor, action="user.credentials_revoked", entity="user", entity_id=user.username,
                     reason=reason, sessions=n_sessions, tokens=n_tokens)


def _info(r: ApiTokenRecord, username: str) -> TokenInfo:
    return TokenInfo(id=r.id, username=username, name=r.name, created_by=r.created_by, created_at=r.created_at,
                     expires_at=r.expires_at, last_used_at=r.last_used_at, revoked_at=r.revoked_at,
                     revoked_reason=r.revoked_reason)
