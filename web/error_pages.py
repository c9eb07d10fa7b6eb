"""Errors of the HTTP layer (unknown URL, a path that is not a number, a body too large) as Vietnamese pages
for people; the JSON API keeps FastAPI's JSON answers."""

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler, request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException

from web.i18n import translate

_KEYS = {404: "err_page_not_found", 405: "err_method", 413: "err_too_large", 400: "err_bad_request"}
_FALLBACK = {403: "err_generic_refused", 404: "err_generic_not_found", 409: "err_generic_state",
             422: "err_generic_input"}


def officer_error(lang: str, message: str, status: int) -> str:
    """What error.html shows: a message of the UI catalogue as it is, any other (a service's English
    one-liner) as the Vietnamese sentence for it, or for its status when it has none."""
    from web.i18n import MESSAGES
    from web.officer_text import officer_message

    if message in MESSAGES.get(lang, {}).values():
        return message
    return officer_message(lang, message, fallback=_FALLBACK.get(status, "err_generic"))


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def error_page(request: Request, status: int, message: str, *, link: str | None = None,
               link_text: str | None = None) -> Response:
    from web.app import render

    return render(request, "error.html", status_code=status, status=status, message=message, link=link,
                  link_text=link_text, final=True)


def add_error_text(templates: Any) -> None:
    """Let error.html say any page's error the officer's way (see :func:`officer_error`), and forms name
    languages in the reader's language."""
    from domain.languages import LANGUAGES
    from web.officer_text import language_name

    templates.env.globals["officer_error"] = officer_error
    templates.env.globals["language_choices"] = lambda lang: [(code, language_name(lang, code)) for code in LANGUAGES]


def add_html_error_pages(app: FastAPI) -> None:
    """Register the handlers: pages get :func:`error_page`, ``/api/`` gets FastAPI's JSON."""

    async def _http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if _is_api(request) or exc.status_code < 400:
            return await http_exception_handler(request, exc)
        from web.app import lang_of

        status = 413 if "exceeded maximum size" in str(exc.detail) else exc.status_code
        key = _KEYS.get(status, "err_server" if status >= 500 else "err_bad_request")
        return error_page(request, status, translate(lang_of(request), key))

    async def _validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        if _is_api(request):
            return await request_validation_exception_handler(request, exc)
        from web.app import lang_of

        # A page URL with a malformed id ("/drafts/abc") names nothing that exists.
        return error_page(request, 404, translate(lang_of(request), "err_page_not_found"))

    async def _crash(request: Request, exc: Exception) -> Response:
        """An unexpected failure: a Vietnamese page (or the API's JSON), never a traceback."""
        from fastapi.responses import JSONResponse

        from web.app import lang_of

        if _is_api(request):
            return JSONResponse({"error": "internal server error"}, status_code=500)
        return error_page(request, 500, translate(lang_of(request), "err_server"))

    app.add_exception_handler(HTTPException, _http)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(Exception, _crash)
