"""After the move to the 2025 units, devices in a new commune still get what was approved and published
under the old units it absorbed (the package keeps its codes: published history is not rewritten)."""

from pathlib import Path

from domain.devices import DeviceKind
from services import area_migration, device_schedule
from services import areas as area_service
from services.runtime import session
from storage.repositories import areas, drafts, packages
from tests.devices.factory import published_package


def test_a_package_for_da_loc_reaches_xa_chau_thanh_after_the_move(home: Path) -> None:
    package_id, manifest = published_package(areas=("29377",))  # Xã Đa Lộc, Trà Vinh (before July 2025)
    _, other = published_package(areas=("29416",), tag="cau-ngang")  # Cầu Ngang: another new commune
    with session() as s:
        dry = area_migration.migrate_to_2025(s, actor="root", dry_run=True)
        assign = {c.old_code: c.candidates[0] for c in dry.conflicts}
        assert area_migration.migrate_to_2025(s, actor="root", assign=assign, dry_run=False).written
    area_service.forget_cache()
    device_schedule.invalidate()
    with session() as s:
        assert "29377" not in areas.all_areas(s)
        schedule = device_schedule.area_schedule(s, "29374", DeviceKind.SPEAKER, 24, "http://127.0.0.1")
        listed = str(schedule.items)
        assert manifest in listed and other not in listed
        rev = drafts.revision_by_id(s, packages.get_package(s, package_id).revision_id)
        assert list(rev.content.area_codes) == ["29377"]  # the published package keeps its code
