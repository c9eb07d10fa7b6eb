"""``bantin programs``: recurring bulletin slots per area, their plans and builds, officer reorder, and the
quiet hours, volume profile and default content devices honour."""

import json
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

import typer
from sqlalchemy.orm import Session

from cli.common import AsUser, echo, ensure_db, need_user
from domain.editions import EditionStatus
from domain.errors import InvalidInput
from domain.programs import format_weekdays, local_date, parse_range_text
from services import areas as area_service
from services import default_content, program_admin
from services import programs as program_service
from services.program_admin import ProgramForm
from services.runtime import session
from settings import configure_prefect_env, get_settings
from storage.repositories import programs as repo

programs_app = typer.Typer(help="Scheduled programs (daily bulletins per area), quiet hours and volume.",
                           no_args_is_help=True)

DateOpt = Annotated[str | None, typer.Option("--date", help="Vietnam date YYYY-MM-DD (default: tomorrow).")]


def _day(value: str | None) -> date:
    if value is None:
        return local_date(datetime.now(UTC)) + timedelta(days=1)
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"'{value}' is not a date (use YYYY-MM-DD)") from None


def _ids(value: str) -> list[int]:
    try:
        return [int(x) for x in value.split(",") if x.strip()]
    except ValueError:
        raise InvalidInput(f"'{value}' is not a comma-separated list of package ids") from None


@programs_app.command("add")
def add(
    area: str, name: str,
    at: Annotated[str, typer.Option(help="Start time in Vietnam, HH:MM.")],
    days: Annotated[str, typer.Option(help="daily, weekdays, weekend, mon,wed,fri, t2-t6 ...")] = "daily",
    max_minutes: Annotated[float | None, typer.Option(help="Length cap (default BANTIN_PROGRAM_MAX_MINUTES).")] = None,
    gap: Annotated[float | None, typer.Option(help="Seconds of silence between parts.")] = None,
    priority: Annotated[str, typer.Option(help="thuong or uu_tien: wins overlaps with other programs.")] = "thuong",
    languages: Annotated[str, typer.Option(help="Comma-separated codes (default: the area's).")] = "",
    inactive: Annotated[bool, typer.Option("--inactive", help="Define it switched off.")] = False,
    as_user: AsUser = "",
) -> None:
    """Create or update (same AREA and NAME) a recurring program slot, e.g. 'Bản tin sáng' at 06:00."""
    ensure_db()
    with session() as s:
        area = area_service.code_from_option(s, area)  # a code or a name
        form = ProgramForm(area_code=area, name=name, at=at, days=days,
                           max_minutes="" if max_minutes is None else str(max_minutes),
                           gap_s="" if gap is None else str(gap), priority=priority, languages=languages,
                           active=not inactive)
        rec = program_admin.define_program(s, form, actor=need_user(as_user), replace=True)
        echo(f"program {rec.id}: {rec.name} at {rec.at} ({format_weekdays(map(int, rec.weekdays), 'en')}) "
             f"in {rec.area_code}, up to {rec.max_s / 60:.0f} min" + ("" if rec.active else " [inactive]"))


@programs_app.command("disable")
def disable(program_id: int, enable: Annotated[bool, typer.Option("--enable", help="Switch it back on.")] = False,
            as_user: AsUser = "") -> None:
    """Switch a program off (its editions stop being built) or back on."""
    ensure_db()
    with session() as s:
        program_service.set_program_active(s, program_id, enable, actor=as_user)
    echo(f"program {program_id} {'enabled' if enable else 'disabled'}")


@programs_app.command("list")
def list_(area: Annotated[str | None, typer.Option(help="Only programs defined for this area.")] = None) -> None:
    """List programs."""
    ensure_db()
    with session() as s:
        for p in repo.list_programs(s, area_codes=[area_service.code_from_option(s, area)] if area else None):
            langs = ",".join(p.languages) or "area"
            echo(f"{p.id:>4}  {p.area_code:>5}  {p.at}  {format_weekdays(map(int, p.weekdays), 'en'):<14} "
                 f"{p.max_s / 60:>4.0f} min  {p.priority:<7} [{langs}]  {p.name}" + ("" if p.active else "  (off)"))


