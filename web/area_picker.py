"""The area pickers' suggestions: ``GET /areas/suggest?q=`` answers the candidates for what is being typed in
an area field (a code, or a name with or without diacritics) from ``services.areas.suggest``; the fields
carry ``data-area-picker`` and ``/static/area-picker.js`` fills their suggestion lists."""

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session

from services import areas as area_service
from services.runtime import session
from web.access import session_user

router = APIRouter(include_in_schema=False)


def area_code(s: Session, text: str) -> str:
    """The code an area field means (a code as typed, or a name resolved); empty stays empty.

    Raises:
        InvalidInput: a name that matches no area or several.
    """
    return area_service.code_from_option(s, text) if text.strip() else ""
MAX_QUERY = 100


@router.get("/areas/suggest")
def suggest(request: Request, q: str = "") -> Response:
    """``[{"code": "29374", "label": "29374 Xã Châu Thành (Tỉnh Vĩnh Long) — ..."}, ...]`` (at most 12)."""
    with session() as s:
        session_user(request, s)  # signed-in officers only
        found = area_service.suggest(s, q[:MAX_QUERY]) if q.strip() else []
    return JSONResponse([{"code": a.code, "label": label} for a, label in found],
                        headers={"Cache-Control": "private, max-age=300"})
