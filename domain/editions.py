"""What goes into one edition of a program (pure; no I/O).

An **edition** is one program on one date for one commune and language: the approved, valid packages
targeted at that commune (or any area above it), ordered per Circular 39 (khẩn cấp, then ưu tiên, then
thường; the commune officer orders items within a level and may leave out thường items), framed by an intro
and an outro, with gaps, under a total-duration cap. What is left out is reported with the reason, so the
officer sees why a bulletin did not air. The recurring slots themselves are ``domain.programs``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from domain.areas import Area
from domain.clock import require_aware
from domain.errors import InvalidInput
from domain.priority import Priority
from domain.programs import VN_TZ


class EditionStatus(StrEnum):
    """A built (or not built) edition: what ``program_editions.status`` holds, and ``planned`` before a build."""

    PLANNED = "planned"  # on the plan, not built yet (never stored)
    PUBLISHED = "published"  # audio stored, devices get it
    EMPTY = "empty"  # nothing to play
    SKIPPED = "skipped"  # the slot does not air (e.g. inside quiet hours)
    FAILED = "failed"  # the build failed (a previous published build stays on offer)


class LeftOutReason(StrEnum):
    EMBARGOED = "embargoed"
    EXPIRED = "expired"
    NO_AUDIO = "no_audio"
    OVER_CAP = "over_cap"
    SKIPPED = "skipped_by_officer"
    NOT_APPROVED = "not_approved"


@dataclass(frozen=True, slots=True)
class AudioRef:
    """A package's loudspeaker audio in one language (an object key; never the bytes)."""

    key: str
    sha256: str
    size: int
    duration_s: float


@dataclass(frozen=True, slots=True)
class Candidate:
    """A package that might go into programs: what selection needs to know about it.

    ``approved`` is true when the package holds an approval for its current manifest and is in a state that
    may air (approved, scheduled or published); ``ready_at`` orders items first-come within a priority.
    """

    package_id: int
    manifest_hash: str
    title: str
    priority: Priority
    area_codes: tuple[str, ...]
    audio: Mapping[str, AudioRef]
    approved: bool = True
    embargo_at: datetime | None = None
    expires_at: datetime | None = None
    ready_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class PlannedItem:
    package_id: int
    manifest_hash: str
    title: str
    priority: Priority
    audio: AudioRef
    offset_s: float  # from the start of the programme (after the intro and the gaps before it)


@dataclass(frozen=True, slots=True)
class LeftOut:
    package_id: int
    title: str
    reason: LeftOutReason
    detail: str


@dataclass(frozen=True, slots=True)
class Selection:
    """What one edition plays, and what it leaves out and why."""

    items: tuple[PlannedItem, ...]
    left_out: tuple[LeftOut, ...]
    total_s: float  # intro + items + gaps + outro
    max_s: float

    @property
    def empty(self) -> bool:
        return not self.items


@dataclass(frozen=True, slots=True)
class Frame:
    """The fixed parts of a programme around its items."""

    intro_s: float = 0.0
    outro_s: float = 0.0
    gap_s: float = 2.0


@dataclass(frozen=True, slots=True)
class OfficerOrder:
    """The commune officer's choices for an edition: package ids in the wanted order (within a priority
    level) and thường items to leave out. Ưu tiên and khẩn cấp items cannot be left out (Circular 39)."""

    order: tuple[int, ...] = ()
    skipped: frozenset[int] = field(default_factory=frozenset)


def targets(candidate_areas: Iterable[str], lineage: frozenset[str]) -> bool:
    """Whether a package targeted at ``candidate_areas`` reaches the commune whose ``lineage`` (the commune and
    its ancestors) is given: a package for the province reaches every commune in it."""
    return any(code in lineage for code in candidate_areas)


def lineage_of(area_code: str, areas: Mapping[str, Area]) -> frozenset[str]:
    """The area and all its ancestors."""
    out = []
    current: str | None = area_code
    while current is not None:
        out.append(current)
        area = areas.get(current)
        current = area.parent_code if area is not None else None
    return frozenset(out)


def effective_languages(area_code: str, areas: Mapping[str, Area]) -> tuple[str, ...]:
    """The languages of the nearest area (itself first) that lists any; always including Vietnamese."""
    current: str | None = area_code
    while current is not None:
        area = areas.get(current)
        if area is None:
            break
        if area.languages:
            langs = area.languages
            return langs if "vi" in langs else ("vi", *langs)
        current = area.parent_code
    return ("vi",)


