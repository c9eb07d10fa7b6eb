"""Fixtures for program tests: a migrated database with a small area tree, and published packages made
through the repositories (the same records the produce and publish flows write)."""

from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest

from domain.approvals import Decision, Role
from domain.areas import Area, AreaLevel
from domain.drafts import Channel, DraftContent
from domain.keys import manifest_key
from domain.packages import AssetKind, PackageStatus, VariantStatus, build_manifest
from domain.priority import Priority
from services import runtime
from settings import get_settings
from storage.migrate import upgrade
from storage.repositories import areas, drafts, packages, users

TREE = {
    "84": Area("84", "Tỉnh Trà Vinh", AreaLevel.PROVINCE, None, ("vi", "km")),
    "842": Area("842", "Thành phố Trà Vinh", AreaLevel.DISTRICT, "84"),
    "29236": Area("29236", "Phường 4", AreaLevel.COMMUNE, "842"),
    "29239": Area("29239", "Phường 1", AreaLevel.COMMUNE, "842"),
    "48": Area("48", "Thành phố Đà Nẵng", AreaLevel.PROVINCE, None, ("vi",)),
    "490": Area("490", "Quận Liên Chiểu", AreaLevel.DISTRICT, "48"),
    "20194": Area("20194", "Phường Hòa Hiệp Bắc", AreaLevel.COMMUNE, "490"),
}


@pytest.fixture
def home(bantin_env: Path) -> Iterator[Path]:
    upgrade(get_settings().database_url)
    with runtime.session() as s:
        areas.upsert_areas(s, TREE)
        # the operator the tests act as: a system-wide admin (area settings are checked in the services)
        users.add_user(s, username="op", full_name="Vận hành", roles=[Role.ADMIN], actor="test")
    yield bantin_env


MakePackage = Callable[..., int]


@pytest.fixture
def make_package(home: Path) -> MakePackage:
    """Create an approved (and by default published) package with audio per language.

    ``audio`` maps a language to an audio file to store, or to a duration in seconds (planning-only tests:
    the bytes are then a placeholder that is never decoded).
    """
    def make(*, title: str, areas_: tuple[str, ...], audio: dict[str, Path | float], priority: Priority =
             Priority.THUONG, embargo_at: datetime | None = None, expires_at: datetime | None = None,
             status: PackageStatus = PackageStatus.PUBLISHED) -> int:
        store = runtime.object_store()
        langs = tuple(audio)
        content = DraftContent(title=title, body=f"{title}. Nội dung.", area_codes=areas_,
                               languages=langs, priority=priority, channels=(Channel.LOUDSPEAKER,),
                               embargo_at=embargo_at, expires_at=expires_at)
        with runtime.session() as s:
            rev = drafts.create_draft(s, content=content, author="editor")
            rev_rec = drafts.latest_revision_record(s, rev.draft_id)
            pkg = packages.create_package(s, draft_id=rev.draft_id, revision_id=rev_rec.id, actor="system")
            for lang, source in audio.items():
                if isinstance(source, Path):
                    from engines import ffmpeg as ff

                    obj = store.put_file(source, ext="mp3", media_type="audio/mpeg")
                    duration = ff.probe(source).duration_s
                else:
                    obj = store.put_bytes(f"{title}-{lang}".encode(), ext="mp3", media_type="audio/mpeg")
                    duration = float(source)
                packages.record_asset(s, package_id=pkg.id, language=lang, kind=AssetKind.AUDIO, stored=obj,
                                      meta={"duration_s": duration})
                packages.set_variant(s, package_id=pkg.id, language=lang, status=VariantStatus.READY)
            manifest = build_manifest(
                draft_id=rev.draft_id, revision=1, content_hash=content.content_hash(), title=title,
                priority=priority.value, areas=list(areas_), channels=["loudspeaker"],
                embargo_at=embargo_at.isoformat() if embargo_at else None,
                expires_at=expires_at.isoformat() if expires_at else None, source_ref="", requesting_unit="",
                variants=packages.variants_of(s, pkg.id))
            store.put_at(manifest_key(manifest.hash), manifest.data, media_type="application/json")
            pkg.manifest_hash, pkg.manifest_key = manifest.hash, manifest_key(manifest.hash)
            packages.set_status(s, pkg, PackageStatus.IN_REVIEW, actor="system")
            packages.add_approval(s, package_id=pkg.id, manifest_hash=manifest.hash, approver="approver",
                                  decision=Decision.APPROVED)
            packages.set_status(s, pkg, PackageStatus.APPROVED, actor="approver")
            if status is not PackageStatus.APPROVED:
                packages.set_status(s, pkg, status, actor="system")
            return pkg.id

    return make
