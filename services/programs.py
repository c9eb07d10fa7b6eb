"""Programs (scheduled bulletin slots): defining them and planning editions.

The device service asks :func:`area_profile` for a device area's quiet hours and volume profile (and
``services.programs_on_air`` for the published programmes); the program flow asks :func:`plan_editions`
what to build. Planning is pure domain logic (:mod:`domain.programs`) over a handful of queries.
"""

import functools
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from domain.areas import Area, AreaLevel
from domain.canonical import canonical_json, sha256_hex
from domain.editions import (
    Candidate,
    EditionStatus,
    Frame,
    OfficerOrder,
    Selection,
    effective_languages,
    lineage_of,
    select_for_slot,
)
from domain.errors import InvalidInput
from domain.languages import parse_languages
from domain.priority import Priority, parse_priority
from domain.programs import (
    VN_TZ,
    ClockRange,
    Slot,
    SlotRule,
    day_window,
    format_clock,
    next_occurrences,
    occurrences,
    parse_clock,
    parse_weekdays,
    resolve_conflicts,
    slot_quiet_conflict,
    validate_quiet_hours,
    validate_volume_profile,
)
from domain.speech import estimate_speech_seconds
from prompts import load_prompt
from services import auth
from settings import get_settings
from storage.models_programs import AreaProfileRecord, ProgramRecord
from storage.repositories import areas as area_repo
from storage.repositories import audit
from storage.repositories import programs as repo

INTRO_PROMPT = ("programs/intro", 1)
OUTRO_PROMPT = ("programs/outro", 1)
CHIME_S = 2.2  # engines.program_audio: the 1.8 s chime plus the pause before the spoken line
_WEEKDAY_VI = ("thứ Hai", "thứ Ba", "thứ Tư", "thứ Năm", "thứ Sáu", "thứ Bảy", "Chủ nhật")


# ----------------------------------------------------------------------------------------------------------
# Defining programs and area profiles


def rule_of(rec: ProgramRecord) -> SlotRule:
    """The domain rule of a stored program."""
    return SlotRule(program_id=rec.id, area_code=rec.area_code, at=parse_clock(rec.at),
                    weekdays=frozenset(int(d) for d in rec.weekdays), max_s=rec.max_s,
                    priority=Priority(rec.priority), name=rec.name)


def save_program(
    session: Session, *, area_code: str, name: str, at: str, days: str = "daily", max_minutes: float | None = None,
    gap_s: float | None = None, priority: str = "thuong", languages: str = "", active: bool = True, actor: str,
) -> ProgramRecord:
    """Create or update (same area and name) a recurring program slot.

    Args:
        area_code: The area the program is for (a commune, or a district/province for all communes in it).
        name: Its name, e.g. "Bản tin sáng".
        at: Start time in Vietnam, e.g. "06:00".
        days: Weekday rule: "daily", "weekdays", "mon,wed,fri", "t2-t6", ...
        max_minutes: Length cap (default: the ``program_max_minutes`` setting).
        gap_s: Silence between parts (default: the ``program_gap_s`` setting).
        priority: "thuong" or "uu_tien": decides overlaps with other programs.
        languages: Comma-separated codes; empty means the area's languages.
        actor: Who is making the change (audited).

    Raises:
        InvalidInput: a bad time, weekday rule, length, priority or language, or a start in the area's quiet hours.
        NotFound: unknown area.
    """
    settings = get_settings()
    area_repo.get_area(session, area_code)
    name = " ".join(name.split())
    if not name or len(name) > 100:
        raise InvalidInput("a program needs a name of 1-100 characters (e.g. 'Bản tin sáng')")
    start = parse_clock(at)
    weekdays = parse_weekdays(days)
    max_s = 60.0 * (settings.program_max_minutes if max_minutes is None else max_minutes)
    gap = settings.program_gap_s if gap_s is None else gap_s
    if not 0 <= gap <= 30:
        raise InvalidInput(f"gap must be 0-30 s, got {gap}")
    prio = parse_priority(priority)
    langs = list(parse_languages(languages)) if languages.strip() else []
    rule = SlotRule(program_id=0, area_code=area_code, at=start, weekdays=weekdays, max_s=max_s, priority=prio)
    quiet = quiet_ranges(session, area_code)
    for slot in next_occurrences(rule, datetime.now(VN_TZ), 1):  # the same wall-clock range every day
        hit = slot_quiet_conflict(slot, quiet)
        if hit is not None:
            raise InvalidInput(f"{format_clock(start)} (for {max_s / 60:.0f} min) falls in the quiet hours "
                               f"{format_clock(hit.start)}-{format_clock(hit.end)} of area {area_code}")
    return repo.save_program(session, area_code=area_code, name=name, actor=actor, at=format_clock(start),
                             weekdays="".join(str(d) for d in sorted(weekdays)), max_s=max_s, gap_s=gap,
                             priority=prio.value, languages=langs, active=active)


