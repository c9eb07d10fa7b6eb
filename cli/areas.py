"""``bantin areas``: list and find administrative areas (by code or name), set a province's languages, and
move an installation from the pre-2025 units to today's (``migrate --to 2025``)."""

from typing import Annotated

import typer

from cli.common import AsUser, echo, ensure_db
from services import areas as area_service
from services.runtime import session

areas_app = typer.Typer(help="Administrative areas (two tiers since July 2025: province, commune).",
                        no_args_is_help=True)


@areas_app.command("list")
def areas_list(
    parent: Annotated[str | None, typer.Option(help="List the units under this code or name "
                                                    "(default: provinces).")] = None,
) -> None:
    """List provinces, or the units under a code or name."""
    ensure_db()
    with session() as s:
        code = area_service.resolve(s, parent).code if parent else None
        for a in area_service.children(s, code):
            langs = f"  [{','.join(a.languages)}]" if a.languages else ""
            echo(f"{a.code:>5}  {a.level:<8}  {area_service.display_name(a)}{langs}")


@areas_app.command("find")
def areas_find(name: str) -> None:
    """Find areas by name, with or without diacritics ("chau thanh", "Châu Thành, Vĩnh Long")."""
    ensure_db()
    with session() as s:
        found = area_service.search(s, name)
        if not found:
            area_service.resolve(s, name)  # says why (unknown, or a unit retired in 2025)
        for _, text in found:
            echo(text)


@areas_app.command("languages")
def areas_languages(area: str, languages: str, as_user: AsUser) -> None:
    """Set the languages bulletins for an area are produced in, e.g. ``86 vi,km``."""
    ensure_db()
    with session() as s:
        updated = area_service.set_languages(s, code=area, languages=languages, actor=as_user)
        echo(f"{updated.code} {updated.name}: {','.join(updated.languages)}")


@areas_app.command("migrate")
def areas_migrate(
    as_user: AsUser,
    to: Annotated[str, typer.Option("--to", help="The units to move to (2025).")] = "2025",
    assign: Annotated[list[str] | None, typer.Option(
        "--assign", help="OLD=NEW for an old unit divided among several current ones; repeatable.")] = None,
    apply: Annotated[bool, typer.Option("--apply", help="Write the changes (default: a dry-run report).")] = False,
) -> None:
    """Move memberships, devices, programmes, profiles, templates and area-scoped destinations from pre-2025
    units to today's.

    Runs as a dry run unless --apply is given; stops before writing when an old unit in use was divided.
    """
    ensure_db()
    with session() as s:
        report = area_service.migrate(s, actor=as_user, to=to, assign=assign or [], dry_run=not apply)
    if report.already_current:
        echo("this installation already uses the 2025 units: nothing to change")
        return
    echo(f"{'dry run: ' if report.dry_run else ''}{len(report.moves)} old unit(s) in use, "
         f"{report.retired} old unit(s) to retire")
    for kind, n in report.uses.items():
        echo(f"  {kind:<20} {n:>6} naming old units, {report.changed[kind]:>6} changed")
    for old, new in sorted(report.moves.items()):
        echo(f"  {old} {report.names.get(old, '')} -> {new} {report.names.get(new, '')}")
    if report.conflicts:
        for c in report.conflicts:
            where = ", ".join(c.candidates) if c.candidates else "unknown"
            echo(f"  CONFLICT {c.old_code} {c.old_name} ({c.uses} record(s)) went to {where}: {c.hint}")
        typer.echo("error: old units divided among several current ones need --assign OLD=NEW; "
                   "nothing was written", err=True)
        raise typer.Exit(2)
    if report.dry_run:
        echo("nothing written; run again with --apply")
    else:
        echo("done: written in one transaction and audited")
