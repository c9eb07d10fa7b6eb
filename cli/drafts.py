"""``bantin draft``: submit (text or a recording), show, edit, transcribe again, and list drafts.

``draft submit recording.mp3`` calls the transcription service in this process rather than through the
Prefect flow: the editor waits for the draft number, and starting Prefect's ephemeral API costs 10-20 s
on 2 cores, more than transcribing a one-minute bulletin (about 5 s). ``draft transcribe`` runs the
``transcribe-draft`` flow, for re-runs that workers can pick up.
"""

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from cli.common import AsUser, echo, ensure_db
from domain.drafts import Channel
from domain.errors import InvalidInput
from domain.intake import IntakeResult
from domain.intake_policy import CleaningNeedsConfirmation, DraftAllBoilerplate, TitleNeeded
from services import areas as area_service
from services import drafts as draft_service
from services import intake
from services.runtime import object_store, session
from settings import configure_prefect_env, get_settings
from storage.repositories import drafts, packages

draft_app = typer.Typer(help="Submit, show, edit and list drafts.", no_args_is_help=True)


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
    file: Annotated[Path, typer.Argument(help="UTF-8 text (first line: title), or a recording (.mp3, .wav…).")],
    area: Annotated[str, typer.Option(help="Target area code(s), comma-separated, or name(s) separated by ';' "
                                           "('Châu Thành, Vĩnh Long').")],
    lang: Annotated[str, typer.Option(help="Languages, e.g. vi or vi,km.")] = "vi",
    priority: Annotated[str, typer.Option(help="thuong, uu_tien or khan_cap.")] = "thuong",
    as_user: AsUser = "",
    title: Annotated[str, typer.Option(help="Title (default: the file's first line).")] = "",
    source_ref: Annotated[str, typer.Option(help="Source document number, e.g. 125/TB-UBND.")] = "",
    unit: Annotated[str, typer.Option(help="Requesting unit, e.g. 'UBND xã Đa Lộc'.")] = "",
    channels: Annotated[str, typer.Option(help="loudspeaker,board")] = "loudspeaker,board",
    embargo: Annotated[str | None, typer.Option(help="Not before (ISO time with zone).")] = None,
    expires: Annotated[str | None, typer.Option(help="Expiry (ISO time with zone).")] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Confirm when cleaning removes more than half.")] = False,
    keep: Annotated[str, typer.Option(help="Line numbers to keep although cleaning would remove them, e.g. 3,7.")]
    = "",
) -> None:
    """Submit a draft. Web boilerplate is removed and listed; a recording is kept and transcribed."""
    ensure_db()
    if not as_user:
        raise InvalidInput("who is submitting? pass --as USERNAME or set BANTIN_USER")
    try:
        chans = tuple(Channel(c.strip()) for c in channels.split(",") if c.strip())
    except ValueError:
        raise InvalidInput(f"unknown channel in '{channels}' (loudspeaker, board)") from None
    audio = draft_service.is_audio(file)
    text = "" if audio else draft_service.read_text_file(file)
    with session() as s:
        area_codes = area_service.codes_from_option(s, area)
    req = draft_service.DraftRequest(
        body=text, title=title, area_codes=area_codes, languages=lang, priority=priority, author=as_user,
        channels=chans, source_ref=source_ref, requesting_unit=unit,
        embargo_at=_parse_time(embargo, "embargo"), expires_at=_parse_time(expires, "expiry"),
        confirm_cleaning=yes, keep_lines=_line_numbers(keep),
    )
    if audio:
        _submit_audio(req, file)
        return
    try:
        with session() as s:
            rev, cleaning = draft_service.submit_cleaned_text_draft(s, object_store(), req)
    except (DraftAllBoilerplate, CleaningNeedsConfirmation, TitleNeeded) as exc:
        if exc.result is not None:
            _print_removed(exc.result)
        if isinstance(exc, CleaningNeedsConfirmation):
            echo("nothing stored: check the removed lines, then submit again with --yes (or --keep N,M)")
        raise
    _print_removed(cleaning)
    echo(f"draft {rev.draft_id} submitted (revision {rev.number}): {rev.content.title}")
    if cleaning.article_date:
        echo(f"article date (from its dateline): {cleaning.article_date.isoformat()}")
    for warning in intake.freshness_of(object_store(), rev):
        echo(f"WARNING: {warning.text('en')} / {warning.text('vi')}")
    echo(f"next: bantin produce {rev.draft_id}")


