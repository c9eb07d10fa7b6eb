"""SQLAlchemy 2.0 typed records. Status columns hold the domain enums' values."""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC on the way out on every backend (SQLite stores no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


AREA_CODE = String(16).with_variant(String(5), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, list[str]: JSON}


class AreaRecord(Base):
    __tablename__ = "areas"

    # 16: hamlet codes (29374-01). SQLite ignores VARCHAR lengths, so its tables keep the 5 they were made with.
    code: Mapped[str] = mapped_column(AREA_CODE, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(16))
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("areas.code"), index=True)
    languages: Mapped[list[str]] = mapped_column(default=list)
    # Set when the unit stopped existing (the 2025 reform): the current communes its territory went to.
    # Retired rows stay so history that names them keeps its codes; area lists and pickers leave them out.
    successors: Mapped[list[str] | None] = mapped_column(JSON(none_as_null=True), default=None)


class UserRecord(Base):
    """An account. What it may do lives in its memberships; ``password_hash`` is an argon2id PHC string
    (None: the account cannot sign in, e.g. a service account or one migrated from before passwords)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    memberships: Mapped[list["MembershipRecord"]] = relationship(
        back_populates="user", cascade="all, delete-orphan", order_by="MembershipRecord.id", lazy="selectin")

    @property
    def roles(self) -> list[str]:
        """The distinct role names of the memberships (read-only; kept for code written before 0002)."""
        return sorted({m.role for m in self.memberships})


class MembershipRecord(Base):
    """One role of one user in one area subtree (area NULL: every area).

    ``language`` is set for translators only (a code, or ``*`` for all), ``level`` for approvers only.
    """

    __tablename__ = "memberships"
    __table_args__ = (
        CheckConstraint("role IN ('editor', 'translator', 'approver', 'admin')", name="role"),
        CheckConstraint("(role = 'translator') = (language IS NOT NULL)", name="language_for_translators"),
        CheckConstraint("(role = 'approver') = (level IS NOT NULL)", name="level_for_approvers"),
        CheckConstraint("level IS NULL OR level IN ('commune', 'district', 'province')", name="level"),
        # NULLs are distinct in a plain unique constraint, so compare with NULL folded to ''.
        Index("uq_memberships_grant", "user_id", "role", text("coalesce(area_code, '')"),
              text("coalesce(language, '')"), text("coalesce(level, '')"), unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    area_code: Mapped[str | None] = mapped_column(ForeignKey("areas.code"), index=True)
    language: Mapped[str | None] = mapped_column(String(8))
    level: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    user: Mapped[UserRecord] = relationship(back_populates="memberships")


class DraftRecord(Base):
    __tablename__ = "drafts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    author: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DraftRevisionRecord(Base):
    """Immutable: rows are inserted, never updated."""

    __tablename__ = "draft_revisions"
    __table_args__ = (UniqueConstraint("draft_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    draft_id: Mapped[int] = mapped_column(ForeignKey("drafts.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    area_codes: Mapped[list[str]] = mapped_column()
    languages: Mapped[list[str]] = mapped_column()
    priority: Mapped[str] = mapped_column(String(16))
    channels: Mapped[list[str]] = mapped_column()
    source_ref: Mapped[str] = mapped_column(String(200), default="")
    requesting_unit: Mapped[str] = mapped_column(String(200), default="")
    embargo_at: Mapped[datetime | None] = mapped_column()
    expires_at: Mapped[datetime | None] = mapped_column()
    source_kind: Mapped[str] = mapped_column(String(16), default="text")
    source_key: Mapped[str | None] = mapped_column(String(200))
    content_hash: Mapped[str] = mapped_column(String(64))
    author: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PackageRecord(Base):
    __tablename__ = "packages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    draft_id: Mapped[int] = mapped_column(ForeignKey("drafts.id"), index=True)
    revision_id: Mapped[int] = mapped_column(ForeignKey("draft_revisions.id"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    manifest_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    manifest_key: Mapped[str | None] = mapped_column(String(200))
    error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class VariantRecord(Base):
    __tablename__ = "variants"
    __table_args__ = (UniqueConstraint("package_id", "language"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    package_id: Mapped[int] = mapped_column(ForeignKey("packages.id"), index=True)
    language: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16))
    blocked_reason: Mapped[str] = mapped_column(Text, default="")
    # Who wrote or recorded this variant by hand (None: machine-made); barred from approving it (four-eyes).
    translated_by: Mapped[str | None] = mapped_column(String(64))


class TranslationRecord(Base):
    """A person's translation of one draft revision into one language. Rows are appended, never
    changed; the newest for (revision, language) is the one production uses."""

    __tablename__ = "translations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    revision_id: Mapped[int] = mapped_column(ForeignKey("draft_revisions.id"), index=True)
    language: Mapped[str] = mapped_column(String(8))
    script_key: Mapped[str] = mapped_column(String(200))
    board_key: Mapped[str] = mapped_column(String(200))
    translator: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    title: Mapped[str] = mapped_column(String(200), default="", server_default="")  # the variant's own title


class RecordingRecord(Base):
    """A person's recording of one draft revision in one language; it replaces synthetic speech.
    Append-only; the newest for (revision, language) is used."""

    __tablename__ = "recordings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    revision_id: Mapped[int] = mapped_column(ForeignKey("draft_revisions.id"), index=True)
    language: Mapped[str] = mapped_column(String(8))
    key: Mapped[str] = mapped_column(String(200))
    duration_s: Mapped[float] = mapped_column(Float)
    uploaded_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AssetRecord(Base):
    __tablename__ = "assets"
    __table_args__ = (UniqueConstraint("package_id", "language", "kind", "position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    package_id: Mapped[int] = mapped_column(ForeignKey("packages.id"), index=True)
    language: Mapped[str] = mapped_column(String(8))
    kind: Mapped[str] = mapped_column(String(16))
    position: Mapped[int] = mapped_column(Integer, default=0)  # slide order; 0 for single assets
    key: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    media_type: Mapped[str] = mapped_column(String(64))
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApprovalRecord(Base):
    __tablename__ = "approvals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    package_id: Mapped[int] = mapped_column(ForeignKey("packages.id"), index=True)
    manifest_hash: Mapped[str] = mapped_column(String(64))
    approver: Mapped[str] = mapped_column(String(64))
    decision: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text, default="")
    # The capacity the approver acted in (their membership's level and area; NULL area: everywhere).
    # Recorded so a later change of memberships cannot rewrite which requirements were met.
    level: Mapped[str | None] = mapped_column(String(16))
    area_code: Mapped[str | None] = mapped_column(AREA_CODE)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class EmergencyTemplateRecord(Base):
    """A pre-approved emergency text. Immutable once created: approval binds to ``content_hash``."""

    __tablename__ = "emergency_templates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    languages: Mapped[list[str]] = mapped_column()
    area_code: Mapped[str] = mapped_column(ForeignKey("areas.code"))  # drafts may target only this subtree
    content_hash: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    approved_by: Mapped[str | None] = mapped_column(String(64))
    approved_at: Mapped[datetime | None] = mapped_column()
    retired_at: Mapped[datetime | None] = mapped_column()


class TemplateDraftRecord(Base):
    """Links a draft to the template it was made from, and the untouched revision that qualifies for the
    fast path (a later revision is an edit and goes through the normal emergency approval)."""

    __tablename__ = "template_drafts"

    draft_id: Mapped[int] = mapped_column(ForeignKey("drafts.id"), primary_key=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("emergency_templates.id"), index=True)
    revision_id: Mapped[int] = mapped_column(ForeignKey("draft_revisions.id"))


class DestinationRecord(Base):
    __tablename__ = "destinations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    url: Mapped[str] = mapped_column(String(500))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # The area whose bulletins it takes (None: every area); moved by ``bantin areas migrate --to 2025``.
    area_code: Mapped[str | None] = mapped_column(AREA_CODE, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class OutboxRecord(Base):
    """What bantin owes one destination about one package: its delivery (``kind`` delivery, action publish)
    or, after a withdrawal or kill, a retraction notice (``kind`` retraction, action withdraw or kill). One
    row per package, destination and kind; one state machine, attempt count and audit path for both."""

    __tablename__ = "outbox"
    __table_args__ = (UniqueConstraint("package_id", "destination_id", "kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(16))
    package_id: Mapped[int] = mapped_column(ForeignKey("packages.id"), index=True)
    destination_id: Mapped[int] = mapped_column(ForeignKey("destinations.id"))
    status: Mapped[str] = mapped_column(String(16), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    idempotency_key: Mapped[str] = mapped_column(String(100))
    receipt_id: Mapped[str] = mapped_column(String(200), default="")
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class AuditRecord(Base):
    """Append-only record of state changes: who, when, what, and for generated content how.

    Hash-chained (see ``domain.audit``): ``seq`` numbers entries without gaps, ``hash`` covers the entry
    and ``prev_hash``. Database triggers refuse UPDATE and DELETE.
    """

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, unique=True)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class AuditHeadRecord(Base):
    """The single row (id 1) naming the chain's last entry. Writers lock it to append one at a time, and
    verification compares it with the chain's end to catch deleted newest entries."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, default=0)
    hash: Mapped[str] = mapped_column(String(64))


# Records of later concepts live in their own modules (one module per concept); importing them here
# registers their tables on Base.metadata for Alembic and for every caller of storage.models.
from storage import (  # noqa: E402,F401
    models_archive,
    models_channels,
    models_credentials,
    models_devices,
    models_feedback,
    models_intake,
    models_live,
    models_programs,
    models_relays,
    models_reports,
)
