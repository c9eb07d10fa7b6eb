"""Publishing an approved package, as decided before anything is sent: whether it may go out, to which
destinations, and the audit entry of the publish run. ``tasks.publishing`` calls these in one line each; the
deliveries are sent by ``tasks.outbox``."""

from sqlalchemy.orm import Session

from domain.approvals import check_publishable
from domain.deliveries import DeliveryStatus, destination_takes
from domain.errors import InvalidInput
from domain.packages import PackageStatus, verify_manifest
from services import auth
from services.devices import devices_reaching
from storage.objects import ObjectStore
from storage.repositories import audit, destinations, drafts, outbox, packages


def reaching_devices(session: Session, package_id: int) -> int:
    """How many authorised devices reach the package's areas (they pull it once it is published)."""
    pkg = packages.get_package(session, package_id)
    return len(devices_reaching(session, list(drafts.revision_by_id(session, pkg.revision_id).content.area_codes)))


def prepare_deliveries(session: Session, store: ObjectStore, package_id: int, *, flow_run_id: str) -> list[int]:
    """Check the package may be published and create its deliveries (once per destination); audited as the
    publish run ``flow_run_id``.

    The stored manifest is re-read and hashed: what goes out is exactly what was approved, and every asset it
    lists must be stored.

    Returns:
        IDs of the deliveries still to send (neither delivered nor given up).

    Raises:
        ApprovalRefused: the package is not approved for its current manifest.
        ManifestMismatch: the stored manifest is not the approved one.
        InvalidInput: no destination takes the package and no device reaches its areas, or an asset is missing.
    """
    pkg = packages.get_package(session, package_id)
    check_publishable(status=PackageStatus(pkg.status), manifest_hash=pkg.manifest_hash or "",
                      approved_hashes=packages.approved_hashes(session, package_id))
    manifest_hash, manifest_key = pkg.manifest_hash or "", pkg.manifest_key or ""
    tree = auth.area_tree(session)
    codes = auth.package_area_codes(session, package_id)
    targets = [d for d in destinations.list_destinations(session, enabled_only=True)
               if destination_takes(d.area_code, codes, tree)]
    if not targets and not reaching_devices(session, package_id):
        raise InvalidInput("no destination is configured and no authorised device reaches these areas; add one "
                           "with 'bantin destinations add NAME URL' or authorise a device")
    manifest = verify_manifest(store.get_bytes(manifest_key), manifest_hash)
    missing = [a["key"] for v in manifest["variants"] for a in v["assets"] if not store.exists(a["key"])]
    if missing:
        raise InvalidInput(f"package {package_id} lacks {len(missing)} stored asset(s), e.g. {missing[0]}")
    audit.record(session, actor="system", action="flow.publish", entity="package", entity_id=package_id,
                 flow_run_id=flow_run_id)
    todo = []
    for dest in targets:
        d = outbox.ensure(session, package_id=package_id, manifest_hash=manifest_hash, destination_id=dest.id)
        if d.status not in (DeliveryStatus.DELIVERED, DeliveryStatus.DEAD):
            todo.append(d.id)
    return todo
