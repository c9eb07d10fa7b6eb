"""Web sessions and API tokens (persisted only; the rules are in ``services.credentials``)."""

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from storage.db import rowcount
from storage.models import UserRecord
from storage.models_credentials import ApiTokenRecord, WebSessionRecord


def add_session(s: Session, *, token_hash: str, user_id: int, created_at: datetime,
                expires_at: datetime) -> WebSessionRecord:
    rec = WebSessionRecord(token_hash=token_hash, user_id=user_id, created_at=created_at, expires_at=expires_at)
    s.add(rec)
    s.flush()
    return rec


def find_session(s: Session, token_hash: str) -> WebSessionRecord | None:
    return s.scalar(select(WebSessionRecord).where(WebSessionRecord.token_hash == token_hash))


def revoke_session(s: Session, rec: WebSessionRecord, *, at: datetime, reason: str) -> None:
    if rec.revoked_at is None:
        rec.revoked_at, rec.revoked_reason = at, reason
        s.flush()


def add_token(s: Session, *, token_hash: str, user_id: int, name: str, created_by: str, created_at: datetime,
              expires_at: datetime) -> ApiTokenRecord:
    rec = ApiTokenRecord(token_hash=token_hash, user_id=user_id, name=name, created_by=created_by,
                         created_at=created_at, expires_at=expires_at)
    s.add(rec)
    s.flush()
    return rec


def find_token(s: Session, token_hash: str) -> ApiTokenRecord | None:
    return s.scalar(select(ApiTokenRecord).where(ApiTokenRecord.token_hash == token_hash))


def get_token(s: Session, token_id: int) -> ApiTokenRecord | None:
    return s.get(ApiTokenRecord, token_id)


def list_tokens(s: Session, user_id: int | None = None) -> list[tuple[ApiTokenRecord, str]]:
    """Tokens with their owner's username, oldest first (all users when ``user_id`` is None)."""
    stmt = select(ApiTokenRecord, UserRecord.username).join(UserRecord, UserRecord.id == ApiTokenRecord.user_id)
    if user_id is not None:
        stmt = stmt.where(ApiTokenRecord.user_id == user_id)
    return [(t, u) for t, u in s.execute(stmt.order_by(ApiTokenRecord.id))]


def revoke_token(s: Session, rec: ApiTokenRecord, *, at: datetime, reason: str) -> None:
    if rec.revoked_at is None:
        rec.revoked_at, rec.revoked_reason = at, reason
        s.flush()


def revoke_all_of_user(s: Session, user_id: int, *, at: datetime, reason: str) -> tuple[int, int]:
    """Revoke every live session and token of a user; returns (sessions, tokens) revoked."""
    n_sessions = rowcount(s.execute(update(WebSessionRecord)
                           .where(WebSessionRecord.user_id == user_id, WebSessionRecord.revoked_at.is_(None))
                           .values(revoked_at=at, revoked_reason=reason)
                           .execution_options(synchronize_session=False)))
    n_tokens = rowcount(s.execute(update(ApiTokenRecord)
                         .where(ApiTokenRecord.user_id == user_id, ApiTokenRecord.revoked_at.is_(None))
                         .values(revoked_at=at, revoked_reason=reason)
                         .execution_options(synchronize_session=False)))
    s.expire_all()
    return int(n_sessions or 0), int(n_tokens or 0)
