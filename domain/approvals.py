"""Approvals: a decision by a person with the right role, bound to one manifest hash."""

from dataclasses import dataclass
from enum import StrEnum

from domain.errors import ApprovalRefused, InvalidInput, ManifestMismatch
from domain.packages import PackageStatus


class Decision(StrEnum):
    APPROVED = "approved"
    REJECTED = "rejected"


class Role(StrEnum):
    EDITOR = "editor"
    TRANSLATOR = "translator"
    APPROVER = "approver"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class ApprovalRequest:
    """Everything needed to decide whether ``approver`` may approve the package now."""

    package_status: PackageStatus
    current_manifest_hash: str
    reviewed_manifest_hash: str | None  # the hash the approver looked at; None means "the current one"
    approver: str
    approver_roles: frozenset[Role]
    authors: frozenset[str]  # people who wrote the draft or any variant of this package
    ready_variants: int = 1  # variants with content; a package where every language is blocked has nothing to air


def check_approval(req: ApprovalRequest) -> str:
    """Return the manifest hash to bind the approval to, or raise why it may not be given.

    Raises:
        ApprovalRefused: wrong role, own work (four-eyes), or the package is not awaiting review.
        ManifestMismatch: the package changed since the approver reviewed it.
    """
    if Role.APPROVER not in req.approver_roles:
        raise ApprovalRefused(f"user '{req.approver}' does not have the approver role")
    if req.approver in req.authors:
        raise ApprovalRefused(f"user '{req.approver}' wrote this content and may not approve it (four-eyes rule)")
    if req.package_status is not PackageStatus.IN_REVIEW:
        raise ApprovalRefused(f"the package is '{req.package_status.value}', not awaiting review")
    if req.ready_variants < 1:
        raise ApprovalRefused("no language variant of this package is ready (all await translation or a voice)")
    if req.reviewed_manifest_hash is not None and len(req.reviewed_manifest_hash) < 12:
        raise InvalidInput("give at least the first 12 characters of the reviewed manifest hash")
    if req.reviewed_manifest_hash is not None and not req.current_manifest_hash.startswith(
        req.reviewed_manifest_hash.lower()
    ):
        raise ManifestMismatch(
            f"the package changed since review: reviewed manifest {req.reviewed_manifest_hash[:12]}, "
            f"current {req.current_manifest_hash[:12]}; review it again"
        )
    return req.current_manifest_hash


def check_publishable(*, status: PackageStatus, manifest_hash: str, approved_hashes: set[str]) -> None:
    """A package is published only when an approval exists for exactly its current manifest.

    Raises:
        ApprovalRefused: not approved, or in a state that cannot be published.
    """
    if status not in (PackageStatus.APPROVED, PackageStatus.PUBLISHED):
        raise ApprovalRefused(f"the package is '{status.value}'; only approved packages are published")
    if manifest_hash not in approved_hashes:
        raise ApprovalRefused("no approval exists for the package's current manifest")
