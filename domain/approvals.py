"""Approvals: a decision by a person with the right role, bound to one manifest hash.

Approval policy (Circular 39/2020 priorities, Wagtail-style chains per subtree). Each package has one
:class:`Requirement` per province it targets: a minimum approver level and the area an approver's subtree
must contain. The levels are the area tree's own (``domain.areas.tree_levels``): province and commune for
today's two-tier units, with district between them only in a legacy tree built before July 2025. The level
follows the targets' scope, found as their nearest common area:

- one commune (normal or priority item), or hamlets of one commune: a commune approver for that commune;
- several communes under one area of an intermediate level (a district of a legacy tree), or that area
  itself: an approver of that level for that area;
- several communes of one province in a two-tier tree, the whole province, or several provinces: a
  province approver of each province;
- an emergency (khẩn cấp): a province approver, whatever the scope;
- an emergency drafted unchanged from a pre-approved template (the fast path): one approver at any
  level whose subtree contains the targets.

A higher level stands in for a lower one inside its subtree (a province approver may approve a commune
item of one of its communes; in a legacy tree a district approver may too). A package is approved when
every requirement is covered by an approval of its current manifest hash.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from domain.areas import Area, AreaLevel, ancestors, approval_levels, approval_scope, tree_levels
from domain.errors import ApprovalRefused, InvalidInput, ManifestMismatch
from domain.packages import PackageStatus
from domain.priority import Priority


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
    if status not in (PackageStatus.APPROVED, PackageStatus.SCHEDULED, PackageStatus.PUBLISHED):
        raise ApprovalRefused(f"the package is '{status.value}'; only approved packages are published")
    if manifest_hash not in approved_hashes:
        raise ApprovalRefused("no approval exists for the package's current manifest")


@dataclass(frozen=True, slots=True, order=True)
class Requirement:
    """One sign-off a package needs: an approver at ``level`` or above whose subtree contains ``area_code``."""

    level: AreaLevel
    area_code: str


@dataclass(frozen=True, slots=True, order=True)
class Grant:
    """The capacity in which someone approves: their approver membership's level and area (None: all)."""

    level: AreaLevel
    area_code: str | None


def _chain(code: str, areas: Mapping[str, Area]) -> list[str]:
    """``code`` and its ancestors, province first."""
    if code not in areas:
        raise InvalidInput(f"unknown area code '{code}'")
    return [a.code for a in reversed(ancestors(code, areas))] + [code]


def _common_area(codes: Iterable[str], areas: Mapping[str, Area]) -> str:
    """The deepest area containing every code (all codes must share a province)."""
    chains = [_chain(c, areas) for c in codes]
    common = chains[0][0]
    for depth in range(min(len(c) for c in chains)):
        if len({c[depth] for c in chains}) != 1:
            break
        common = chains[0][depth]
    return common


def required_approvals(
    priority: Priority, area_codes: Sequence[str], areas: Mapping[str, Area], *, fast_path: bool = False
) -> tuple[Requirement, ...]:
    """The sign-offs a package targeting ``area_codes`` needs (see the module docstring).

    Args:
        fast_path: the package is an emergency drafted unchanged from an approved template.

    Raises:
        InvalidInput: no target, or an unknown area code.
    """
    if not area_codes:
        raise InvalidInput("a package without target areas cannot be approved")
    by_province: dict[str, list[str]] = {}
    for code in area_codes:
        by_province.setdefault(_chain(code, areas)[0], []).append(code)
    requirements = []
    for province, codes in sorted(by_province.items()):
        scope = approval_scope(_common_area(codes, areas), areas)
        if fast_path:  # the tree's lowest approval level: any approver whose subtree holds the targets
            requirements.append(Requirement(approval_levels(tree_levels(areas))[-1], scope.code))
        elif priority is Priority.KHAN_CAP or len(by_province) > 1:
            requirements.append(Requirement(AreaLevel.PROVINCE, province))
        else:
            requirements.append(Requirement(scope.level, scope.code))
    return tuple(requirements)


def covers(grant: Grant, requirement: Requirement, areas: Mapping[str, Area]) -> bool:
    """True when ``grant`` has the level and the area to satisfy ``requirement``."""
    if grant.level.rank > requirement.level.rank:
        return False
    return grant.area_code is None or grant.area_code in _chain(requirement.area_code, areas)


def outstanding(
    requirements: Iterable[Requirement], given: Iterable[Grant], areas: Mapping[str, Area]
) -> tuple[Requirement, ...]:
    """The requirements no grant in ``given`` (approvals of the current manifest) covers yet."""
    given = list(given)
    return tuple(r for r in requirements if not any(covers(g, r, areas) for g in given))


def choose_grant(
    approver: str, grants: Iterable[Grant], remaining: Sequence[Requirement], areas: Mapping[str, Area]
) -> Grant:
    """The approver's grant that covers the most outstanding requirements (the highest level on a tie).

    Raises:
        ApprovalRefused: nothing is outstanding, or no grant reaches an outstanding requirement.
    """
    if not remaining:
        raise ApprovalRefused("every required approval of this manifest has been given")
    ranked = sorted(((sum(covers(g, r, areas) for r in remaining), -g.level.rank, g) for g in grants),
                    key=lambda t: (t[0], t[1]), reverse=True)
    if not ranked or ranked[0][0] == 0:
        needed = ", ".join(f"{r.level.value} approver for {r.area_code}" for r in remaining)
        raise ApprovalRefused(f"user '{approver}' has no approver membership for this package (needs: {needed})")
    return ranked[0][2]
