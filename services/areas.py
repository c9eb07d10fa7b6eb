"""Areas as people name them: find by code or name (with or without diacritics), label current units with
the old units they absorbed, edit a province's languages, and move an installation to the 2025 units.

The CLI and the web area pickers call these functions; rules (who may change what, audit) live here.
"""

import re
from collections.abc import Mapping

from sqlalchemy.orm import Session

from domain.approvals import Role
from domain.area_history import former_units, label, related_codes, where_they_went
from domain.areas import Area, AreaLevel, describe, find_areas, resolve_area, suggest_areas
from domain.errors import ApprovalRefused, InvalidInput
from domain.languages import parse_languages
from services import area_migration, auth
from services.caches import CACHES
from storage.repositories import areas, audit, users

MAX_MATCHES = 20


def resolve(session: Session, query: str) -> Area:
    """The one current area a code or name means (``"29374"``, ``"Châu Thành, Vĩnh Long"``, ``"chau thanh"``).

    An old code or name (before July 2025) is answered with where the unit went.

    Raises:
        InvalidInput: no match (with the current units an old name's unit went to, or names close to it), or
            several (listed with their province).
        NotFound: an unknown code (a pre-2025 one with the units it went to).
    """
    text = query.strip()
    tree = auth.area_tree(session)
    if text and text not in tree and text.replace("-", "").isdigit():
        return areas.get_area(session, text)  # unknown, or retired: the message says where it went
    if text and not find_areas(text, tree):  # perhaps a unit's name before July 2025: say what it became
        table = areas.read_conversion()
        went = where_they_went(former_units(text, table), table, tree)
        if went:
            raise InvalidInput(f"unknown area '{text}': no current unit; before 1 July 2025: {went}")
    return resolve_area(text, tree)


def resolve_codes(session: Session, queries: list[str]) -> list[str]:
    """Codes for several area codes or names (commas inside a name qualify it: give names one per option)."""
    return [resolve(session, q).code for q in queries]


_CODE_LIKE = re.compile(r"^\d{2,5}(-\d{1,3})?$")


def codes_from_option(session: Session, text: str) -> list[str]:
    """Area codes from a command-line option: codes separated by commas (``29374,29386``, passed on as
    given: the service that takes them validates), or names separated by semicolons, each optionally
    followed by its province after a comma (``Châu Thành, Vĩnh Long; Hòa Thuận``).

    Raises:
        InvalidInput: a name matches nothing or several areas.
    """
    found: list[str] = []
    for item in (i.strip() for i in text.split(";")):
        parts = [p.strip() for p in item.split(",") if p.strip()]
        if parts and all(_CODE_LIKE.match(p) for p in parts):
            found += parts
        elif item:
            found.append(resolve(session, item).code)
    return found


def code_from_option(session: Session, text: str) -> str:
    """One area code from an option that takes a code or a name (a code is passed on as given)."""
    return text.strip() if _CODE_LIKE.match(text.strip()) else resolve(session, text).code


def search(session: Session, query: str) -> list[tuple[Area, str]]:
    """Areas a name matches, each with a label for pickers: ``"29374 Xã Châu Thành (Tỉnh Vĩnh Long)"``,
    and for a merged commune the old units it absorbed."""
    tree = auth.area_tree(session)
    return _labelled(find_areas(query, tree)[:MAX_MATCHES], tree)


def suggest(session: Session, query: str, *, limit: int = 12) -> list[tuple[Area, str]]:
    """Candidates for an area field while it is typed (code, or name with or without diacritics), labelled
    as :func:`search` labels them."""
    tree = auth.area_tree(session)
    return _labelled(suggest_areas(query, tree, limit=limit), tree)


def _labelled(found: list[Area], tree: Mapping[str, Area]) -> list[tuple[Area, str]]:
    out = []
    for area in found:
        named = display_name(area)
        out.append((area, f"{describe(area, tree)} — {named}" if named != area.name else describe(area, tree)))
    return out


def children(session: Session, code: str | None) -> list[Area]:
    """The current units under ``code`` (provinces for None), by code."""
    tree = auth.area_tree(session)
    return sorted((a for a in tree.values() if a.parent_code == code), key=lambda a: a.code)


def display_name(area: Area) -> str:
    """``"Xã Châu Thành (gồm xã Đa Lộc, xã Mỹ Chánh cũ…)"`` for a commune that absorbed others; provinces and
    hamlets keep their plain name."""
    return label(area, areas.read_conversion()) if area.level is AreaLevel.COMMUNE else area.name