def set_program_active(session: Session, program_id: int, active: bool, *, actor: str) -> ProgramRecord:
    """Switch a program off (its editions stop being built) or back on; an approver or admin of its area.

    Raises:
        NotFound: no such program or actor.
        Forbidden: the actor is no approver or admin of the program's area.
    """
    rec = repo.get_program(session, program_id)
    auth.require_actor(session, actor, "area.configure", area_codes=[rec.area_code], what="switch programs")
    return repo.save_program(session, area_code=rec.area_code, name=rec.name, actor=actor, active=active)


def _lineage_list(area_code: str, tree: Mapping[str, Area]) -> list[str]:
    out: list[str] = []
    current: str | None = area_code
    while current is not None and current in tree:
        out.append(current)
        current = tree[current].parent_code
    return out


def quiet_ranges(session: Session, area_code: str) -> tuple[ClockRange, ...]:
    """The domain quiet ranges that apply in ``area_code`` (nearest area that sets them)."""
    quiet, _ = area_profile(session, area_code)
    return validate_quiet_hours(quiet)


def set_area_profile(session: Session, *, area_code: str, quiet_hours: list[dict[str, str]] | None = None,
                     volume_profile: list[dict[str, object]] | None = None, actor: str) -> None:
    """Set quiet hours and/or the volume profile of an area (they apply to the areas below it too).

    Only an approver or admin of the area (or of an area above it) may: ``actor`` is checked.

    Raises:
        InvalidInput: malformed or overlapping ranges, a percent outside 0-100, quiet all day; no actor.
        NotFound: unknown area or actor.
        Forbidden: the actor is no approver or admin of the area.
    """
    area_repo.get_area(session, area_code)
    what = "set quiet hours" if quiet_hours is not None else "set the volume profile"
    auth.require_actor(session, actor, "area.configure", area_codes=[area_code], what=what)
    quiet = [r.to_json() for r in validate_quiet_hours(quiet_hours)] if quiet_hours is not None else None
    volume = [s.to_json() for s in validate_volume_profile(volume_profile)] if volume_profile is not None else None
    repo.set_profile(session, area_code=area_code, quiet_hours=quiet, volume_profile=volume, actor=actor)


def area_profile(session: Session, area_code: str) -> tuple[list[dict[str, str]], list[dict[str, object]]]:
    """Quiet hours and volume profile that devices in ``area_code`` honour (nearest area that sets them).

    Each part is looked up separately: a province may set quiet hours while a commune sets its own volume.
    Returns ``([], [])`` when no area above sets anything.
    """
    tree = area_repo.all_areas(session) if area_code else {}
    lineage = _lineage_list(area_code, tree)
    return _nearest_parts(lineage, {code: rec for code in lineage if (rec := repo.get_profile(session, code))})


