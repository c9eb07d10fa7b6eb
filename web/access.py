"""Who is asking, and may they: shared by pages and the API."""

from fastapi import Request
from sqlalchemy.orm import Session

from services import auth, credentials
from storage.models import UserRecord
from storage.repositories import users
from web.app import Forbidden, LoginRequired


def session_user(request: Request, s: Session) -> UserRecord:
    """The signed-in user of a page request.

    Raises:
        LoginRequired: nobody is signed in, or the session was revoked (logout, password or role change,
            account disabled) or expired.
    """
    user = credentials.session_user(s, request.session.get("sid"))
    if user is None:
        request.session.pop("sid", None)
        raise LoginRequired()
    request.state.user_view = {"username": user.username, "full_name": user.full_name, "is_demo": user.is_demo,
                               "id": user.id, "roles": sorted(r.value for r in users.roles_of(user))}
    return user


def page_user(request: Request, s: Session, action: str, page: str) -> tuple[UserRecord, set[str] | None]:
    """The signed-in user of a page shown to whoever may do ``action`` somewhere, and the area codes they
    see (None: all).

    Raises:
        Forbidden: the user may do ``action`` nowhere (``page`` names the page refused).
    """
    user = session_user(request, s)
    if not auth.can_anywhere(s, user, action):
        raise Forbidden(page)
    return user, auth.visible_area_codes(s, user)


def require(s: Session, user: UserRecord, action: str, *, area_codes: list[str] | None = None,
            language: str | None = None) -> None:
    """Raise Forbidden unless ``user`` may do ``action`` on these areas (``services.auth.require``)."""
    auth.require(s, user, action, area_codes=list(area_codes or []), language=language)


def visible(s: Session, user: UserRecord, area_codes: list[str]) -> bool:
    """Whether any of the areas is within what the user may see."""
    allowed = auth.visible_area_codes(s, user)
    return allowed is None or bool(allowed & set(area_codes))


def package_areas(s: Session, package_id: int) -> list[str]:
    return auth.package_area_codes(s, package_id)
