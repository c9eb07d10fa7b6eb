"""Administration of destinations, emergency templates and the audit log (see ``web.admin``)."""

from datetime import date

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from domain.approvals import Role
from domain.areas import AreaLevel
from domain.deliveries import DestinationKind
from domain.errors import DomainError, InvalidInput
from services import administration as admin_service
from services import approvals as approval_service
from services import auth
from services.runtime import session
from storage.models import UserRecord
from storage.repositories import templates, users
from web.access import session_user
from web.admin import attempt, done, require_admin, when
from web.app import Forbidden, flash, lang_of, render
from web.area_picker import area_code
from web.i18n import MESSAGES, VN_TZ, translate
from web.officer_text import error_text, language_name
from web.pages import checked_form

router = APIRouter(include_in_schema=False)


def destination_areas(s: Session, user: UserRecord) -> list[tuple[str, str]]:
    """``(code, name)`` of the areas an admin may file a destination under: their own admin areas, or for an
    installation admin every area (code ``""``) and each province."""
    tree = auth.area_tree(s)
    own = {m.area_code for m in users.memberships_of(user) if m.role is Role.ADMIN}
    if None in own:
        provinces = sorted((a for a in tree.values() if a.level is AreaLevel.PROVINCE), key=lambda a: a.name)
        return [("", ""), *((a.code, a.name) for a in provinces)]
    return sorted(((c, tree[c].name) for c in own if c is not None and c in tree), key=lambda x: x[1])


def _destinations_page(request: Request, status_code: int = 200, form: dict[str, str] | None = None,
                       check: dict[str, str] | None = None) -> Response:
    with session() as s:
        require_admin(request, s)
        user = session_user(request, s)  # an area's admin sees the destinations of their areas only
        tree = auth.area_tree(s)
        rows = [{"name": d.name, "kind": d.kind, "url": d.url, "enabled": d.enabled, "created": when(d.created_at),
                 "area": tree[d.area_code].name if d.area_code in tree else (d.area_code or "")}
                for d in admin_service.destinations_for(s, actor=user.username)]
        areas = destination_areas(s, user)
    return render(request, "admin_destinations.html", status_code=status_code, rows=rows, form=form or {},
                  kinds=[k.value for k in DestinationKind], check=check, areas=areas)


@router.get("/admin/destinations")
def destinations_page(request: Request) -> Response:
    return _destinations_page(request)


@router.post("/admin/destinations")
async def destination_add(request: Request) -> Response:
    form = await checked_form(request)
    return attempt(request, lambda s, actor: admin_service.add_destination(
        s, actor=actor, name=form.get("name", ""), kind=form.get("kind", ""), url=form.get("url", ""),
        area=form.get("area", "")),
        lambda: _destinations_page(request, 422, form), "adm_destination_added", "/admin/destinations",
        name=form.get("name", "").strip())


@router.post("/admin/destinations/{name}/test")
async def destination_test(request: Request, name: str) -> Response:
    await checked_form(request)
    with session() as s:
        result = admin_service.check_destination(s, actor=require_admin(request, s), name=name)
    lang = lang_of(request)
    text = translate(lang, "adm_reachable").format(status=result.status) if result.reachable else \
        translate(lang, "adm_unreachable_" + result.problem)
    return _destinations_page(request, check={"name": name, "ok": "1" if result.reachable else "", "text": text})


@router.post("/admin/destinations/{name}/disable")
async def destination_disable(request: Request, name: str) -> Response:
    await checked_form(request)
    with session() as s:
        admin_service.disable_destination(s, actor=require_admin(request, s), name=name)
    return done(request, "adm_destination_disabled", "/admin/destinations", name=name)


@router.post("/admin/destinations/{name}/enable")
async def destination_enable(request: Request, name: str) -> Response:
    await checked_form(request)
    with session() as s:
        admin_service.enable_destination(s, actor=require_admin(request, s), name=name)
    return done(request, "adm_destination_enabled", "/admin/destinations", name=name)


