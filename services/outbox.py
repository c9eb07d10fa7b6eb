"""The outbox as an administrator sees it (web page, CLI ``bantin deliveries``): the queue and dead letters of
the packages in their areas, and resends. Permissions and audit entries are decided here; the rows are kept by
``storage.repositories.outbox`` and sent by ``tasks.outbox``."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from domain.deliveries import DeliveryStatus, OutboxAction, OutboxKind
from domain.errors import Forbidden, InvalidInput
from domain.packages import PackageStatus
from services import auth
from storage.models import UserRecord
from storage.repositories import outbox, packages


@dataclass(frozen=True, slots=True)
class QueueRow:
    id: int
    kind: str
    action: str
    package_id: int
    destination: str
    status: str
    attempts: int
    receipt_id: str
    last_error: str
    updated_at: datetime


def _admin_somewhere(session: Session, username: str) -> UserRecord:
    user = auth.acting_user(session, username, what="see or resend deliveries")
    if not auth.can_anywhere(session, user, "admin"):
        raise Forbidden(f"user '{user.username}' administers no area")
    return user


def queue(session: Session, *, username: str, dead_only: bool = False, package_id: int | None = None,
          limit: int = 500) -> list[QueueRow]:
    """Outbox rows (deliveries and retraction notices), newest first, of the packages whose areas the user
    administers (another province's queue is neither shown nor counted).

    Raises:
        Forbidden: the user administers no area.
    """
    user = _admin_somewhere(session, username)
    everywhere = auth.can(session, user, "admin")
    areas_of: dict[int, bool] = {}
    rows: list[QueueRow] = []
    before: int | None = None
    while len(rows) < limit:  # filtered by area page by page, so the limit counts rows the user may see
        page = outbox.listing(session, status=DeliveryStatus.DEAD if dead_only else None, package_id=package_id,
                              limit=limit, before_id=before)
        for d, t in page:
            if d.package_id not in areas_of:
                areas_of[d.package_id] = everywhere or auth.can(
                    session, user, "admin", area_codes=auth.package_area_codes(session, d.package_id))
            if areas_of[d.package_id] and len(rows) < limit:
                rows.append(QueueRow(d.id, d.kind, d.action, d.package_id, t.name, d.status, d.attempts,
                                     d.receipt_id, d.last_error, d.updated_at))
        if len(page) < limit:
            break
        before = page[-1][0].id
    return rows


def dead_count(session: Session, user: UserRecord) -> int:
    """Dead rows an administrator may resend (0 for others): the number beside the menu's link."""
    if not auth.can_anywhere(session, user, "admin"):
        return 0
    if auth.can(session, user, "admin"):
        return outbox.count(session, status=DeliveryStatus.DEAD)
    return len(queue(session, username=user.username, dead_only=True))


def resend(session: Session, *, username: str, outbox_id: int) -> tuple[int, str]:
    """Reopen one dead row with a fresh attempt budget (same idempotency key), as an admin of its package's
    areas; audited.

    Returns:
        ``(package_id, flow)``: the flow to run so it is sent (``publish`` or ``retract``).

    Raises:
        NotFound: no such row. Forbidden: not an admin there. InvalidInput: it is not dead.
    """
    user = auth.acting_user(session, username, what="resend deliveries")
    rec = outbox.get(session, outbox_id)
    auth.require(session, user, "admin", area_codes=auth.package_area_codes(session, rec.package_id))
    kind = _owed_kind(session, rec.package_id)
    if rec.kind != kind:
        raise InvalidInput(f"package {rec.package_id} was withdrawn or killed: its deliveries are not sent again"
                           if kind is OutboxKind.RETRACTION else
                           f"package {rec.package_id} is not withdrawn or killed: no notice is owed")
    outbox.reopen(session, rec, actor=user.username)
    return rec.package_id, _FLOW[kind]


def resend_package(session: Session, *, username: str, package_id: int) -> tuple[int, str]:
    """Reopen what a package still owes its destinations, as an admin of its areas (audited per row): its dead
    deliveries, or once it is withdrawn or killed its dead notices (never its deliveries).

    Returns:
        ``(how many were reopened, the flow to run)``.
    """
    user = auth.acting_user(session, username, what="resend deliveries")
    auth.require(session, user, "admin", area_codes=auth.package_area_codes(session, package_id))
    kind = _owed_kind(session, package_id)
    return outbox.reopen_dead(session, package_id, actor=user.username, kind=kind), _FLOW[kind]


def retraction_owed(session: Session, package_id: int) -> bool:
    """Whether the package is withdrawn or killed: then its destinations are owed a notice and its devices drop
    it (the retract flow goes on); otherwise there is nothing to retract."""
    return _owed_kind(session, package_id) is OutboxKind.RETRACTION


def prepare_retractions(session: Session, package_id: int) -> list[int]:
    """A withdrawal or kill notice (once) for every destination that was delivered this package, if it is
    withdrawn or killed.

    Returns:
        IDs of the notices still to send (neither delivered nor given up).
    """
    pkg = packages.get_package(session, package_id)
    if pkg.status not in (PackageStatus.WITHDRAWN, PackageStatus.KILLED):
        return []
    action = OutboxAction.KILL if pkg.status == PackageStatus.KILLED else OutboxAction.WITHDRAW
    todo = []
    for d, _t in outbox.of_package(session, package_id, OutboxKind.DELIVERY):
        if d.status != DeliveryStatus.DELIVERED:
            continue
        r = outbox.ensure(session, package_id=package_id, destination_id=d.destination_id, action=action,
                          manifest_hash=pkg.manifest_hash or "")
        if r.status not in (DeliveryStatus.DELIVERED, DeliveryStatus.DEAD):
            todo.append(r.id)
    return todo


_FLOW = {OutboxKind.DELIVERY: "publish", OutboxKind.RETRACTION: "retract"}


def _owed_kind(session: Session, package_id: int) -> OutboxKind:
    status = packages.get_package(session, package_id).status
    return OutboxKind.RETRACTION if status in (PackageStatus.WITHDRAWN, PackageStatus.KILLED) else OutboxKind.DELIVERY
