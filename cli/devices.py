"""``bantin devices|keys|deliveries|cap``: devices and their authorisation, signing keys, the delivery queue
(dead letters and resend) and CAP export of emergencies.

    bantin devices list [--status pending]
    bantin devices authorize 7 --as admin
    bantin keys show            # public keys to configure on devices (--trust KEY_B64)
    bantin keys rotate --as admin
    bantin deliveries list --dead
    bantin deliveries resend 12 --as admin
    bantin cap export 42 > alert.xml
"""

from datetime import UTC, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

import typer

from cli.common import AsUser, echo, ensure_db, need_user
from domain.deliveries import OutboxKind
from domain.devices import DeviceStatus
from domain.errors import InvalidInput
from domain.signatures import b64
from services import devices as device_service
from services import outbox as outbox_service
from services import signing
from services.runtime import object_store, session
from storage.repositories import devices as device_repo

devices_app = typer.Typer(help="Loudspeaker players and e-boards: list, authorise, revoke.", no_args_is_help=True)
keys_app = typer.Typer(help="The installation's signing keys (Ed25519).", no_args_is_help=True)
deliveries_app = typer.Typer(help="The delivery queue: per destination state, dead letters, resend.",
                             no_args_is_help=True)
VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
cap_app = typer.Typer(help="CAP 1.2 export of emergency packages.", no_args_is_help=True)



def _when(value: datetime | None) -> str:
    return value.astimezone(VN_TZ).strftime("%d/%m/%Y %H:%M") if value else "-"


@devices_app.command("list")
def devices_list(
    status: Annotated[str | None, typer.Option(help="pending, authorised or revoked.")] = None,
    as_user: AsUser = "",
) -> None:
    """List the devices of the areas you administer, with their status and when they were last heard from."""
    ensure_db()
    try:
        wanted = DeviceStatus(status) if status else None
    except ValueError:
        raise InvalidInput("--status: pending, authorised or revoked") from None
    with session() as s:
        for d in device_service.devices_for(s, need_user(as_user), wanted):
            echo(f"{d.id:>4}  {d.status:<10} {d.kind:<7} {d.area_code:>5}  {d.name}  "
                 f"(hw {d.hardware_id}, seen {_when(d.last_seen_at)})")


@devices_app.command("show")
def devices_show(device_id: int, as_user: AsUser = "") -> None:
    """Show one device of an area you administer: identity, key, inventory and its latest play logs."""
    ensure_db()
    with session() as s:
        d = device_service.device_for(s, need_user(as_user), device_id)
        row = device_service.device_row(d)
        logs = device_repo.play_logs(s, device_id=device_id, limit=20)
        echo(f"device {d.id}: {d.name} [{d.kind}] in {d.area_code}: {d.status}")
        echo(f"  hardware id: {d.hardware_id}")
        echo(f"  public key:  {d.public_key}")
        echo(f"  registered:  {_when(d.registered_at)}; authorised by {d.authorised_by or '-'}")
        echo(f"  last seen:   {_when(d.last_seen_at)}; agent {d.agent_version or '-'}")
        echo(f"  holds {row['files']} file(s), {row['free_bytes'] if row['free_bytes'] is not None else '?'} bytes "
             f"free, playing {row['playing'] or '-'}")
        for p in logs:
            echo(f"  played {p.item_id} at {_when(p.started_at)} ({p.trigger}"
                 f"{', completed' if p.completed else ', interrupted'})")


@devices_app.command("authorize")
def devices_authorize(device_id: int, as_user: AsUser = "") -> None:
    """Authorise a registered device (an admin of its area)."""
    ensure_db()
    with session() as s:
        d = device_service.authorise(s, device_id, username=need_user(as_user))
        echo(f"device {d.id} ({d.name}) authorised")


@devices_app.command("revoke")
def devices_revoke(
    device_id: int,
    reason: Annotated[str, typer.Option(help="Why; kept in the audit log.")] = "",
    as_user: AsUser = "",
) -> None:
    """Revoke a device: it gets 403 from its next request on."""
    ensure_db()
    with session() as s:
        d = device_service.revoke(s, device_id, username=need_user(as_user), reason=reason)
        echo(f"device {d.id} ({d.name}) revoked")