def _nearest_parts(lineage: list[str], profiles: Mapping[str, AreaProfileRecord]
                   ) -> tuple[list[dict[str, str]], list[dict[str, object]]]:
    quiet: list[dict[str, str]] | None = None
    volume: list[dict[str, object]] | None = None
    for code in lineage:
        rec = profiles.get(code)
        if rec is None:
            continue
        if quiet is None and rec.quiet_hours:
            quiet = [dict(r) for r in rec.quiet_hours]
        if volume is None and rec.volume_profile:
            volume = [dict(x) for x in rec.volume_profile]
    return quiet or [], volume or []


# ----------------------------------------------------------------------------------------------------------
# Planning


@dataclass(frozen=True)
class EditionPlan:
    """One edition to build (or the reason it will not air)."""

    program_id: int
    program_name: str
    program_area: str
    area_code: str  # the commune (or the program's own area) it is for
    language: str
    slot: Slot
    gap_s: float
    intro_text: str
    outro_text: str
    selection: Selection | None
    skipped_reason: str = ""
    priority: str = "thuong"

    @property
    def slot_date(self) -> str:
        return self.slot.local_date.isoformat()

    def inputs_hash(self, extra: Mapping[str, object]) -> str:
        """What the audio depends on (not the commune: identical content in many communes is built once)."""
        items = [(i.package_id, i.manifest_hash, i.audio.sha256) for i in self.selection.items] \
            if self.selection else []
        return sha256_hex(canonical_json({
            "program": self.program_id, "name": self.program_name, "area": self.program_area,
            "starts_at": self.slot.starts_at.isoformat(), "language": self.language, "items": items,
            "gap_s": self.gap_s, "intro": self.intro_text, "outro": self.outro_text, **extra}))


def _date_words(day: date) -> str:
    return f"{_WEEKDAY_VI[day.weekday()]}, ngày {day.day} tháng {day.month} năm {day.year}"


def frame_texts(program_name: str, area_name: str, day: date) -> tuple[str, str]:
    """The intro and outro lines of a programme (from the versioned prompts)."""
    values = dict(program=program_name, area=area_name, date=_date_words(day))
    return load_prompt(*INTRO_PROMPT).render(**values).strip(), load_prompt(*OUTRO_PROMPT).render(**values).strip()


@functools.lru_cache(maxsize=1024)
def _frame_for(intro: str, outro: str, gap_s: float, language: str) -> Frame:
    # Estimated before the audio exists; espeak speaks Vietnamese only, other languages get the chime alone.
    spoken = language == "vi"
    intro_s = CHIME_S + (estimate_speech_seconds(intro) if spoken else 0.0)
    outro_s = CHIME_S + (estimate_speech_seconds(outro) if spoken else 0.0)
    return Frame(intro_s=intro_s, outro_s=outro_s, gap_s=gap_s)