def _line_numbers(value: str) -> tuple[int, ...]:
    try:
        return tuple(int(x) for x in value.split(",") if x.strip())
    except ValueError:
        raise InvalidInput(f"--keep takes line numbers separated by commas, like 3,7 (got '{value}')") from None


def _print_removed(result: IntakeResult) -> None:
    """The cleaning report: every removed line with its number and why, so nothing goes silently."""
    if not result.removed:
        echo("cleaning: no web boilerplate found")
        return
    tags = len(result.removed) - result.lines_removed
    also = f" and {tags} source tag(s) at the start of a line" if tags else ""
    echo(f"cleaning ({result.rules_version}): removed {result.lines_removed} of {result.content_lines} lines{also}:")
    for line in result.removed:
        echo(f"  - line {line.describe('en')}")


def _submit_audio(req: draft_service.DraftRequest, file: Path) -> None:
    echo(f"transcribing {file.name} (this takes about a fifth of its length)…")
    rev, transcript = draft_service.submit_audio_draft(session, object_store(), req, file)
    echo(f"draft {rev.draft_id} submitted from {file.name} (revision {rev.number}, source kept as {rev.source_key})")
    echo(f"transcript: {transcript.duration_s:.1f} s of audio, language {transcript.language}, "
         f"{len(transcript.segments)} segments, {transcript.engine} {transcript.model}")
    echo("UNREVIEWED MACHINE TRANSCRIPT: check it against the recording and correct it before producing:")
    echo(f"  bantin draft show {rev.draft_id}   then   bantin draft edit {rev.draft_id} corrected.txt --as USER")


@draft_app.command("show")
def draft_show(draft_id: int) -> None:
    """Print a draft's latest revision: title line, then the body (the format 'draft edit' reads)."""
    ensure_db()
    with session() as s:
        rev = drafts.latest_revision(s, draft_id)
    typer.echo(f"# draft {rev.draft_id} revision {rev.number} by {rev.author}, source {rev.source_kind.value}"
               + (f" {rev.source_key}" if rev.source_key else ""), err=True)
    if rev.note:
        typer.echo(f"# {rev.note}", err=True)
    for warning in intake.freshness_of(object_store(), rev):
        typer.echo(f"# WARNING: {warning.text('en')} / {warning.text('vi')}", err=True)
    echo(rev.content.title)
    echo(rev.content.body)


@draft_app.command("edit")
def draft_edit(
    draft_id: int,
    file: Annotated[Path, typer.Argument(help="UTF-8 text: first line is the title, the rest the body.")],
    as_user: AsUser = "",
) -> None:
    """Save a corrected text as a new revision (earlier revisions are kept unchanged)."""
    ensure_db()
    if not as_user:
        raise InvalidInput("who is editing? pass --as USERNAME or set BANTIN_USER")
    text = draft_service.read_text_file(file)
    with session() as s:
        rev = draft_service.edit_draft(s, object_store(), draft_id=draft_id, text=text, author=as_user)
    echo(f"draft {rev.draft_id} revision {rev.number} saved: {rev.content.title}")
    echo(f"next: bantin produce {rev.draft_id}")


@draft_app.command("transcribe")
def draft_transcribe(
    draft_id: int,
    force: Annotated[bool, typer.Option(help="Even over an editor's corrected revision.")] = False,
) -> None:
    """Transcribe an audio draft's recording again through the Prefect flow (e.g. after adding a model)."""
    ensure_db()
    with session() as s:
        drafts.get_draft(s, draft_id)
    configure_prefect_env(get_settings())
    from flows.transcribe import transcribe_draft  # Prefect is imported only when a flow runs

    number = transcribe_draft(draft_id, force=force)
    echo(f"draft {draft_id}: latest revision is {number}")


@draft_app.command("list")
def draft_list() -> None:
    """List drafts with the status of their latest package."""
    ensure_db()
    with session() as s:
        for rev in drafts.list_drafts(s):
            pkgs = packages.packages_of_draft(s, rev.draft_id)
            status = f"package {pkgs[-1].id}: {pkgs[-1].status}" if pkgs else "submitted"
            echo(f"{rev.draft_id:>4}  r{rev.number}  {rev.priority:<8} {status:<26} {rev.title}")
