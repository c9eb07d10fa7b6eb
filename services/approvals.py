"""Approving and rejecting packages under the level policy, and the emergency template fast path.

The policy itself (which levels, which areas, who covers what) is pure and lives in
``domain.approvals``; this module gathers its inputs from storage and records the outcome.
"""

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.approvals import (
    ApprovalRequest,
    Decision,
    Grant,
    Requirement,
    Role,
    check_approval,
    choose_grant,
    covers,
    outstanding,
    required_approvals,
)
from domain.areas import AreaLevel
from domain.canonical import canonical_json, sha256_hex
from domain.drafts import DraftContent, DraftRevision, validate_content
from domain.editions import check_languages_heard
from domain.errors import ApprovalRefused, Forbidden, InvalidInput, NotFound
from domain.languages import draft_languages
from domain.packages import PackageStatus, VariantStatus
from domain.priority import Priority
from services import auth
from services import drafts as draft_service
from storage.models import (
    ApprovalRecord,
    DraftRevisionRecord,
    EmergencyTemplateRecord,
    PackageRecord,
    UserRecord,
    VariantRecord,
)
from storage.objects import ObjectStore
from storage.repositories import audit, drafts, packages, templates, users


@dataclass(frozen=True, slots=True)
class ApprovalState:
    """Where a package stands against the policy, for its current manifest.

    Attributes:
        requirements: every sign-off the package needs.
        remaining: those not yet covered by an approval of ``manifest_hash``.
        approved_by: who approved ``manifest_hash`` so far, in order.
        fast_path: the package is an untouched draft of an approved emergency template.
    """

    manifest_hash: str | None
    requirements: tuple[Requirement, ...]
    remaining: tuple[Requirement, ...]
    approved_by: tuple[str, ...]
    fast_path: bool


def approval_state(session: Session, package_id: int) -> ApprovalState:
    pkg = packages.get_package(session, package_id)
    rev = drafts.revision_by_id(session, pkg.revision_id)
    tree = auth.area_tree(session)
    fast = _fast_path(session, pkg, rev)
    requirements = required_approvals(rev.content.priority, rev.content.area_codes, tree, fast_path=fast)
    current = [a for a in packages.approvals_of(session, package_id)
               if a.decision == Decision.APPROVED.value and a.manifest_hash == pkg.manifest_hash]
    given = [Grant(AreaLevel(a.level), a.area_code) for a in current if a.level]
    return ApprovalState(pkg.manifest_hash, requirements, outstanding(requirements, given, tree),
                         tuple(a.approver for a in current), fast)


def _fast_path(session: Session, pkg: PackageRecord, rev: DraftRevision) -> bool:
    """An emergency whose package comes from the very revision made from a still-valid approved template."""
    if rev.content.priority is not Priority.KHAN_CAP:
        return False
    link = templates.link_of(session, pkg.draft_id)
    if link is None or link.revision_id != pkg.revision_id:
        return False  # edited since it left the template: the full emergency approval applies
    tpl = templates.get_template(session, link.template_id)
    return tpl.approved_by is not None and tpl.retired_at is None


def _authors(session: Session, pkg: PackageRecord) -> frozenset[str]:
    """Everyone whose words are in the package: the draft's and revisions' authors, and its translators."""
    # Earlier revisions count too: their words may survive into this one. (Plain queries here because the
    # drafts and packages repositories have no such listing yet.)
    names = {drafts.get_draft(session, pkg.draft_id).author}
    names |= set(session.scalars(select(DraftRevisionRecord.author).where(
        DraftRevisionRecord.draft_id == pkg.draft_id, DraftRevisionRecord.id <= pkg.revision_id)))
    names |= set(session.scalars(select(VariantRecord.translated_by).where(
        VariantRecord.package_id == pkg.id, VariantRecord.translated_by.is_not(None))))
    return frozenset(n for n in names if n)


def approver_grants(user: UserRecord) -> list[Grant]:
    """The capacities in which ``user`` may approve (one per approver membership)."""
    return [Grant(m.level, m.area_code) for m in users.memberships_of(user)
            if m.role is Role.APPROVER and m.level is not None]


