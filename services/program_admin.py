"""Administering programmes in the browser: an area's programmes, quiet hours, volume profile and default
content, as one area settings view, and the checked changes behind its forms.

Every change needs ``area.configure`` over the area (an approver or admin of it or of an area above it),
checked here for the web as for the API; the definitions themselves are :mod:`services.programs` and
:mod:`services.default_content`.
"""

import re
from dataclasses import dataclass

from sqlalchemy.orm import Session

from domain.errors import InvalidInput
from domain.programs import format_weekdays, parse_range_text
from services import auth
from services import default_content as default_service
from services import programs as program_service
from storage.models_programs import ProgramRecord
from storage.repositories import areas as area_repo
from storage.repositories import programs as repo

_SEPARATORS = re.compile(r"[,;\s]+")


@dataclass(frozen=True, slots=True)
class ProgramForm:
    """A programme as typed in the form (``program_id`` None: a new one)."""

    area_code: str
    name: str
    at: str
    days: str = "daily"
    max_minutes: str = ""
    priority: str = "thuong"
    languages: str = ""
    active: bool = True
    program_id: int | None = None
    gap_s: str = ""


def _number(value: str, what: str) -> float | None:
    value = value.strip().replace(",", ".")
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        raise InvalidInput(f"'{value}' is not a number ({what})") from None


def define_program(session: Session, form: ProgramForm, *, actor: str, replace: bool = False) -> ProgramRecord:
    """Create a programme, or change one (``form.program_id``), renaming it if the name changed. The web
    page and ``bantin programs add`` both come here, so both are checked the same way.

    Args:
        replace: A new programme with the name of one the area has updates that one (the CLI's "create or
            update") instead of being refused.

    Raises:
        Forbidden: the actor may not configure the area (or the programme's area, when editing).
        InvalidInput: a bad time, weekday rule, length, priority or language; a start in the quiet hours; a
            name another programme of the area has.
        NotFound: unknown area, programme or actor.
    """
    area_repo.get_area(session, form.area_code)
    auth.require_actor(session, actor, "area.configure", area_codes=[form.area_code], what="define programs")
    name = " ".join(form.name.split())
    if form.program_id is not None:
        rec = repo.get_program(session, form.program_id)
        auth.require_actor(session, actor, "area.configure", area_codes=[rec.area_code], what="define programs")
        if rec.area_code != form.area_code:
            raise InvalidInput("a program stays in its area; create a new one for another area")
        if name != rec.name:
            if repo.find_program(session, rec.area_code, name) is not None:
                raise InvalidInput(f"a program named '{name}' exists in this area")
            rec.name = name  # save_program below finds it under the new name and records the change
            session.flush()
    elif name and not replace and repo.find_program(session, form.area_code, name) is not None:
        raise InvalidInput(f"a program named '{name}' exists in this area")
    return program_service.save_program(
        session, area_code=form.area_code, name=name, at=form.at, days=form.days or "daily",
        max_minutes=_number(form.max_minutes, "length in minutes"), gap_s=_number(form.gap_s, "gap in seconds"),
        priority=form.priority or "thuong",
        languages=form.languages, active=form.active, actor=actor)


def set_program_active(session: Session, program_id: int, active: bool, *, actor: str) -> ProgramRecord:
    """Switch a programme off or on (checked by :func:`services.programs.set_program_active`)."""
    return program_service.set_program_active(session, program_id, active, actor=actor)


def parse_quiet_text(text: str) -> list[dict[str, str]]:
    """``"22:00-05:00, 12:00-13:00"`` -> quiet ranges (empty text: none).

    Raises:
        InvalidInput: a part is no HH:MM-HH:MM range.
    """
    return [parse_range_text(part).to_json() for part in _SEPARATORS.split(text.strip()) if part]


def parse_volume_text(text: str) -> list[dict[str, object]]:
    """``"05:00-07:00=60, 07:00-21:00=85"`` -> volume steps (empty text: none).

    Raises:
        InvalidInput: a part is no RANGE=PERCENT.
    """
    steps: list[dict[str, object]] = []
    for part in (p for p in _SEPARATORS.split(text.strip()) if p):
        rng, sep, pct = part.partition("=")
        if not sep:
            raise InvalidInput(f"'{part}' is not RANGE=PERCENT (e.g. 05:00-22:00=80)")
        steps.append({**parse_range_text(rng).to_json(), "percent": pct.rstrip("%")})
    return steps


def set_quiet_hours(session: Session, *, area_code: str, text: str, actor: str) -> list[dict[str, str]]:
    """Set (empty text: remove) an area's own quiet hours; checked and audited by the programs service."""
    ranges = parse_quiet_text(text)
    program_service.set_area_profile(session, area_code=area_code, quiet_hours=ranges, actor=actor)
    return ranges


def set_volume(session: Session, *, area_code: str, text: str, actor: str) -> list[dict[str, object]]:
    """Set (empty text: remove) an area's own volume profile."""
    steps = parse_volume_text(text)
    program_service.set_area_profile(session, area_code=area_code, volume_profile=steps, actor=actor)
    return steps


def set_default_content(session: Session, *, area_code: str, text: str, actor: str) -> list[int]:
    """Set (empty text: remove) an area's default content from package numbers ``"12, 7"``."""
    try:
        ids = [int(p.lstrip("#")) for p in _SEPARATORS.split(text.strip()) if p]
    except ValueError:
        raise InvalidInput(f"'{text}' is not a list of package numbers (e.g. 12, 7)") from None
    return default_service.set_default_content(session, area_code=area_code, package_ids=ids, actor=actor)


def _days_text(weekdays: str) -> str:
    """The stored weekday digits as the form's rule (``daily``, ``weekdays`` or ``mon,wed,fri``)."""
    if weekdays == "0123456":
        return "daily"
    if weekdays == "01234":
        return "weekdays"
    return ",".join(("mon", "tue", "wed", "thu", "fri", "sat", "sun")[int(d)] for d in weekdays)


def quiet_text(ranges: list[dict[str, str]]) -> str:
    return ", ".join(f"{r['from']}-{r['to']}" for r in ranges)


def volume_text(steps: list[dict[str, object]]) -> str:
    return ", ".join(f"{s['from']}-{s['to']}={s['percent']}" for s in steps)


def area_settings(session: Session, area_code: str, *, lang: str = "vi") -> dict[str, object]:
    """What the settings page shows for an area: its programmes, and its own quiet hours, volume profile and
    default content next to those in force there (set by the area or inherited from one above).

    Raises:
        NotFound: unknown area.
    """
    area = area_repo.get_area(session, area_code)
    own = repo.get_profile(session, area_code)
    quiet, volume = program_service.area_profile(session, area_code)
    setter, defaults = default_service.default_packages(session, area_code)
    return {
        "code": area.code, "name": area.name,
        "programs": [{"id": p.id, "name": p.name, "at": p.at, "days_label": format_weekdays(map(int, p.weekdays), lang),
                      "days": _days_text(p.weekdays),
                      "max_minutes": f"{p.max_s / 60:g}", "priority": p.priority, "languages": ",".join(p.languages),
                      "active": p.active}
                     for p in repo.list_programs(session, area_codes=[area_code])],
        "own_quiet": quiet_text(own.quiet_hours or []) if own else "",
        "own_volume": volume_text(own.volume_profile or []) if own else "",
        "own_default": ", ".join(str(i) for i in (own.default_packages or [])) if own else "",
        "quiet": quiet_text(quiet), "volume": volume_text(volume),
        "default": ", ".join(f"#{i}" for i in defaults), "default_from": setter or "",
    }
