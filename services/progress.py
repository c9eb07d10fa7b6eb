"""Where a package is on its way, for the live card of the package page: production per language and step,
publication per channel (each HTTP destination's delivery, each MQTT push), the reason of a failure, and
whether the reader may retry it. Retrying a publication is decided and audited here.

Everything is read from the records the flows write (assets, deliveries, channel pushes, audit entries), so
the card needs no extra bookkeeping and says what the database says.
"""

from enum import StrEnum
from typing import Any

from sqlalchemy.orm import Session

from domain.deliveries import DeliveryStatus, OutboxKind, PushStatus
from domain.errors import InvalidTransition
from domain.packages import AssetKind, PackageStatus, VariantStatus
from services import auth
from services.packages import channel_states
from storage.models import UserRecord
from storage.repositories import audit, drafts, outbox, packages


class StepState(StrEnum):
    """Where one production step of one language stands on the live card."""

    DONE = "done"
    BLOCKED = "blocked"  # the variant is blocked (its text needs a translator)
    FAILED = "failed"  # the step the failed production stopped at
    TODO = "todo"  # production still running
    SKIPPED = "skipped"  # produced without it (no board text for loudspeaker-only bulletins...)


# (step, asset kinds that show it is done: any of them)
STEPS: tuple[tuple[str, frozenset[str]], ...] = (
    ("text", frozenset({AssetKind.SCRIPT.value})),
    ("speech", frozenset({AssetKind.RAW_SPEECH.value, AssetKind.AUDIO.value})),
    ("loudness", frozenset({AssetKind.AUDIO.value})),
    ("slides", frozenset({AssetKind.SLIDE.value})),
)
PUBLISHABLE = frozenset({PackageStatus.APPROVED, PackageStatus.SCHEDULED, PackageStatus.PUBLISHED,
                         PackageStatus.CORRECTED})
_MARKS = ("flow.publish", "publish.retry", "publish.failed")
# a channel still on its way (failed: retried by itself); push channels use the same three values
_OPEN = frozenset({DeliveryStatus.PENDING, DeliveryStatus.SENDING, DeliveryStatus.FAILED})


def record_publication_failure(s: Session, package_id: int, reason: str) -> None:
    """Say on the package why its publication run stopped (the package itself stays approved)."""
    audit.record(s, actor="system", action="publish.failed", entity="package", entity_id=package_id,
                 error=reason[:500])


def _publication_failure(s: Session, package_id: int) -> str | None:
    """The reason of the last publication run, if it failed and nothing was tried since."""
    last = None
    for e in audit.entries(s, entity="package", entity_id=package_id):
        if e.action in _MARKS:
            last = e
    return str(last.detail.get("error", "")) if last is not None and last.action == "publish.failed" else None


def stopped_publications(s: Session, package_ids: list[int]) -> set[int]:
    """Which of the packages are approved or scheduled and their last publication run stopped (no destination,
    every destination locked, no device...) with nothing tried since."""
    last = audit.last_actions(s, entity="package", entity_ids=[str(i) for i in package_ids], actions=_MARKS)
    return {pid for pid in package_ids if last.get(str(pid)) == "publish.failed"
            and PackageStatus(packages.get_package(s, pid).status) in (PackageStatus.APPROVED, PackageStatus.SCHEDULED)}


def failed_publications(s: Session, package_ids: list[int]) -> set[int]:
    """Which of the packages have a failed publication: a publication run that stopped
    (:func:`stopped_publications`), or a delivery or push that gave up (retries used up)."""
    out = stopped_publications(s, package_ids)
    for pid in set(package_ids) - out:
        if PackageStatus(packages.get_package(s, pid).status) in PUBLISHABLE \
                and any(_gave_up(c) for c in channel_states(s, pid)):
            out.add(pid)
    return out


def _gave_up(c: dict[str, Any]) -> bool:
    return bool(c["status"] == DeliveryStatus.DEAD or (c["channel"] != "http" and c["status"] == PushStatus.FAILED))