def _check(
    session: Session, pkg: PackageRecord, user: UserRecord, reviewed_hash: str | None
) -> tuple[str, Grant, ApprovalState]:
    if not pkg.manifest_hash:
        raise ApprovalRefused(f"package {pkg.id} has no manifest yet (status '{pkg.status}')")
    manifest_hash = check_approval(ApprovalRequest(
        package_status=PackageStatus(pkg.status),
        current_manifest_hash=pkg.manifest_hash,
        reviewed_manifest_hash=reviewed_hash,
        approver=user.username,
        approver_roles=users.roles_of(user),
        authors=_authors(session, pkg),
        ready_variants=sum(v.status is VariantStatus.READY for v in packages.variants_of(session, pkg.id)),
    ))
    state = approval_state(session, pkg.id)
    if user.username in state.approved_by:
        raise ApprovalRefused(f"user '{user.username}' has already approved this manifest")
    grant = choose_grant(user.username, approver_grants(user), state.remaining, auth.area_tree(session))
    return manifest_hash, grant, state


def approval_refusal(session: Session, *, package_id: int, username: str) -> str | None:
    """Why ``username`` may not approve the package now, or None when they may (for buttons and queues)."""
    try:
        _check(session, packages.get_package(session, package_id), users.get_user(session, username), None)
    except (ApprovalRefused, InvalidInput) as exc:
        return str(exc)
    return None


@dataclass(frozen=True, slots=True)
class QueueEntry:
    """A package waiting for this approver."""

    package_id: int
    manifest_hash: str
    title: str
    priority: str
    area_codes: tuple[str, ...]


_URGENCY: dict[str, int] = {Priority.KHAN_CAP: 2, Priority.UU_TIEN: 1}


def approval_queue(session: Session, username: str) -> list[QueueEntry]:
    """Packages in review that ``username`` may approve *now* (area, level, four-eyes rule, not yet approved
    by them), emergencies first, then oldest first: the one queue the pages and the API show.
    """
    user = users.get_user(session, username)
    out = []
    for pkg in packages.packages_in_status(session, PackageStatus.IN_REVIEW):
        content = drafts.revision_by_id(session, pkg.revision_id).content
        if not auth.can(session, user, "package.approve", area_codes=list(content.area_codes)):
            continue
        if approval_refusal(session, package_id=pkg.id, username=user.username) is not None:
            continue
        out.append(QueueEntry(pkg.id, pkg.manifest_hash or "", content.title, content.priority.value,
                              tuple(content.area_codes)))
    out.sort(key=lambda e: (-_URGENCY.get(e.priority, 0), e.package_id))
    return out


def approve_package(
    session: Session, *, package_id: int, username: str, reviewed_hash: str | None = None
) -> ApprovalRecord:
    """Record an approval bound to the package's current manifest hash; the package becomes APPROVED once
    every requirement of the policy is covered by approvals of that same hash.

    Args:
        reviewed_hash: the manifest hash (or its first 12+ characters) the approver looked at; if the
            package changed since, the approval is refused.

    Raises:
        ApprovalRefused: role, area or level, four-eyes, a repeated approval, or state forbid it.
        ManifestMismatch: the package changed since review.
    """
    pkg = packages.get_package(session, package_id)
    user = users.get_user(session, username)
    manifest_hash, grant, state = _check(session, pkg, user, reviewed_hash)
    rec = packages.add_approval(session, package_id=package_id, manifest_hash=manifest_hash,
                                approver=user.username, decision=Decision.APPROVED)
    rec.level, rec.area_code = grant.level.value, grant.area_code
    session.flush()
    tree = auth.area_tree(session)
    remaining = [r for r in state.remaining if not covers(grant, r, tree)]
    audit.record(session, actor=user.username, action="approval.counted", entity="package", entity_id=package_id,
                 manifest_hash=manifest_hash, level=grant.level.value, area_code=grant.area_code,
                 fast_path=state.fast_path, remaining=[f"{r.level.value}:{r.area_code}" for r in remaining])
    if not remaining:
        packages.set_status(session, pkg, PackageStatus.APPROVED, actor=user.username, manifest_hash=manifest_hash)
    return rec


