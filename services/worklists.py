"""What waits for a person: packages they may approve now, variants they may translate, failed deliveries.
The web menu shows the counts; the queue pages list the items (same functions, so they always agree)."""

from sqlalchemy.orm import Session

from domain.approvals import Role
from services import approvals as approval_service
from services import outbox as outbox_service
from services import translations as translation_service
from storage.models import UserRecord
from storage.repositories import users


def approval_queue(s: Session, user: UserRecord) -> list[dict[str, object]]:
    """The approval queue (:func:`services.approvals.approval_queue`, the one the pages and the API show) as
    rows for the menu and the queue page."""
    return [{"id": e.package_id, "title": e.title, "priority": e.priority, "areas": ", ".join(e.area_codes)}
            for e in approval_service.approval_queue(s, user.username)]


def failed_deliveries(s: Session, user: UserRecord) -> int:
    """Dead deliveries and notices (retries used up) in the user's areas, for the administrators who may resend
    them; 0 for others."""
    return outbox_service.dead_count(s, user)


def menu_counts(s: Session, user: UserRecord) -> dict[str, int]:
    """The numbers next to the menu's links: to approve, to translate, failed deliveries."""
    roles = users.roles_of(user)
    to_translate = len(translation_service.pending_translations(s, user.username)) \
        if roles & {Role.TRANSLATOR, Role.EDITOR} else 0
    return {"approve": len(approval_queue(s, user)), "translate": to_translate,
            "failed": failed_deliveries(s, user)}
