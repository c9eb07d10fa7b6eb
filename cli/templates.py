"""``bantin template``: emergency (khẩn cấp) templates approved in advance for the fast path.

A province approver approves a template's text once; an emergency draft made from it, unchanged, then
needs a single approval at any level, so a flood or fire warning can air within minutes.
"""

from pathlib import Path
from typing import Annotated

import typer

from cli.common import AsUser, echo, ensure_db, need_user
from domain.drafts import split_title_body
from services import approvals as approval_service
from services import areas as area_service
from services import drafts as draft_service
from services.runtime import object_store, session
from storage.repositories import templates

templates_app = typer.Typer(help="Pre-approved emergency templates (fast path).", no_args_is_help=True)



@templates_app.command("add")
def template_add(
    file: Annotated[Path, typer.Argument(help="UTF-8 text: first line is the title, the rest the body.")],
    name: Annotated[str, typer.Option(help="Short name, e.g. 'bao-so-9'.")],
    area: Annotated[str, typer.Option(help="Area (code or name) the template may be used in (and below).")],
    lang: Annotated[str, typer.Option(help="Languages, e.g. vi,km.")] = "vi",
    as_user: AsUser = "",
) -> None:
    """Write an emergency template; a province approver must approve it before use."""
    ensure_db()
    title, body = split_title_body(draft_service.read_text_file(file))
    with session() as s:
        tpl = approval_service.create_template(s, name=name, title=title, body=body, languages=lang,
                                               area_code=area_service.code_from_option(s, area),
                                               author=need_user(as_user))
        echo(f"template {tpl.id} '{tpl.name}' written; approve it with: bantin template approve {tpl.id}")


@templates_app.command("approve")
def template_approve(template_id: int, as_user: AsUser = "") -> None:
    """Approve a template (province approver of its area, not its author)."""
    ensure_db()
    with session() as s:
        tpl = approval_service.approve_template(s, template_id=template_id, username=need_user(as_user))
        echo(f"template {tpl.id} '{tpl.name}' approved by {tpl.approved_by}")


@templates_app.command("retire")
def template_retire(
    template_id: int,
    reason: Annotated[str, typer.Option(help="Why it may no longer be used; kept in the audit log.")],
    as_user: AsUser = "",
) -> None:
    """Retire a template for good (province approver or admin of its area): no more use, and its drafts lose
    the fast path."""
    ensure_db()
    with session() as s:
        tpl = approval_service.retire_template(s, template_id=template_id, username=need_user(as_user), reason=reason)
        echo(f"template {tpl.id} '{tpl.name}' retired")


@templates_app.command("use")
def template_use(
    template_id: int,
    area: Annotated[str, typer.Option(help="Target area code(s), comma-separated, or names separated by ';', "
                                           "inside the template's area.")],
    as_user: AsUser = "",
) -> None:
    """Submit an emergency draft from an approved template (then: bantin produce DRAFT_ID)."""
    ensure_db()
    with session() as s:
        rev = approval_service.draft_from_template(s, object_store(), template_id=template_id,
                                                   area_codes=area_service.codes_from_option(s, area),
                                                   author=need_user(as_user))
        echo(f"emergency draft {rev.draft_id} submitted from template {template_id}; "
             f"next: bantin produce {rev.draft_id}")


@templates_app.command("list")
def template_list() -> None:
    """List templates with their approval state."""
    ensure_db()
    with session() as s:
        for t in templates.list_templates(s):
            approved = f"approved by {t.approved_by}" if t.approved_by else "awaiting approval"
            state = "retired" if t.retired_at else approved
            echo(f"{t.id:>3}  {t.name:<20} {t.area_code:>5}  {state:<28} {t.title}")
