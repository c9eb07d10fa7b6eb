"""Reading POSTed forms: the CSRF check, the size of text fields, and where a login may send the user."""

from fastapi import Request

from web.app import Forbidden
from web.security import csrf_matches

# Starlette refuses a multipart text field over 1 MB before any handler runs, so what was typed is lost; a
# larger cap lets the services refuse an over-long text with a message while the form is shown again.
MAX_FORM_FIELD_BYTES = 8 * 1024 * 1024


def safe_next(target: str | None) -> str:
    """A page of this site to return to after login: a relative path only (no scheme, host or '//')."""
    target = (target or "").strip()
    if not target.startswith("/") or target.startswith(("//", "/\\")) or any(c in target for c in "\r\n\\"):
        return "/"
    return target


async def checked_form(request: Request) -> dict[str, str]:
    """The POSTed form, after checking its CSRF token against the session's."""
    form = await request.form(max_part_size=MAX_FORM_FIELD_BYTES)
    if not csrf_matches(request.session.get("csrf"), str(form.get("csrf", ""))):
        raise Forbidden("csrf")
    return {k: str(v) for k, v in form.items() if isinstance(v, str)}
