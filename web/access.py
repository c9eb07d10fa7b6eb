"""Who is asking, and may they: shared by pages and the API."""

from fastapi import Request
from sqlalchemy.orm import Session

from services import auth
from storage.models import UserRecord
from storage.repositories import packages, users
from web.app import Forbidden, LoginRequired


def session_user(request: Request, s: Session) -> UserRecord:
    """The signed-in user of a page request.

    Raises:
        LoginRequired: nobody is signed in, or the account was disabled since.
    """
    uid = request.session.get("uid")
    user = s.get(UserRecord, uid) if isinstance(uid, int) else None
    if user is None or not user.active:
        request.session.pop("uid", None)
        raise LoginRequired()
    request.state.user_view = {"username": user.username, "full_name": user.full_name, "is_demo": user.is_demo,
                               "id": user.id, "roles": sorted(r.value for r in users.roles_of(user))}
    return user


def require(s: Session, user: UserRecord, action: str, *, area_codes: list[str] | None = None,
            language: str | None = None) -> None:
    """Raise Forbidden unless ``user`` may do ``action`` on these areas."""
    if not auth.can(s, user, action, area_codes=list(area_codes or []), language=language):
        raise Forbidden(action)


def visible(s: Session, user: UserRecord, area_codes: list[str]) -> bool:
    """Whether any of the areas is within what the user may see."""
    allowed = auth.visible_area_codes(s, user)
    return allowed is None or bool(allowed & set(area_codes))


def package_areas(s: Session, package_id: int) -> list[str]:
    from storage.repositories import drafts

    pkg = packages.get_package(s, package_id)
    return list(drafts.revision_by_id(s, pkg.revision_id).content.area_codes)