def _templates_page(request: Request, status_code: int = 200, form: dict[str, str] | None = None) -> Response:
    lang = lang_of(request)
    with session() as s:
        user = session_user(request, s)  # administrators write templates, province approvers approve them
        if not (auth.can_anywhere(s, user, "admin") or Role.APPROVER in users.roles_of(user)):
            raise Forbidden("templates")
        me = user.username
        rows = [{"id": t.id, "name": t.name, "title": t.title, "body": t.body, "area": t.area_code,
                 "languages": ", ".join(language_name(lang, c) for c in t.languages), "author": t.created_by,
                 "approved_by": t.approved_by, "approved": when(t.approved_at), "retired": t.retired_at is not None,
                 "may_approve": t.approved_by is None and t.retired_at is None and t.created_by != me and
                 approval_service.template_refusal(s, template_id=t.id, username=me) is None,
                 "may_retire": t.retired_at is None and approval_service.may_retire_template(s, t, user)}
                for t in templates.list_templates(s)]
    return render(request, "admin_templates.html", status_code=status_code, rows=rows, form=form or {})


@router.get("/admin/templates")
def templates_page(request: Request) -> Response:
    return _templates_page(request)


@router.post("/admin/templates")
async def template_add(request: Request) -> Response:
    form = await checked_form(request)
    return attempt(request, lambda s, actor: approval_service.create_template(
        s, name=form.get("name", ""), title=form.get("title", ""), body=form.get("body", ""),
        languages=form.get("languages", "vi") or "vi", area_code=area_code(s, form.get("area", "")), author=actor),
        lambda: _templates_page(request, 422, form), "adm_template_added", "/admin/templates",
        name=form.get("name", "").strip())


@router.post("/admin/templates/{template_id}/approve")
async def template_approve(request: Request, template_id: int) -> Response:
    await checked_form(request)
    try:
        with session() as s:
            user = session_user(request, s)  # a province approver approves; the service checks who
            approval_service.approve_template(s, template_id=template_id, username=user.username)
    except DomainError as exc:
        flash(request, "error", error_text(lang_of(request), exc))
        return _templates_page(request, 403)
    return done(request, "adm_template_approved", "/admin/templates", name=str(template_id))


@router.post("/admin/templates/{template_id}/retire")
async def template_retire(request: Request, template_id: int) -> Response:
    form = await checked_form(request)
    try:
        with session() as s:
            user = session_user(request, s)  # a province approver or an admin of its area; the service checks
            approval_service.retire_template(s, template_id=template_id, username=user.username,
                                             reason=form.get("reason", ""))
    except DomainError as exc:
        flash(request, "error", error_text(lang_of(request), exc))
        return _templates_page(request, 422 if isinstance(exc, InvalidInput) else 403)
    return done(request, "adm_template_retired", "/admin/templates", name=str(template_id))


def _day(value: str, field: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"'{value}' is not a date ({field})") from None


def action_label(lang: str, action: str) -> str:
    """An audit entry's action code in the officer's words (``package.published``: "Phát hành gói tin"); a code
    without a label is "another action". The page keeps the code beside it: the code is the record."""
    key = "aud_" + action.replace(".", "_")
    return translate(lang, key if key in MESSAGES["vi"] else "aud_other")


@router.get("/admin/audit")
def audit_page(request: Request, actor: str = "", action: str = "", page: int = 1) -> Response:
    """The audit log, newest first, filtered by who, what (a prefix) and days (Vietnam time)."""
    form = {"actor": actor, "action": action, "from": request.query_params.get("from", ""),
            "to": request.query_params.get("to", "")}
    verify = request.query_params.get("verify") == "1"
    error = None
    with session() as s:
        me = require_admin(request, s, everywhere=True)
        try:
            flt = admin_service.AuditFilter(actor=actor, action=action, day_from=_day(form["from"], "from"),
                                            day_to=_day(form["to"], "to"), page=max(page, 1))
        except InvalidInput as exc:
            error = error_text(lang_of(request), exc)
            flt = admin_service.AuditFilter(actor=actor, action=action)
        rows, more = admin_service.audit_entries(s, actor=me, flt=flt, tz=VN_TZ)
        lang = lang_of(request)
        entries = [{"seq": r.seq, "at": when(r.at), "action": r.action, "label": action_label(lang, r.action),
                    "actor": translate(lang, "aud_system") if r.actor == "system" else r.actor,
                    "entity": f"{r.entity} {r.entity_id}", "detail": r.detail} for r in rows]
        checked = admin_service.verify_audit(s, actor=me) if verify else None
    return render(request, "admin_audit.html", status_code=422 if error else 200, form=form, rows=entries,
                  more=more, page=flt.page, checked=checked, error=error)