def plan_editions(session: Session, *, start: datetime, end: datetime, area_code: str | None = None,
                  candidates: list[Candidate] | None = None) -> list[EditionPlan]:
    """Plan every edition of active programs whose slots start in ``[start, end)``.

    Each program defined for an area is planned for that area and for every commune under it (per-area
    variants: the content differs where different packages target different communes). Per commune,
    overlapping programs are resolved by priority, then by the nearer area; slots in quiet hours are
    skipped; each edition's packages are selected and ordered per Circular 39 with the officer's order.

    Args:
        start: Window start (aware).
        end: Window end (aware).
        area_code: Plan only for this area and the communes under it.
        candidates: Packages to draw from (default: every airable package; benchmarks pass their own).

    Returns:
        Plans in (start, area, language) order, including skipped ones with their reason.
    """
    tree = area_repo.all_areas(session)
    if area_code is not None and area_code not in tree:
        area_repo.get_area(session, area_code)  # raises NotFound
    kids: dict[str, list[str]] = defaultdict(list)
    for a in tree.values():
        if a.parent_code is not None:
            kids[a.parent_code].append(a.code)

    def communes_under(code: str) -> list[str]:
        out, todo = [], [code]
        while todo:
            current = todo.pop()
            if tree[current].level is AreaLevel.COMMUNE:
                out.append(current)
            todo.extend(kids.get(current, ()))
        return out

    scope = set(communes_under(area_code)) | {area_code} if area_code else None
    programs = repo.list_programs(session, active_only=True)
    by_target: dict[str, list[tuple[ProgramRecord, Slot]]] = defaultdict(list)
    for rec in programs:
        slots = occurrences(rule_of(rec), start, end)
        if not slots:
            continue
        for target in {rec.area_code, *communes_under(rec.area_code)}:
            if scope is None or target in scope:
                by_target[target].extend((rec, s) for s in slots)
    if not by_target:
        return []
    cands = repo.airable_candidates(session) if candidates is None else candidates
    by_area: dict[str, list[Candidate]] = defaultdict(list)
    for c in cands:
        for code in set(c.area_codes):
            by_area[code].append(c)
    orders: dict[str, dict[tuple[int, str], OfficerOrder]] = {}
    all_profiles = repo.all_profiles(session)
    profiles: dict[str, tuple[ClockRange, ...]] = {}
    texts: dict[tuple[int, date], tuple[str, str]] = {}
    plans: list[EditionPlan] = []
    for target, pairs in by_target.items():
        lineage = lineage_of(target, tree)
        pool = {c.package_id: c for code in lineage for c in by_area.get(code, ())}
        if target not in profiles:
            quiet_json, _ = _nearest_parts(_lineage_list(target, tree), all_profiles)
            profiles[target] = validate_quiet_hours(quiet_json)
        quiet = profiles[target]
        recs = {rec.id: rec for rec, _ in pairs}
        kept, conflicts = resolve_conflicts([s for _, s in pairs], tree)
        skipped = [(c.loser, c.reason) for c in conflicts]
        for slot in kept:
            hit = slot_quiet_conflict(slot, quiet)
            if hit is not None:
                skipped.append((slot, f"in quiet hours {format_clock(hit.start)}-{format_clock(hit.end)}"))
        muted = {id(s) for s, _ in skipped}
        for slot, reason in [*((s, "") for s in kept if id(s) not in muted), *skipped]:
            rec = recs[slot.program_id]
            key = (rec.id, slot.local_date)
            if key not in texts:
                texts[key] = frame_texts(rec.name, tree[rec.area_code].name, slot.local_date)
            intro, outro = texts[key]
            day = slot.local_date.isoformat()
            if day not in orders:
                orders[day] = {k: OfficerOrder(tuple(int(x) for x in o.package_order),
                                               frozenset(int(x) for x in o.skipped))
                               for k, o in repo.orders_for(session, day).items()}
            officer = orders[day].get((rec.id, target), OfficerOrder())
            for language in (tuple(rec.languages) or effective_languages(target, tree)):
                selection = None
                if not reason:
                    selection = select_for_slot(pool.values(), lineage=lineage, language=language,
                                                starts_at=slot.starts_at, max_s=rec.max_s,
                                                frame=_frame_for(intro, outro, rec.gap_s, language), officer=officer)
                plans.append(EditionPlan(rec.id, rec.name, rec.area_code, target, language, slot, rec.gap_s,
                                         intro, outro, selection, reason, rec.priority))
    plans.sort(key=lambda p: (p.slot.starts_at, p.area_code, p.program_id, p.language))
    return plans


@dataclass(frozen=True)
class EditionJob:
    """Everything a build needs, as plain values (``tasks.programs.build_edition`` runs one)."""

    program_id: int
    program_name: str
    area_code: str
    language: str
    slot_date: str
    starts_at: str  # ISO, UTC
    inputs_hash: str
    intro_text: str
    outro_text: str
    gap_s: float
    items: tuple[dict[str, Any], ...]
    left_out: tuple[dict[str, Any], ...]
    estimated_s: float
    max_s: float


