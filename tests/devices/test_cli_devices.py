"""``bantin devices|keys|deliveries|cap`` through Typer's runner (the real commands on a real database)."""

from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from cli import devices as device_commands
from domain.approvals import Role
from domain.deliveries import DeliveryStatus, DestinationKind
from domain.packages import PackageStatus
from domain.users import Membership
from services import signing
from services.runtime import session
from storage.repositories import destinations, outbox, users
from tests.devices.factory import DeviceClient, published_package

pytestmark = pytest.mark.integration


def bantin() -> typer.Typer:
    app = typer.Typer()
    device_commands.register(app)
    return app


def run(*args: str) -> Any:
    result = CliRunner().invoke(bantin(), list(args))
    return result


def test_device_commands(client: Any) -> None:
    dev = DeviceClient.new(client)
    dev.register()
    with session() as s:  # an admin of another province (Tuyên Quang) sees nothing of Trà Vinh's devices
        users.add_user(s, username="admin_tuyenquang", full_name="x", password=None,
                       memberships=[Membership(Role.ADMIN, "08")])
    assert "who is acting" in str(run("devices", "list").exception)
    assert "administers no area" in str(run("devices", "list", "--as", "demo-editor").exception)
    assert run("devices", "list", "--as", "admin_tuyenquang").output == ""
    listed = run("devices", "list", "--status", "pending", "--as", "admin")
    assert listed.exit_code == 0 and f"{dev.device_id:>4}  pending" in listed.output
    refused = run("devices", "authorize", str(dev.device_id), "--as", "demo-editor")
    assert refused.exit_code != 0 and "not an admin" in str(refused.exception)
    assert run("devices", "authorize", str(dev.device_id), "--as", "admin").exit_code == 0
    assert dev.request("GET", "/device/v1/schedule").status_code == 200
    refused = run("devices", "show", str(dev.device_id), "--as", "admin_tuyenquang")
    assert "not an admin" in str(refused.exception) and dev.hardware_id not in refused.output
    shown = run("devices", "show", str(dev.device_id), "--as", "admin")
    assert "authorised" in shown.output and dev.hardware_id in shown.output
    assert run("devices", "revoke", str(dev.device_id), "--reason", "hỏng", "--as", "admin").exit_code == 0
    assert dev.request("GET", "/device/v1/schedule").status_code == 403


def test_key_and_delivery_and_cap_commands(home: Any) -> None:
    old = signing.current_key().key_id
    shown = run("keys", "show")
    assert shown.exit_code == 0 and f"{old}  " in shown.output and "current" in shown.output
    assert run("keys", "rotate", "--as", "admin").exit_code == 0
    after = run("keys", "show").output
    assert "retiring" in after and signing.current_key().key_id in after and old in after

    package_id, manifest = published_package(languages="vi", priority="khan_cap", status=PackageStatus.APPROVED)
    with session() as s:
        dest = destinations.add_destination(s, name="htttn-tw", kind=DestinationKind.HTTTN, url="http://127.0.0.1:9/")
        d = outbox.ensure(s, package_id=package_id, manifest_hash=manifest, destination_id=dest.id)
        outbox.set_status(s, d, DeliveryStatus.SENDING)
        outbox.set_status(s, d, DeliveryStatus.DEAD, error="ConnectError: refused")
    dead = run("deliveries", "list", "--dead", "--as", "admin")
    assert "htttn-tw" in dead.output and "dead" in dead.output and "refused" in dead.output
    cap = run("cap", "export", str(package_id))
    assert cap.exit_code == 0 and cap.output.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    assert "<language>vi-VN</language>" in cap.output