def reject_package(session: Session, *, package_id: int, username: str, reason: str) -> ApprovalRecord:
    """Reject with a reason that goes back to the editor. Any approver who could sign one of the
    package's requirements may reject it.

    Raises:
        InvalidInput: no reason given.
        ApprovalRefused: the user may not decide on this package.
    """
    if not reason.strip():
        raise InvalidInput("a rejection needs a reason for the editor")
    pkg = packages.get_package(session, package_id)
    user = users.get_user(session, username)
    if Role.APPROVER not in users.roles_of(user):
        raise ApprovalRefused(f"user '{username}' does not have the approver role")
    if pkg.status != PackageStatus.IN_REVIEW.value:
        raise ApprovalRefused(f"the package is '{pkg.status}', not awaiting review")
    state = approval_state(session, package_id)
    grant = choose_grant(user.username, approver_grants(user), state.requirements, auth.area_tree(session))
    rec = packages.add_approval(session, package_id=package_id, manifest_hash=pkg.manifest_hash or "",
                                approver=user.username, decision=Decision.REJECTED, reason=reason.strip())
    rec.level, rec.area_code = grant.level.value, grant.area_code
    packages.set_status(session, pkg, PackageStatus.REJECTED, actor=user.username, reason=reason.strip())
    return rec


# --- Emergency templates: approved once by a province approver, then drafted with one approval ---------------


def template_hash(title: str, body: str, languages: list[str]) -> str:
    return sha256_hex(canonical_json({"title": title, "body": body, "languages": languages}))


def create_template(
    session: Session, *, name: str, title: str, body: str, languages: str | list[str], area_code: str, author: str,
) -> EmergencyTemplateRecord:
    """Store an emergency text for later fast-path use; it needs :func:`approve_template` first.

    Raises:
        InvalidInput: bad text, languages or name, or the author may not draft for ``area_code``.
        NotFound: unknown author or area.
    """
    user = users.get_user(session, author)
    if not name.strip():
        raise InvalidInput("a template needs a name")
    if not auth.can(session, user, "draft.create", area_codes=[area_code]):
        raise InvalidInput(f"user '{author}' may not write drafts for area {area_code}")
    content = validate_content(
        DraftContent(title=title, body=body, area_codes=(area_code,), languages=draft_languages(languages),
                     priority=Priority.KHAN_CAP),
        known_areas={area_code} & set(auth.area_tree(session)),
    )
    check_languages_heard(content.languages, content.area_codes, auth.area_tree(session))
    langs = list(content.languages)
    return templates.add_template(session, name=name.strip(), title=content.title, body=content.body,
                                  languages=langs, area_code=area_code,
                                  content_hash=template_hash(content.title, content.body, langs), author=author)


def approve_template(session: Session, *, template_id: int, username: str) -> EmergencyTemplateRecord:
    """Approve a template once, as a province approver of its area who did not write it.

    Raises:
        ApprovalRefused: not a province approver there, own template, already approved, or retired.
    """
    tpl, user = _template_check(session, template_id, username)
    templates.mark_approved(session, tpl, approver=user.username)
    return tpl


def template_refusal(session: Session, *, template_id: int, username: str) -> str | None:
    """Why ``username`` may not approve the template now, or None when they may (for the button)."""
    try:
        _template_check(session, template_id, username)
    except (ApprovalRefused, NotFound) as exc:
        return str(exc)
    return None


def _template_check(session: Session, template_id: int, username: str) -> tuple[EmergencyTemplateRecord, UserRecord]:
    tpl = templates.get_template(session, template_id)
    user = users.get_user(session, username)
    if tpl.retired_at is not None:
        raise ApprovalRefused(f"template '{tpl.name}' is retired")
    if tpl.approved_by is not None:
        raise ApprovalRefused(f"template '{tpl.name}' was approved by {tpl.approved_by} already")
    if user.username == tpl.created_by:
        raise ApprovalRefused(f"user '{username}' wrote this template and may not approve it (four-eyes rule)")
    if tpl.content_hash != template_hash(tpl.title, tpl.body, list(tpl.languages)):
        raise ApprovalRefused(f"template '{tpl.name}' was changed after it was written; write a new one")
    province = Requirement(AreaLevel.PROVINCE, tpl.area_code)
    if not any(covers(g, province, auth.area_tree(session)) for g in approver_grants(user)):
        raise ApprovalRefused(f"only a province approver for area {tpl.area_code} may approve emergency templates")
    return tpl, user