def plan_builds(session: Session, *, start: datetime, end: datetime, area_code: str | None,
                extra_inputs: Mapping[str, Any], flow_run_id: str) -> list[EditionJob]:
    """Plan the editions of slots starting in ``[start, end)``; save those that will not air, and return the
    ones whose audio must be (re)built. The planning run is audited as ``flow.program``.

    Skipped (overlap, quiet hours) and empty editions are saved with their reason so the programs page
    shows why nothing airs; an edition already published from the same inputs (``extra_inputs``: what the
    build adds, frame version, loudness target, voice...) is left alone.
    """
    plans = plan_editions(session, start=start, end=end, area_code=area_code)
    jobs: list[EditionJob] = []
    unchanged = 0
    for p in plans:
        left = [{"package_id": x.package_id, "title": x.title, "reason": x.reason.value, "detail": x.detail}
                for x in (p.selection.left_out if p.selection else ())]
        common: dict[str, Any] = dict(program_id=p.program_id, slot_date=p.slot_date, area_code=p.area_code,
                                      language=p.language, starts_at=p.slot.starts_at, actor="system")
        if p.selection is None or p.selection.empty:
            status = (EditionStatus.SKIPPED if p.selection is None else EditionStatus.EMPTY).value
            repo.save_edition(session, status=status, inputs_hash="", manifest_hash=None, manifest_key=None,
                              audio_key=None, audio_sha256=None, audio_size=None, duration_s=0.0, items=[],
                              left_out=left, detail={"reason": p.skipped_reason}, error="", **common)
            continue
        inputs = p.inputs_hash(dict(extra_inputs))
        current = repo.get_edition(session, p.program_id, p.slot_date, p.area_code, p.language)
        if current is not None and current.status == EditionStatus.PUBLISHED and current.inputs_hash == inputs:
            unchanged += 1
            continue
        items = tuple({"package_id": i.package_id, "manifest_hash": i.manifest_hash, "title": i.title,
                       "priority": i.priority.value, "audio_key": i.audio.key, "audio_sha256": i.audio.sha256,
                       "duration_s": round(i.audio.duration_s, 2), "offset_s": round(i.offset_s, 2)}
                      for i in p.selection.items)
        jobs.append(EditionJob(p.program_id, p.program_name, p.area_code, p.language, p.slot_date,
                               p.slot.starts_at.isoformat(), inputs, p.intro_text, p.outro_text, p.gap_s,
                               items, tuple(left), round(p.selection.total_s, 1), p.selection.max_s))
    audit.record(session, actor="system", action="flow.program", entity="program", entity_id="*",
                 window=[start.isoformat(), end.isoformat()], area_code=area_code, planned=len(plans),
                 to_build=len(jobs), unchanged=unchanged, flow_run_id=flow_run_id)
    return jobs


def record_build_failure(session: Session, job: EditionJob, error: str) -> str | None:
    """Record why an edition could not be built.

    A previously published build of the same edition stays on offer (its packages are re-checked at every
    device poll, so it never carries a withdrawn item); the error is kept beside it for the programs page and
    audited. Without one the edition is saved as failed.

    Returns:
        The manifest hash of the build kept on offer, or None when the edition is now failed.
    """
    current = repo.get_edition(session, job.program_id, job.slot_date, job.area_code, job.language)
    if current is not None and current.status == EditionStatus.PUBLISHED:
        current.error = error[:2000]
        audit.record(session, actor="system", action="program.edition.build_failed", entity="program",
                     entity_id=job.program_id, slot_date=job.slot_date, area_code=job.area_code,
                     language=job.language, error=error[:500], kept=current.manifest_hash)
        return current.manifest_hash
    repo.save_edition(session, program_id=job.program_id, slot_date=job.slot_date, area_code=job.area_code,
                      language=job.language, starts_at=datetime.fromisoformat(job.starts_at),
                      status=EditionStatus.FAILED.value, actor="system", error=error[:2000], inputs_hash="")
    return None


def plan_day(session: Session, day: date, *, area_code: str | None = None) -> list[EditionPlan]:
    """Plans of one Vietnam calendar day (00:00-24:00 local)."""
    start, end = day_window(day)
    return plan_editions(session, start=start, end=end, area_code=area_code)