@keys_app.command("show")
def keys_show() -> None:
    """Print the installation's public keys (base64): give them to devices with --trust."""
    ensure_db()
    now = datetime.now(UTC)
    current = signing.current_key()
    for e in signing.listed_keys(now):
        state = "current" if e.key_id == current.key_id else f"retiring {_when(e.not_after)}"
        echo(f"{e.key_id}  {b64(e.public_key)}  {state}")


@keys_app.command("rotate")
def keys_rotate(as_user: AsUser = "") -> None:
    """Make a new signing key; the old one stays listed (and trusted) for BANTIN_KEY_GRACE_DAYS (installation
    admins; audited)."""
    ensure_db()
    from services import administration

    old = signing.current_key().key_id
    with session() as s:
        key_id = administration.rotate_signing_key(s, actor=need_user(as_user))
    public = next(e.public_key for e in signing.listed_keys() if e.key_id == key_id)
    echo(f"new signing key {key_id} ({b64(public)}); {old} is listed until its grace period ends")


@deliveries_app.command("list")
def deliveries_list(
    dead: Annotated[bool, typer.Option("--dead", help="Only the dead letters (given up).")] = False,
    package: Annotated[int | None, typer.Option(help="Only this package's deliveries.")] = None,
    as_user: AsUser = "",
) -> None:
    """List deliveries and withdrawal/kill notices (one per package, destination and kind) with their state and
    attempts: those of the packages in the areas the acting admin administers."""
    ensure_db()
    with session() as s:
        rows = outbox_service.queue(s, username=need_user(as_user), dead_only=dead, package_id=package)
        for d in rows:
            extra = f"receipt {d.receipt_id}" if d.receipt_id else (d.last_error[:80] if d.last_error else "")
            what = "" if d.kind == OutboxKind.DELIVERY else f" ({d.action})"
            echo(f"{d.id:>5}  package {d.package_id:>4} -> {d.destination:<20} {d.status:<9} {d.attempts} attempt(s)"
                 f"{what}  {extra}")
        if not rows:
            echo("no deliveries" + (" are dead" if dead else ""))


@deliveries_app.command("resend")
def deliveries_resend(
    delivery_id: Annotated[int | None, typer.Argument(help="A dead delivery (default: with --package, all).")] = None,
    package: Annotated[int | None, typer.Option(help="Resend every dead delivery of this package.")] = None,
    as_user: AsUser = "",
) -> None:
    """Give dead deliveries (or a withdrawn package's dead notices) a fresh attempt budget and send them again
    (same idempotency key), as an admin of the package's areas."""
    ensure_db()
    user = need_user(as_user)
    if (delivery_id is None) == (package is None):
        raise InvalidInput("give a delivery id or --package PACKAGE_ID")
    with session() as s:
        if delivery_id is not None:
            package_id, flow = outbox_service.resend(s, username=user, outbox_id=delivery_id)
        else:
            assert package is not None
            package_id = package
            _, flow = outbox_service.resend_package(s, username=user, package_id=package_id)
    from settings import configure_prefect_env, get_settings

    configure_prefect_env(get_settings())
    from flows.publish import publish_package, retract_package

    result = publish_package(package_id) if flow == "publish" else retract_package(package_id)
    echo(f"package {package_id}: {result}")


@cap_app.command("export")
def cap_export(package_id: int) -> None:
    """Print a package as a CAP 1.2 alert (one <info> block per language)."""
    ensure_db()
    from services.emergency import cap_xml

    with session() as s:
        typer.echo(cap_xml(s, object_store(), package_id), nl=False)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the top-level app."""
    app.add_typer(devices_app, name="devices")
    app.add_typer(keys_app, name="keys")
    app.add_typer(deliveries_app, name="deliveries")
    app.add_typer(cap_app, name="cap")