def area_names(session: Session, codes: list[str]) -> list[str]:
    """Names for codes items were filed under: a current unit's name, or for a unit retired in 2025 both
    names (``"Xã Đa Lộc (nay thuộc Xã Châu Thành)"``); an unknown code stays as it is."""
    tree = auth.area_tree(session)
    retired = areas.retired_areas(session) if any(c not in tree for c in codes) else {}
    out = []
    for code in codes:
        if code in tree:
            out.append(tree[code].name)
        elif code in retired:
            old, now = retired[code]
            current = ", ".join(tree[c].name for c in now if c in tree)
            out.append(f"{old.name} (nay thuộc {current})" if current else old.name)
        else:
            out.append(code)
    return out


def archive_codes(session: Session, code: str) -> set[str]:
    """Other codes an archive search for area ``code`` covers once the installation is on today's units:
    for a current unit the old units it absorbed, for an old (retired) unit the current units it became.
    Items keep the codes they were published under; a code that is itself current stays its own unit."""
    if AreaLevel.DISTRICT in areas.levels(session):
        return set()  # still on the old units: old codes mean themselves
    tree = auth.area_tree(session)
    related = related_codes([code], areas.read_conversion()) - {code}
    if code in tree:
        return {c for c in related if c not in tree}
    return {c for c in related if c in tree}


def with_old_codes(session: Session, chain: set[str]) -> set[str]:
    """``chain`` (a device's area and its ancestors) with the retired units whose territory went into it, so
    bulletins approved under an old code before the move still reach the devices now in the new unit
    (cached ``BANTIN_AREA_CACHE_S`` per database, like the area map devices poll against)."""
    retired = CACHES.retired_areas.get_or_build(
        str(session.get_bind().engine.url),
        lambda: {code: set(succ) for code, (_, succ) in areas.retired_areas(session).items()})
    return chain | {code for code, succ in retired.items() if succ & chain}


def forget_cache() -> None:
    CACHES.retired_areas.clear()


def _require_admin(session: Session, username: str) -> None:
    user = users.get_user(session, username)
    if not user.active or not any(m.role is Role.ADMIN and m.area_code is None for m in users.memberships_of(user)):
        raise ApprovalRefused(f"user '{username}' is not a system-wide admin")


def set_languages(session: Session, *, code: str, languages: str, actor: str) -> Area:
    """Set the languages bulletins for an area are produced in (Vietnamese first), audited.

    Raises:
        InvalidInput: unknown language, or Vietnamese missing.
        ApprovalRefused: ``actor`` is not an admin of the area.
        NotFound: unknown area.
    """
    area = resolve(session, code)
    user = users.get_user(session, actor)
    if not auth.can(session, user, "admin", area_codes=[area.code]):
        raise ApprovalRefused(f"user '{actor}' is not an admin for area {area.code}")
    langs = list(parse_languages(languages))
    if "vi" not in langs:
        raise InvalidInput("Vietnamese (vi) must stay among an area's languages")
    before = list(area.languages)
    areas.set_languages(session, area.code, langs)
    session.info.pop("bantin.area_tree", None)
    audit.record(session, actor=actor, action="area.languages", entity="area", entity_id=area.code,
                 before=before, after=langs)
    return areas.get_area(session, area.code)


def parse_assignments(items: list[str]) -> dict[str, str]:
    """``["29380=29374", "847=86"]`` -> ``{"29380": "29374", "847": "86"}``.

    Raises:
        InvalidInput: an item is not OLD=NEW, or an old code is given twice.
    """
    found: dict[str, str] = {}
    for item in items:
        old, sep, new = item.partition("=")
        if not sep or not old.strip() or not new.strip():
            raise InvalidInput(f"--assign '{item}': write OLD=NEW (e.g. 847=86)")
        if old.strip() in found:
            raise InvalidInput(f"--assign: {old.strip()} is given twice")
        found[old.strip()] = new.strip()
    return found


def migrate(session: Session, *, actor: str, to: str, assign: list[str], dry_run: bool,
            **options: object) -> area_migration.MigrationReport:
    """``bantin areas migrate --to 2025``: only a system-wide admin may move an installation.

    Raises:
        InvalidInput: another target than 2025, or a bad assignment.
        ApprovalRefused: ``actor`` is not a system-wide admin.
    """
    if to != area_migration.TARGET:
        raise InvalidInput(f"areas can be migrated to {area_migration.TARGET} only, not '{to}'")
    _require_admin(session, actor)
    report = area_migration.migrate_to_2025(session, actor=actor, assign=parse_assignments(assign),
                                            dry_run=dry_run, **options)  # type: ignore[arg-type]  # options: the CLI's keyword flags
    session.info.pop("bantin.area_tree", None)
    forget_cache()
    return report


def level_counts(tree: Mapping[str, Area]) -> dict[AreaLevel, int]:
    counts: dict[AreaLevel, int] = {}
    for area in tree.values():
        counts[area.level] = counts.get(area.level, 0) + 1
    return counts