def may_retire_template(session: Session, tpl: EmergencyTemplateRecord, user: UserRecord) -> bool:
    """Whether ``user`` may retire ``tpl``: a province approver over its area or an admin of its area."""
    province = Requirement(AreaLevel.PROVINCE, tpl.area_code)
    return (any(covers(g, province, auth.area_tree(session)) for g in approver_grants(user))
            or auth.can(session, user, "admin", area_codes=[tpl.area_code]))


def retire_template(session: Session, *, template_id: int, username: str, reason: str,
                    now: datetime | None = None) -> EmergencyTemplateRecord:
    """Retire a template for good: it can no longer be approved or used, and emergencies made from it lose the
    fast path (their packages need the full emergency approval from then on). A province approver or an
    admin of its area may; audited with the reason.

    Raises:
        InvalidInput: no reason, or retired already.
        Forbidden: neither a province approver nor an admin of the template's area.
    """
    if not reason.strip():
        raise InvalidInput("retiring a template needs a reason")
    tpl = templates.get_template(session, template_id)
    user = auth.acting_user(session, username, what="retire templates")
    if not may_retire_template(session, tpl, user):
        raise Forbidden(f"only a province approver or an admin of area {tpl.area_code} may retire template "
                        f"'{tpl.name}'")
    if tpl.retired_at is not None:
        raise InvalidInput(f"template '{tpl.name}' is retired already")
    templates.mark_retired(session, tpl, at=now or datetime.now(UTC))
    audit.record(session, actor=user.username, action="template.retired", entity="template", entity_id=tpl.id,
                 reason=reason.strip(), content_hash=tpl.content_hash)
    return tpl


def draft_from_template(
    session: Session, store: ObjectStore, *, template_id: int, area_codes: list[str], author: str,
) -> DraftRevision:
    """Submit an emergency draft with an approved template's text, for areas inside the template's area.

    The package produced from this revision needs one approval at any level (see ``domain.approvals``);
    any later revision of the draft loses the fast path.

    Raises:
        ApprovalRefused: the template is not approved, or retired.
        InvalidInput: a target outside the template's area, or the usual draft validation.
    """
    tpl = templates.get_template(session, template_id)
    if tpl.approved_by is None or tpl.retired_at is not None:
        raise ApprovalRefused(f"template '{tpl.name}' is not approved for use")
    tree = auth.area_tree(session)
    outside = [c for c in area_codes if c not in tree or not covers(Grant(AreaLevel.COMMUNE, tpl.area_code),
                                                                     Requirement(AreaLevel.COMMUNE, c), tree)]
    if outside:
        raise InvalidInput(f"template '{tpl.name}' may be used only inside area {tpl.area_code}, "
                           f"not for {', '.join(outside)}")
    revision = draft_service.submit_text_draft(session, store, draft_service.DraftRequest(
        title=tpl.title, body=tpl.body, area_codes=area_codes, languages=list(tpl.languages),
        priority=Priority.KHAN_CAP.value, author=author, source_ref=f"template:{tpl.name}"))
    rev_id = drafts.latest_revision_record(session, revision.draft_id).id
    templates.link_draft(session, draft_id=revision.draft_id, template_id=tpl.id, revision_id=rev_id)
    audit.record(session, actor=author, action="draft.from_template", entity="draft", entity_id=revision.draft_id,
                 template_id=tpl.id, content_hash=tpl.content_hash)
    return revision


def withdraw_package(session: Session, *, package_id: int, username: str, reason: str, kill: bool = False) -> None:
    """Take a package off the air: *withdraw* (no longer to be played) or *kill* (it must never have been
    played: legal or safety reasons). Needs approval rights over every target area and a reason.

    Raises:
        InvalidInput: no reason.
        ApprovalRefused: the user may not decide on these areas.
        InvalidTransition: the package is in a state that cannot be withdrawn or killed.
    """
    if not reason.strip():
        raise InvalidInput("withdrawing or killing a bulletin needs a reason")
    pkg = packages.get_package(session, package_id)
    rev = drafts.revision_by_id(session, pkg.revision_id)
    user = users.get_user(session, username)
    if not auth.can(session, user, "package.approve", area_codes=list(rev.content.area_codes)):
        raise ApprovalRefused(f"user '{username}' may not withdraw bulletins for these areas")
    target = PackageStatus.KILLED if kill else PackageStatus.WITHDRAWN
    packages.set_status(session, pkg, target, actor=user.username, reason=reason.strip())
