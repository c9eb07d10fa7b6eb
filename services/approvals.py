"""Approving and rejecting packages."""

from sqlalchemy.orm import Session

from domain.approvals import ApprovalRequest, Decision, Role, check_approval
from domain.errors import ApprovalRefused, InvalidInput
from domain.packages import PackageStatus, VariantStatus
from storage.models import ApprovalRecord
from storage.repositories import drafts, packages, users


def _authors(session: Session, package_id: int) -> frozenset[str]:
    pkg = packages.get_package(session, package_id)
    rev = drafts.revision_by_id(session, pkg.revision_id)
    return frozenset({rev.author, drafts.get_draft(session, pkg.draft_id).author})


def approve_package(
    session: Session, *, package_id: int, username: str, reviewed_hash: str | None = None
) -> ApprovalRecord:
    """Record an approval bound to the package's current manifest hash and move it to APPROVED.

    Args:
        reviewed_hash: the manifest hash (or its first 12+ characters) the approver looked at; if the
            package changed since, the approval is refused.

    Raises:
        ApprovalRefused: role, four-eyes or state forbid it.
        ManifestMismatch: the package changed since review.
    """
    pkg = packages.get_package(session, package_id)
    user = users.get_user(session, username)
    if not pkg.manifest_hash:
        raise ApprovalRefused(f"package {package_id} has no manifest yet (status '{pkg.status}')")
    manifest_hash = check_approval(ApprovalRequest(
        package_status=PackageStatus(pkg.status),
        current_manifest_hash=pkg.manifest_hash,
        reviewed_manifest_hash=reviewed_hash,
        approver=user.username,
        approver_roles=users.roles_of(user),
        authors=_authors(session, package_id),
        ready_variants=sum(v.status is VariantStatus.READY for v in packages.variants_of(session, package_id)),
    ))
    rec = packages.add_approval(session, package_id=package_id, manifest_hash=manifest_hash,
                                approver=user.username, decision=Decision.APPROVED)
    packages.set_status(session, pkg, PackageStatus.APPROVED, actor=user.username, manifest_hash=manifest_hash)
    return rec


def reject_package(session: Session, *, package_id: int, username: str, reason: str) -> ApprovalRecord:
    """Reject with a reason that goes back to the editor.

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
    rec = packages.add_approval(session, package_id=package_id, manifest_hash=pkg.manifest_hash or "",
                                approver=user.username, decision=Decision.REJECTED, reason=reason.strip())
    packages.set_status(session, pkg, PackageStatus.REJECTED, actor=user.username, reason=reason.strip())
    return rec