def reorder(session: Session, *, program_id: int, day: date, area_code: str, order: list[int],
            skipped: list[int] | None = None, actor: str) -> None:
    """Record the commune officer's order (package ids, within each priority level) for one date.

    Ưu tiên and khẩn cấp items cannot be left out (Circular 39); the rule is applied when planning, and
    asking for it is refused here with a clear error.

    Only an approver or admin of ``area_code`` (or of an area above it) may: ``actor`` is checked.

    Raises:
        InvalidInput: duplicate ids, ids that are not in the edition, or leaving out a priority item; no actor.
        Forbidden: the actor is no approver or admin of the area.
    """
    rec = repo.get_program(session, program_id)
    tree = area_repo.all_areas(session)
    area_repo.get_area(session, area_code)
    auth.require_actor(session, actor, "area.configure", area_codes=[area_code], what="order programs")
    if rec.area_code not in lineage_of(area_code, tree):
        raise InvalidInput(f"program {program_id} is for area {rec.area_code}, which does not cover {area_code}")
    skipped = list(skipped or [])
    if len(set(order)) != len(order) or len(set(skipped)) != len(skipped):
        raise InvalidInput("a package appears twice in the order")
    known = {c.package_id: c for c in repo.airable_candidates(session)}
    lineage = lineage_of(area_code, tree)
    for pid in [*order, *skipped]:
        cand = known.get(pid)
        if cand is None or not any(code in lineage for code in cand.area_codes):
            raise InvalidInput(f"package {pid} is not an approved package for area {area_code}")
    for pid in skipped:
        if known[pid].priority is not Priority.THUONG:
            raise InvalidInput(f"package {pid} is {known[pid].priority.label_vi}: only 'thường' items may be "
                               "left out of a program (Circular 39)")
    repo.set_order(session, program_id=program_id, slot_date=day.isoformat(), area_code=area_code, order=order,
                   skipped=skipped, actor=actor)


def day_overview(session: Session, day: date, *, area_code: str | None = None) -> list[dict[str, object]]:
    """What each edition of a Vietnam date will play, as plain values for the CLI and the programs page.

    Combines the plan (what would be selected now, and what is left out and why) with what was built and
    published to devices (status, length, loudness, audio), so an officer sees both.
    """
    tree = area_repo.all_areas(session)
    out: list[dict[str, object]] = []
    for p in plan_day(session, day, area_code=area_code):
        built = repo.get_edition(session, p.program_id, p.slot_date, p.area_code, p.language)
        sel = p.selection
        out.append({
            "program_id": p.program_id, "program": p.program_name, "program_area": p.program_area,
            "area_code": p.area_code, "area_name": tree[p.area_code].name, "language": p.language,
            "date": p.slot_date, "time": f"{p.slot.local_start:%H:%M}", "starts_at": p.slot.starts_at.isoformat(),
            "priority": p.priority, "skipped_reason": p.skipped_reason,
            "items": [{"package_id": i.package_id, "title": i.title, "priority": i.priority.value,
                       "duration_s": round(i.audio.duration_s, 1), "offset_s": round(i.offset_s, 1)}
                      for i in (sel.items if sel else ())],
            "left_out": [{"package_id": x.package_id, "title": x.title, "reason": x.reason.value,
                          "detail": x.detail} for x in (sel.left_out if sel else ())],
            "estimated_s": round(sel.total_s, 1) if sel else 0.0, "max_s": sel.max_s if sel else 0.0,
            "status": built.status if built is not None else (EditionStatus.EMPTY.value if sel is not None and
                                                              sel.empty else EditionStatus.PLANNED.value),
            "built_items": [int(i["package_id"]) for i in built.items] if built is not None else [],
            "duration_s": built.duration_s if built is not None else 0.0,
            "manifest_hash": built.manifest_hash if built is not None else None,
            "audio_key": built.audio_key if built is not None else None,
            "loudness_i": (built.detail.get("loudness") or {}).get("output_i") if built is not None else None,
            "error": built.error if built is not None else "",
        })
    return out