def select_for_slot(
    candidates: Iterable[Candidate],
    *,
    lineage: frozenset[str],
    language: str,
    starts_at: datetime,
    max_s: float,
    frame: Frame = Frame(),
    officer: OfficerOrder = OfficerOrder(),
) -> Selection:
    """Choose and order the packages of one edition.

    Rules, in order: targeted at the commune or an area above it (others are ignored silently); approved
    for the current manifest; embargo passed and not expired at the slot's start; audio in ``language``;
    not left out by the officer (thường only); then ordered khẩn cấp > ưu tiên > thường, within a level by
    the officer's order and then first-come (``ready_at``, then package id); then fitted under ``max_s``
    (intro, outro and a gap between parts included). An item that does not fit is left out and later,
    shorter items may still fit.

    Args:
        candidates: Packages that may air (any area; filtered here).
        lineage: The commune and its ancestors (see :func:`lineage_of`).
        language: The edition's language.
        starts_at: The slot's start (UTC).
        max_s: The program's duration cap in seconds.
        frame: Intro and outro lengths and the gap between parts.
        officer: The commune officer's order and skips.

    Returns:
        The selection with offsets, what was left out and why, and the total length.
    """
    starts_at = require_aware(starts_at)
    rank_in_officer = {pid: n for n, pid in enumerate(officer.order)}
    eligible: list[tuple[Candidate, AudioRef]] = []
    left: list[LeftOut] = []
    for c in candidates:
        if not targets(c.area_codes, lineage):
            continue
        if not c.approved:
            left.append(LeftOut(c.package_id, c.title, LeftOutReason.NOT_APPROVED,
                                "no approval for the current manifest"))
        elif c.embargo_at is not None and c.embargo_at > starts_at:
            left.append(LeftOut(c.package_id, c.title, LeftOutReason.EMBARGOED,
                                f"embargoed until {c.embargo_at.astimezone(VN_TZ):%d/%m/%Y %H:%M}"))
        elif c.expires_at is not None and c.expires_at <= starts_at:
            left.append(LeftOut(c.package_id, c.title, LeftOutReason.EXPIRED,
                                f"expired at {c.expires_at.astimezone(VN_TZ):%d/%m/%Y %H:%M}"))
        elif language not in c.audio:
            left.append(LeftOut(c.package_id, c.title, LeftOutReason.NO_AUDIO,
                                f"no loudspeaker audio in '{language}' yet"))
        elif c.package_id in officer.skipped and c.priority is Priority.THUONG:
            left.append(LeftOut(c.package_id, c.title, LeftOutReason.SKIPPED, "left out by the commune officer"))
        else:
            eligible.append((c, c.audio[language]))
    far = len(rank_in_officer)
    epoch = datetime.min.replace(tzinfo=UTC)
    eligible.sort(key=lambda ca: (-ca[0].priority.rank, rank_in_officer.get(ca[0].package_id, far),
                                  ca[0].ready_at or epoch, ca[0].package_id))
    items: list[PlannedItem] = []
    used = frame.intro_s + frame.outro_s
    for c, audio in eligible:
        gap = frame.gap_s * (2 if not items else 1)  # after the intro, then between items (one before the outro)
        need = audio.duration_s + gap
        if used + need > max_s:
            left.append(LeftOut(c.package_id, c.title, LeftOutReason.OVER_CAP,
                                f"needs {audio.duration_s:.0f} s, {max(max_s - used - gap, 0):.0f} s left "
                                f"of {max_s:.0f} s"))
            continue
        offset = (items[-1].offset_s + items[-1].audio.duration_s if items else frame.intro_s) + frame.gap_s
        items.append(PlannedItem(c.package_id, c.manifest_hash, c.title, c.priority, audio, offset))
        used += need
    total = used if items else 0.0
    return Selection(tuple(items), tuple(left), total, max_s)


def languages_heard(area_codes: Iterable[str], areas: Mapping[str, Area]) -> tuple[str, ...]:
    """The languages a bulletin for ``area_codes`` may be made in: each target's own (or its nearest area
    above's, :func:`effective_languages`) and those of every area below it (a province's bulletin reaches its
    Khmer-speaking communes); Vietnamese always. Sorted by code, Vietnamese first."""
    targets = set(area_codes)
    heard = {"vi"}
    for code in targets:
        heard.update(effective_languages(code, areas))
    if targets:
        for area in areas.values():
            if area.languages and targets & lineage_of(area.code, areas):
                heard.update(area.languages)
    return tuple(sorted(heard, key=lambda c: (c != "vi", c)))


def check_languages_heard(languages: Iterable[str], area_codes: Iterable[str], areas: Mapping[str, Area]) -> None:
    """Refuse a language no target area uses (a Khmer bulletin for a commune where no one speaks Khmer).

    Raises:
        InvalidInput: naming the languages refused, the areas, and the languages that may be chosen there.
    """
    codes = [c for c in area_codes if c in areas]
    heard = languages_heard(codes, areas)
    refused = [lang for lang in languages if lang not in heard]
    if refused:
        raise InvalidInput(f"language(s) not used in the target areas {', '.join(codes)}: {', '.join(refused)}; "
                           f"choose among: {', '.join(heard)}")
