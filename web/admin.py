"""Administration in the browser: accounts and their area roles, signing keys (this module); destinations,
emergency templates and the audit log (``web.admin_ops``). Every change goes through
``services.administration`` (or the approvals service), which checks the ``admin`` action per area."""

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from domain.approvals import Role
from domain.errors import DomainError
from services import administration as admin_service
from services import auth
from services.runtime import session
from web.access import session_user
from web.app import Forbidden, flash, lang_of, render
from web.area_labels import names_by_code
from web.area_picker import area_code
from web.i18n import VN_TZ, translate
from web.officer_text import error_text, language_name
from web.pages import checked_form

router = APIRouter(include_in_schema=False)


def require_admin(request: Request, s: Session, *, everywhere: bool = False) -> str:
    """The signed-in user's name, if they administer at least some areas (the services then check each
    change's area), or with ``everywhere`` the whole installation (keys, models, the audit log)."""
    user = session_user(request, s)
    if not (auth.can(s, user, "admin") if everywhere else auth.can_anywhere(s, user, "admin")):
        raise Forbidden("admin")
    return user.username


def when(at: datetime | None) -> str:
    return at.replace(tzinfo=at.tzinfo or UTC).astimezone(VN_TZ).strftime("%H:%M %d/%m/%Y") if at else ""


def done(request: Request, key: str, url: str, **fields: str) -> Response:
    flash(request, "info", translate(lang_of(request), key).format(**fields))
    return RedirectResponse(url, status_code=303)


def attempt(request: Request, change: Callable[[Session, str], object], refused: Callable[[], Response],
            key: str, url: str, **fields: str) -> Response:
    """Run ``change(session, administrator)``; on a refusal show ``refused()`` (the form as typed) with the
    reason, else go to ``url`` saying ``key``."""
    try:
        with session() as s:
            change(s, require_admin(request, s))
    except DomainError as exc:
        flash(request, "error", error_text(lang_of(request), exc))
        return refused()
    return done(request, key, url, **fields)


@router.get("/admin")
def admin_index(request: Request) -> Response:
    with session() as s:
        require_admin(request, s)
        everywhere = auth.can(s, session_user(request, s), "admin")
    return render(request, "admin_index.html", everywhere=everywhere)


def _users_page(request: Request, status_code: int = 200, form: dict[str, str] | None = None) -> Response:
    with session() as s:
        actor = require_admin(request, s)
        rows = admin_service.list_users(s, actor=actor)
        names = names_by_code(s, [m["area"] for u in rows for m in u["memberships"] if m["area"]])
    lang = lang_of(request)
    for u in rows:
        for m in u["memberships"]:
            m["label"] = " · ".join(x for x in (
                translate(lang, "role_" + m["role"]), names.get(m["area"], m["area"]) or translate(lang, "every_area"),
                language_name(lang, m["extra"]) if m["role"] == "translator" and m["extra"] != "*"
                else (translate(lang, "lvl_" + m["extra"]) if m["role"] == "approver" and m["extra"] else "")) if x)
    return render(request, "admin_users.html", status_code=status_code, rows=rows, form=form or {},
                  roles=[r.value for r in Role])


@router.get("/admin/users")
def users_page(request: Request) -> Response:
    return _users_page(request)


@router.post("/admin/users")
async def user_create(request: Request) -> Response:
    form = await checked_form(request)

    def create(s: Session, actor: str) -> None:
        m = admin_service.membership_from_form(form.get("role", ""), area_code(s, form.get("area", "")),
                                               form.get("extra", ""))
        admin_service.create_user(s, actor=actor, username=form.get("username", ""),
                                  full_name=form.get("full_name", ""), membership=m, password=form.get("password", ""))

    # refused: the form again with what was typed, but never the password
    return attempt(request, create, lambda: _users_page(request, 422, {k: v for k, v in form.items()
                                                                     if k != "password"}),
                   "adm_user_created", "/admin/users", username=form.get("username", "").strip())


async def _role_change(request: Request, username: str, grant: bool) -> Response:
    form = await checked_form(request)
    try:
        with session() as s:
            actor = require_admin(request, s)
            if form.get("spec"):  # a listed membership's remove button
                from domain.users import parse_membership

                m = parse_membership(form["spec"])
            else:
                m = admin_service.membership_from_form(form.get("role", ""), area_code(s, form.get("area", "")),
                                                       form.get("extra", ""))
            if grant:
                admin_service.grant_role(s, actor=actor, username=username, membership=m)
            else:
                admin_service.revoke_role(s, actor=actor, username=username, membership=m)
    except DomainError as exc:
        flash(request, "error", error_text(lang_of(request), exc))
        return _users_page(request, 422)
    return done(request, "adm_role_granted" if grant else "adm_role_revoked", "/admin/users", username=username)


@router.post("/admin/users/{username}/grant")
async def user_grant(request: Request, username: str) -> Response:
    return await _role_change(request, username, True)


@router.post("/admin/users/{username}/revoke")
async def user_revoke(request: Request, username: str) -> Response:
    return await _role_change(request, username, False)


@router.post("/admin/users/{username}/active")
async def user_active(request: Request, username: str) -> Response:
    form = await checked_form(request)
    active = form.get("active") == "1"
    return attempt(request, lambda s, actor: admin_service.set_user_active(s, actor=actor, username=username,
                                                                           active=active),
                   lambda: _users_page(request, 422), "adm_user_enabled" if active else "adm_user_disabled",
                   "/admin/users", username=username)


@router.get("/admin/keys")
def keys_page(request: Request) -> Response:
    """The installation's signing keys, each with the fingerprint receivers compare when they pin it."""
    from services import signing

    with session() as s:
        require_admin(request, s, everywhere=True)
    now = datetime.now(UTC)
    rows = [{"key_id": k.key_id, "fingerprint": fingerprint(k.public_key), "created": when(k.created_at),
             "not_after": when(k.not_after), "current": k.not_after is None} for k in signing.listed_keys(now)]
    return render(request, "admin_keys.html", rows=rows)


def fingerprint(public_key: bytes) -> str:
    """SHA-256 of the raw public key, in colon-separated pairs (as SSH and TLS tools show them)."""
    digest = hashlib.sha256(public_key).hexdigest().upper()
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


@router.post("/admin/keys/rotate")
async def keys_rotate(request: Request) -> Response:
    """Rotate the signing key (the form asks for confirmation first)."""
    form = await checked_form(request)
    if form.get("confirm") != "1":
        flash(request, "error", translate(lang_of(request), "adm_rotate_unconfirmed"))
        return RedirectResponse("/admin/keys", status_code=303)
    with session() as s:
        key_id = admin_service.rotate_signing_key(s, actor=require_admin(request, s, everywhere=True))
    return done(request, "adm_key_rotated", "/admin/keys", key_id=key_id)


def _models_page(request: Request, verify: bool) -> Response:
    lang = lang_of(request)
    with session() as s:
        rows = admin_service.models_overview(s, actor=require_admin(request, s, everywhere=True), verify=verify)
    for r in rows:
        names = [language_name(lang, c) for c in r["languages"]]
        r["language_names"] = ", ".join(names[:6]) + (f" (+{len(names) - 6})" if len(names) > 6 else "")
    return render(request, "admin_models.html", rows=rows, verified=verify)


@router.get("/admin/models")
def models_page(request: Request) -> Response:
    return _models_page(request, verify=False)


@router.post("/admin/models/verify")
async def models_verify(request: Request) -> Response:
    await checked_form(request)
    return _models_page(request, verify=True)
