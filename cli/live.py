"""``bantin live``: live sessions from the command line (list, open, stop), through ``services.live`` like the
live page; what an officer reads is in Vietnamese (the catalogue's ``cli_live_*`` texts)."""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Annotated

import typer

from cli.common import AsUser, echo, ensure_db, need_user
from domain.clock import as_utc
from domain.errors import DomainError, Forbidden
from services import areas as area_service
from services import live
from services.runtime import session
from storage.repositories import users

live_app = typer.Typer(help="Live sessions: officers on air for chosen areas.", no_args_is_help=True)
VN = timedelta(hours=7)


def _t(key: str, **fields: object) -> str:
    from web.i18n import translate

    return translate("vi", key).format(**fields)


@contextmanager
def _officer_errors() -> Iterator[None]:
    """A refusal as the officer reads it on the live page (Vietnamese, no internals), with the exit status of
    the CLI's one table (:data:`cli.main.EXIT_CODES`)."""
    from cli.main import exit_status  # cli.main imports this module to register its commands
    from web.officer_text import error_text

    try:
        yield
    except DomainError as exc:
        typer.echo(_t("err_live_forbidden") if isinstance(exc, Forbidden) else error_text("vi", exc), err=True)
        raise typer.Exit(exit_status(exc)) from None


def _when(at: datetime) -> str:
    return (as_utc(at) + VN).strftime("%d/%m/%Y %H:%M")


@live_app.command("list")
def list_sessions(limit: Annotated[int, typer.Option(min=1, max=500, help="How many sessions.")] = 20,
                  as_user: AsUser = "") -> None:
    """The newest live sessions in the areas the operator sees, with how many devices played each."""
    ensure_db()
    with _officer_errors(), session() as s:
        user = users.get_user(s, need_user(as_user))
        rows = live.recent_sessions(s, user, limit)
        if not rows:
            echo(_t("cli_live_none"))
        proofs = live.proofs_of_play(s, rows)
        for r in rows:
            proof = proofs[r.id]
            state = _t("live_on_air") if r.status == live.LIVE else _t(f"live_reason_{r.end_reason or 'stopped'}")
            echo(_t("cli_live_row", id=r.id, started=_when(r.started_at), areas=", ".join(r.area_codes),
                    state=state, kind=_t("cli_live_emergency") if r.emergency else _t("cli_live_ordinary"),
                    title=r.title, played=proof.devices_played, devices=proof.devices))


@live_app.command("start")
def start(
    areas: Annotated[str, typer.Argument(help="Area codes or names, comma-separated.")],
    title: Annotated[str, typer.Option(help="What the session is about (one line).")] = "",
    emergency: Annotated[bool, typer.Option("--emergency", help="Overrides everything on the devices, "
                                            "quiet hours and relays included.")] = False,
    as_user: AsUser = "",
) -> None:
    """Open a live session for the areas (the officer then speaks from the live page)."""
    ensure_db()
    with _officer_errors(), session() as s:
        actor = need_user(as_user)
        codes = [area_service.code_from_option(s, part) for part in areas.split(",") if part.strip()]
        rec = live.start(s, area_codes=codes, actor=actor, title=title, emergency=emergency)
        echo(_t("cli_live_opened", id=rec.id, areas=", ".join(rec.area_codes), deadline=_when(rec.deadline)))


@live_app.command("stop")
def stop(session_id: int, as_user: AsUser = "") -> None:
    """End a live session: devices go back to their schedule and the play is logged as complete."""
    ensure_db()
    with _officer_errors(), session() as s:
        rec = live.stop(s, session_id, actor=need_user(as_user))
        echo(_t("cli_live_ended", id=rec.id, reason=_t(f"live_reason_{rec.end_reason or 'stopped'}")))