@programs_app.command("plan")
def plan(day: DateOpt = None, area: Annotated[str | None, typer.Option(help="Only this area.")] = None,
         as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Show what each edition of a date will play, what is left out and why, and what was built."""
    ensure_db()
    with session() as s:
        rows: list[dict[str, Any]] = program_service.day_overview(s, _day(day), area_code=_area(s, area))
    if as_json:
        echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not rows:
        echo("no program slots on that date")
    for r in rows:
        head = f"{r['date']} {r['time']}  {r['area_code']} {r['area_name']}  [{r['language']}]  {r['program']} " \
               f"(#{r['program_id']}): {r['status']}"
        echo(head + (f", {float(r['duration_s']):.0f} s" if r["status"] == EditionStatus.PUBLISHED else ""))
        if r["skipped_reason"]:
            echo(f"    not aired: {r['skipped_reason']}")
        for i in r["items"]:
            echo(f"    {i['offset_s']:>6.0f} s  {i['priority']:<8} #{i['package_id']} {i['title']} "
                 f"({i['duration_s']:.0f} s)")
        for x in r["left_out"]:
            echo(f"    left out #{x['package_id']} {x['title']}: {x['detail']}")
        if r["error"]:
            echo(f"    last build failed: {r['error']}")


@programs_app.command("build")
def build(day: Annotated[str | None, typer.Option("--date", help="Vietnam date (default: the coming hours).")] = None,
          area: Annotated[str | None, typer.Option(help="Only this area.")] = None) -> None:
    """Build and publish editions now (the 'program' deployment does this on its schedule)."""
    ensure_db()
    with session() as s:
        area = _area(s, area)
    configure_prefect_env(get_settings())
    from flows.program import build_programs

    result = build_programs(day=_day(day).isoformat() if day else None, area_code=area)
    echo(f"{result['built']} edition(s) built, {result['failed']} failed")


@programs_app.command("reorder")
def reorder(
    program_id: int,
    area: Annotated[str, typer.Option(help="The commune whose edition you order.")],
    order: Annotated[str, typer.Option(help="Package ids in play order, e.g. 12,7,9.")] = "",
    skip: Annotated[str, typer.Option(help="'thường' package ids to leave out.")] = "",
    day: DateOpt = None,
    as_user: AsUser = "",
) -> None:
    """The commune officer's order for one date (ưu tiên items still play before thường ones)."""
    ensure_db()
    with session() as s:
        area = area_service.code_from_option(s, area)
        program_service.reorder(s, program_id=program_id, day=_day(day), area_code=area, order=_ids(order),
                                skipped=_ids(skip), actor=as_user)
    echo(f"order saved for program {program_id}, {area}, {_day(day)}; it applies at the next build")


@programs_app.command("quiet")
def quiet(area: str, ranges: Annotated[list[str] | None, typer.Argument(help="HH:MM-HH:MM ...")] = None,
          clear: Annotated[bool, typer.Option("--clear", help="Remove the area's own quiet hours.")] = False,
          as_user: AsUser = "") -> None:
    """Set the quiet hours of an area (a code or name; devices there play nothing but emergencies), e.g.
    22:00-05:00."""
    ensure_db()
    with session() as s:
        area = area_service.code_from_option(s, area)
    if not ranges and not clear:
        with session() as s:
            q, _ = program_service.area_profile(s, area)
        echo(", ".join(f"{r['from']}-{r['to']}" for r in q) or "no quiet hours")
        return
    parsed = [] if clear else [parse_range_text(r).to_json() for r in ranges or []]
    with session() as s:
        program_service.set_area_profile(s, area_code=area, quiet_hours=parsed, actor=as_user)
    echo(f"quiet hours of {area}: " + (", ".join(f"{r['from']}-{r['to']}" for r in parsed) or "none"))


@programs_app.command("volume")
def volume(area: str, steps: Annotated[list[str] | None, typer.Argument(help="HH:MM-HH:MM=PERCENT ...")] = None,
           clear: Annotated[bool, typer.Option("--clear", help="Remove the area's own volume profile.")] = False,
           as_user: AsUser = "") -> None:
    """Set the volume profile of an area (a code or name), e.g. 05:00-07:00=60 07:00-21:00=85."""
    ensure_db()
    with session() as s:
        area = area_service.code_from_option(s, area)
    if not steps and not clear:
        with session() as s:
            _, v = program_service.area_profile(s, area)
        echo(", ".join(f"{x['from']}-{x['to']}={x['percent']}%" for x in v) or "no volume profile")
        return
    parsed: list[dict[str, object]] = []
    for step in [] if clear else steps or []:
        rng, sep, pct = step.partition("=")
        if not sep:
            raise InvalidInput(f"'{step}' is not RANGE=PERCENT (e.g. 05:00-22:00=80)")
        parsed.append({**parse_range_text(rng).to_json(), "percent": pct.rstrip("%")})
    with session() as s:
        program_service.set_area_profile(s, area_code=area, volume_profile=parsed, actor=as_user)
    echo(f"volume profile of {area} set ({len(parsed)} range(s))")


@programs_app.command("default")
def default(area: str,
            packages: Annotated[str | None, typer.Argument(help="Package ids in rotation order, e.g. 12,7.")] = None,
            clear: Annotated[bool, typer.Option("--clear", help="Remove the area's own default content.")] = False,
            as_user: AsUser = "") -> None:
    """What devices of an area (a code or name) play when nothing is due (published packages, in rotation),
    e.g. 12,7."""
    ensure_db()
    with session() as s:
        area = area_service.code_from_option(s, area)
    if packages is None and not clear:
        with session() as s:
            setter, ids = default_content.default_packages(s, area)
        echo(f"default content of {area}: " + (f"packages {', '.join(map(str, ids))} (set on {setter})" if ids
                                                 else "none"))
        return
    with session() as s:
        ids = default_content.set_default_content(s, area_code=area, package_ids=[] if clear else _ids(packages or ""),
                                                  actor=as_user)
    echo(f"default content of {area}: " + (", ".join(map(str, ids)) or "none (inherited from above, if set)"))


def _area(s: Session, text: str | None) -> str | None:
    """An optional area option as a code (it may be given as a name, with or without diacritics)."""
    return area_service.code_from_option(s, text) if text else None


def register(app: typer.Typer) -> None:
    """Add this module's commands to the top-level app."""
    app.add_typer(programs_app, name="programs")