def _production(s: Session, package_id: int, languages: list[str], status: str) -> list[dict[str, Any]]:
    have: dict[str, set[str]] = {}
    for a in packages.assets_of(s, package_id):
        have.setdefault(a.language, set()).add(a.kind)
    variants = {v.language: v for v in packages.variants_of(s, package_id)}
    rows = []
    for lang in languages:
        var = variants.get(lang)
        blocked = var is not None and var.status is VariantStatus.BLOCKED
        steps, failed_marked = [], False
        for step, kinds in STEPS:
            if kinds & have.get(lang, set()):
                state = StepState.DONE
            elif blocked:
                state = StepState.BLOCKED
            elif status == PackageStatus.FAILED and not failed_marked:
                state, failed_marked = StepState.FAILED, True
            elif status == PackageStatus.PRODUCING:
                state = StepState.TODO
            else:
                state = StepState.SKIPPED
            steps.append({"step": step, "state": state.value})
        rows.append({"language": lang, "steps": steps, "blocked_reason": var.blocked_reason if blocked and var else ""})
    return rows


def package_progress(s: Session, package_id: int, user: UserRecord | None = None) -> dict[str, Any]:
    """The live card's data: production steps per language, publication state and channels, retry rights.

    ``live`` says whether anything may still change by itself (the page keeps polling while it is true).

    Raises:
        NotFound: no such package.
    """
    pkg = packages.get_package(s, package_id)
    status = PackageStatus(pkg.status)
    rev = drafts.revision_by_id(s, pkg.revision_id)
    chans = channel_states(s, package_id)
    for c in chans:
        c["retryable"] = _gave_up(c)
    failure = _publication_failure(s, package_id) if status in (PackageStatus.APPROVED, PackageStatus.SCHEDULED) \
        else None
    if status in (PackageStatus.PUBLISHED, PackageStatus.CORRECTED):
        phase = "published"
    elif failure is not None:
        phase = "failed"
    elif status == PackageStatus.SCHEDULED:
        phase = "scheduled"  # held until its embargo: nothing moves before then
    elif status == PackageStatus.APPROVED:
        phase = "publishing"
    else:
        phase = "not_yet"
    areas = list(rev.content.area_codes)
    may_retry = user is not None and status in PUBLISHABLE and (
        phase == "failed" or any(c["retryable"] for c in chans)) and auth.can(s, user, "package.retry",
                                                                             area_codes=areas)
    may_reproduce = user is not None and status == PackageStatus.FAILED and auth.can(
        s, user, "draft.create", area_codes=areas)
    live = status == PackageStatus.PRODUCING or phase == "publishing" or any(c["status"] in _OPEN for c in chans)
    return {"id": pkg.id, "draft_id": pkg.draft_id, "status": status.value, "error": pkg.error,
            "production": _production(s, package_id, list(rev.content.languages), status),
            "manifest": bool(pkg.manifest_hash), "phase": phase, "failure": failure, "channels": chans,
            "may_retry": may_retry, "may_reproduce": may_reproduce, "live": live}


def retry_publication(s: Session, package_id: int, *, actor: str) -> int:
    """Send a package again after a failure: dead deliveries get a fresh attempt budget (same idempotency keys,
    so a receiver that did get it is not given it twice); the caller then starts the publish flow, which also
    pushes an emergency whose MQTT push failed.

    Returns:
        How many dead deliveries were reopened.

    Raises:
        Forbidden: the actor is no approver or admin of every target area.
        InvalidTransition: the package is not approved or published.
        NotFound: no such package or actor.
    """
    pkg = packages.get_package(s, package_id)
    auth.require_actor(s, actor, "package.retry", area_codes=auth.package_area_codes(s, package_id),
                       what="retry a publication")
    if PackageStatus(pkg.status) not in PUBLISHABLE:
        raise InvalidTransition("package", pkg.status, "published")
    reopened = outbox.reopen_dead(s, package_id, actor=actor, kind=OutboxKind.DELIVERY)
    audit.record(s, actor=actor, action="publish.retry", entity="package", entity_id=package_id, reopened=reopened)
    return reopened
