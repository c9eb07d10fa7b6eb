"""Default content: published packages that devices play when nothing is due (Xibo's default layout,
OpenBroadcaster's default playlist).

Set per area and inherited downward like quiet hours: a device gets the list of the nearest area, its own
or one above, that sets one. Only published, non-emergency packages aimed at that area or an area above it
qualify; a package withdrawn or killed later simply drops out of every device's list (device schedules
are rebuilt from the package's live state). The agent plays default content in rotation when idle, at
most every ``default_every`` seconds (docs/device-agent.md).
"""

from sqlalchemy.orm import Session

from domain.errors import InvalidInput, NotFound
from domain.packages import PackageStatus
from domain.priority import Priority
from services import areas as area_service
from services import auth
from services.devices import area_chain, area_map
from storage.models import DraftRevisionRecord
from storage.repositories import packages
from storage.repositories import programs as repo

MAX_PACKAGES = 10  # a rotation, not a playlist: more would never come round on a busy day


def set_default_content(session: Session, *, area_code: str, package_ids: list[int], actor: str) -> list[int]:
    """Set (or, with an empty list, remove) the default content of an area.

    Returns:
        The package ids kept, in order, without repeats.

    Only an approver or admin of the area (or of an area above it) may: ``actor`` is checked.

    Raises:
        NotFound: unknown area, package or actor.
        InvalidInput: too many packages; one not published, an emergency, or aimed elsewhere; no actor.
        Forbidden: the actor is no approver or admin of the area.
    """
    all_areas = area_map(session)
    if area_code not in all_areas:
        raise NotFound(f"unknown area code '{area_code}' (see 'bantin areas list')")
    auth.require_actor(session, actor, "area.configure", area_codes=[area_code], what="set default content")
    ids = list(dict.fromkeys(package_ids))
    if len(ids) > MAX_PACKAGES:
        raise InvalidInput(f"{len(ids)} packages given; default content holds at most {MAX_PACKAGES}")
    chain = area_service.with_old_codes(session, set(area_chain(area_code, all_areas)))  # and units it absorbed
    for package_id in ids:
        pkg = packages.get_package(session, package_id)
        rev = session.get(DraftRevisionRecord, pkg.revision_id)
        if pkg.status != PackageStatus.PUBLISHED.value:
            raise InvalidInput(f"package {package_id} is {pkg.status}: only published packages can be default "
                               "content")
        if rev is None or rev.priority == Priority.KHAN_CAP.value:
            raise InvalidInput(f"package {package_id} is an emergency: emergencies are never default content")
        if not chain.intersection(rev.area_codes):
            raise InvalidInput(f"package {package_id} is aimed at {', '.join(rev.area_codes)}, not at {area_code} "
                               "or an area above it")
    repo.set_profile(session, area_code=area_code, quiet_hours=None, volume_profile=None, default_packages=ids,
                     actor=actor)
    return ids


def default_packages(session: Session, area_code: str) -> tuple[str | None, list[int]]:
    """The default content devices in ``area_code`` get: the area that set it (nearest first) and its package
    ids, or ``(None, [])``."""
    all_areas = area_map(session)
    if area_code not in all_areas:
        return None, []
    for code in area_chain(area_code, all_areas):
        rec = repo.get_profile(session, code)
        if rec is not None and rec.default_packages:
            return code, [int(i) for i in rec.default_packages]
    return None, []
