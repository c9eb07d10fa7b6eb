"""``bantin draft``: submit and list drafts."""

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from cli.common import AsUser, echo, ensure_db
from domain.drafts import Channel
from domain.errors import InvalidInput
from services import drafts as draft_service
from services.runtime import object_store, session
from storage.repositories import drafts, packages

draft_app = typer.Typer(help="Submit and list drafts.", no_args_is_help=True)


def _parse_time(value: str | None, what: str) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{what} '{value}' is not an ISO date-time like 2026-12-05T07:00+07:00") from None
    if parsed.tzinfo is None:
        raise InvalidInput(f"{what} '{value}' needs a time zone, e.g. +07:00")
    return parsed


@draft_app.command("submit")
def draft_submit(
    file: Annotated[Path, typer.Argument(help="UTF-8 text: first line is the title, the rest the body.")],
    area: Annotated[str, typer.Option(help="Target area code(s), comma-separated.")],
    lang: Annotated[str, typer.Option(help="Languages, e.g. vi or vi,km.")] = "vi",
    priority: Annotated[str, typer.Option(help="thuong, uu_tien or khan_cap.")] = "thuong",
    as_user: AsUser = "",
    title: Annotated[str, typer.Option(help="Title (default: the file's first line).")] = "",
    source_ref: Annotated[str, typer.Option(help="Source document number, e.g. 125/TB-UBND.")] = "",
    unit: Annotated[str, typer.Option(help="Requesting unit, e.g. 'UBND xã Đa Lộc'.")] = "",
    channels: Annotated[str, typer.Option(help="loudspeaker,board")] = "loudspeaker,board",
    embargo: Annotated[str | None, typer.Option(help="Not before (ISO time with zone).")] = None,
    expires: Annotated[str | None, typer.Option(help="Expiry (ISO time with zone).")] = None,
) -> None:
    """Submit a text draft. Validated first; stored before anything else happens."""
    ensure_db()
    if not as_user:
        raise InvalidInput("who is submitting? pass --as USERNAME or set BANTIN_USER")
    try:
        chans = tuple(Channel(c.strip()) for c in channels.split(",") if c.strip())
    except ValueError:
        raise InvalidInput(f"unknown channel in '{channels}' (loudspeaker, board)") from None
    text = draft_service.read_text_file(file)
    req = draft_service.DraftRequest(
        body=text, title=title, area_codes=area.split(","), languages=lang, priority=priority, author=as_user,
        channels=chans, source_ref=source_ref, requesting_unit=unit,
        embargo_at=_parse_time(embargo, "embargo"), expires_at=_parse_time(expires, "expiry"),
    )
    with session() as s:
        rev = draft_service.submit_text_draft(s, object_store(), req)
    echo(f"draft {rev.draft_id} submitted (revision {rev.number}): {rev.content.title}")
    echo(f"next: bantin produce {rev.draft_id}")


@draft_app.command("list")
def draft_list() -> None:
    """List drafts with the status of their latest package."""
    ensure_db()
    with session() as s:
        for rev in drafts.list_drafts(s):
            pkgs = packages.packages_of_draft(s, rev.draft_id)
            status = f"package {pkgs[-1].id}: {pkgs[-1].status}" if pkgs else "submitted"
            echo(f"{rev.draft_id:>4}  r{rev.number}  {rev.priority:<8} {status:<26} {rev.title}")
