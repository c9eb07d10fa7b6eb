"""Errors of the HTTP layer (unknown URL, a path that is not a number, a body too large) as Vietnamese pages
for people; the JSON API keeps FastAPI's JSON answers."""

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler, request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException

from web.i18n import translate

_KEYS = {404: "err_page_not_found", 405: "err_method", 413: "err_too_large", 400: "err_bad_request"}


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def error_page(request: Request, status: int, message: str, *, link: str | None = None,
               link_text: str | None = None) -> Response:
    from web.app import render

    return render(request, "error.html", status_code=status, status=status, message=message, link=link,
                  link_text=link_text)


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

    app.add_exception_handler(HTTPException, _http)
    app.add_exception_handler(RequestValidationError, _validation)
