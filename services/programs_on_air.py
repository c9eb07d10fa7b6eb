"""What devices are told about programmes: the published editions they may play, and their audio.

An edition stays on offer only while everything in it is still airable, checked at every call, so a
withdrawal takes effect on devices before any rebuild.
"""

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain.areas import AreaLevel
from domain.editions import EditionStatus
from domain.programs import VN_TZ
from domain.schedules import FileRef, ScheduleItem
from storage.models_programs import AreaProfileRecord, ProgramEditionRecord, ProgramRecord
from storage.repositories import areas
from storage.repositories import programs as repo


def program_items(session: Session, area_code: str, languages: tuple[str, ...], start: datetime,
                  end: datetime, *, file_url: Callable[[str, str], str] | None = None) -> list[ScheduleItem]:
    """Assembled programmes for a device in ``area_code`` playing between ``start`` and ``end`` (UTC).

    Only published editions built for the device's own area count (per-area variants differ per commune).
    An edition that contains a package withdrawn, killed or corrected since it was built is left out at
    once, before any rebuild, so nothing withdrawn airs inside a programme.

    Args:
        file_url: ``(object key, sha256) -> URL`` a device fetches the audio from (the device service's
            presigned-or-``/device/v1/files`` rule); default: the object store's own URL for the key.
    """
    from services.runtime import object_store  # the process-wide store (S3 hands out presigned URLs)

    here = areas.get_area(session, area_code)
    if here.level is AreaLevel.HAMLET and here.parent_code:  # editions are built per commune: a hamlet's
        area_code = here.parent_code  # loudspeakers air its commune's programmes
    editions = repo.editions_between(session, area_codes=[area_code], languages=list(languages), start=start,
                                     end=end, status=EditionStatus.PUBLISHED.value)
    if not editions:
        return []
    store = object_store()
    out: list[ScheduleItem] = []
    for e, rec in _on_air(session, editions):
        if e.audio_key is None:  # _on_air keeps editions with audio only
            continue
        local = e.starts_at.astimezone(VN_TZ)
        out.append(ScheduleItem(
            item_id=edition_item_id(e), kind="program", manifest_hash=e.manifest_hash or "",
            priority=rec.priority, language=e.language, title=f"{rec.name} {local:%H:%M %d/%m/%Y}",
            starts_at=e.starts_at, expires_at=e.starts_at + timedelta(seconds=max(rec.max_s, e.duration_s)),
            audio=FileRef(name=f"{e.audio_sha256}.mp3",
                          url=file_url(e.audio_key, e.audio_sha256 or "") if file_url else store.url(e.audio_key),
                          size=int(e.audio_size or 0), sha256=e.audio_sha256 or ""),
        ))
    return out


def generation_parts() -> list[Any]:
    """Scalar subqueries whose values change whenever an edition is built, rebuilt or marked, a program is
    changed or switched off, or an area's quiet hours or volume profile are set: the device service reads them
    with its package generation in one statement to decide whether a built schedule is still current,
    whichever node made the change."""
    return [select(func.count(ProgramEditionRecord.id)).scalar_subquery(),
            *(select(func.max(col)).scalar_subquery() for col in (
                ProgramEditionRecord.updated_at, ProgramRecord.updated_at, AreaProfileRecord.updated_at))]


def edition_item_id(e: ProgramEditionRecord) -> str:
    """Stable per slot, commune and language: a rebuilt edition replaces the old one on the device."""
    return f"program-{e.program_id}-{e.slot_date}-{e.area_code}-{e.language}"


def program_audio_key(session: Session, sha256: str) -> str | None:
    """The object key of a published programme's audio with this SHA-256, or None.

    For the device file endpoint: programme audio is not a package asset, so it is looked up here. Only an
    edition still on offer to devices counts (the same rule as :func:`program_items`): once a package in it
    is withdrawn, killed or corrected, or its program switched off, its audio is no longer served, just as a
    withdrawn package's files are not.
    """
    editions = list(session.scalars(select(ProgramEditionRecord).where(
        ProgramEditionRecord.audio_sha256 == sha256, ProgramEditionRecord.status == EditionStatus.PUBLISHED.value)))
    return next((e.audio_key for e, _ in _on_air(session, editions)), None)


def _on_air(session: Session, editions: list[ProgramEditionRecord]
            ) -> list[tuple[ProgramEditionRecord, ProgramRecord]]:
    """The published editions devices may play, with their program: audio present, program active, and every
    package in it still airable (checked at each call, so a withdrawal takes effect before any rebuild)."""
    live = repo.airable_package_ids(session, sorted({int(i["package_id"]) for e in editions for i in e.items}))
    out = []
    for e in editions:
        if not e.audio_key or any(int(i["package_id"]) not in live for i in e.items):
            continue
        rec = repo.get_program(session, e.program_id)
        if rec.active:  # not switched off after it was built
            out.append((e, rec))
    return out
