"""Authorization matrix of the CLI's administrative commands: ``--as`` is checked like a signed-in web user
(role and area) because the CLI calls the same services. Every cell is a real command on a real database;
a refusal must be ``Forbidden`` (exit code 4 through ``bantin``) and change nothing."""

from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from cli.main import app
from domain.deliveries import DeliveryStatus, DestinationKind
from domain.errors import Forbidden, InvalidInput
from domain.users import parse_membership
from services import credentials, signing
from services.runtime import session
from settings import get_settings
from storage.migrate import upgrade
from storage.models import AuditRecord
from storage.repositories import areas, audit, destinations, outbox, programs, templates, users
from tests.devices.factory import published_package

pytestmark = pytest.mark.integration

ACCOUNTS = {
    "root": "admin",  # the installation
    "qt-tinh": "admin:84",  # Trà Vinh province
    "qt-xa": "admin:29377",  # Đa Lộc commune (district 847, province 84)
    "qt-gia-lai": "admin:64",  # another province
    "bien-tap": "editor:29377",
    "duyet-tinh": "approver:84",
}
PASSWORD = "mat-khau-du-dai-2026"


@pytest.fixture
def home(bantin_env: Path) -> Path:
    upgrade(get_settings().database_url)
    with session() as s:
        areas.upsert_areas(s, areas.read_area_csv(seed=areas.LEGACY_SEED))
        for name, spec in ACCOUNTS.items():
            users.add_user(s, username=name, full_name=name.title(), memberships=[parse_membership(spec)])
    return bantin_env


# (command, --as user, allowed). Allowed cells change something; the next cells see it.
MATRIX: list[tuple[list[str], str, bool]] = [
    (["users", "add", "u1", "--name", "U1", "--role", "editor:29377", "--no-password"], "qt-xa", True),
    (["users", "add", "u2", "--name", "U2", "--role", "editor:29380", "--no-password"], "qt-xa", False),  # next door
    (["users", "add", "u3", "--name", "U3", "--role", "editor:Xã Mỹ Chánh", "--no-password"], "qt-tinh", True),
    (["users", "add", "u4", "--name", "U4", "--role", "approver:84", "--no-password"], "qt-xa", False),  # above
    (["users", "add", "u5", "--name", "U5", "--role", "approver:tinh tra vinh", "--no-password"], "qt-tinh", True),
    (["users", "add", "u6", "--name", "U6", "--role", "admin", "--no-password"], "qt-tinh", False),  # everywhere
    (["users", "add", "u7", "--name", "U7", "--role", "editor:29377", "--no-password"], "qt-gia-lai", False),
    (["users", "add", "u8", "--name", "U8", "--role", "editor:29377", "--no-password"], "bien-tap", False),
    (["users", "add", "u9", "--name", "U9", "--role", "admin", "--no-password"], "root", True),
    (["users", "grant", "u1", "--role", "editor:29380"], "qt-xa", False),
    (["users", "grant", "u1", "--role", "editor:29380"], "qt-tinh", True),
    (["users", "revoke", "u1", "--role", "editor:29380"], "qt-xa", False),
    (["users", "revoke", "u1", "--role", "editor:29380"], "qt-tinh", True),
    (["users", "disable", "bien-tap"], "qt-gia-lai", False),
    (["users", "disable", "bien-tap"], "qt-xa", True),
    (["users", "enable", "bien-tap"], "duyet-tinh", False),  # approvers manage no accounts
    (["users", "enable", "bien-tap"], "qt-xa", True),
    (["users", "passwd", "duyet-tinh", "--password", PASSWORD], "qt-xa", False),  # a province-level person
    (["users", "passwd", "duyet-tinh", "--password", PASSWORD], "duyet-tinh", True),  # their own
    (["users", "passwd", "duyet-tinh", "--password", PASSWORD], "qt-tinh", True),
    (["keys", "rotate"], "qt-tinh", False),
    (["keys", "rotate"], "root", True),
    (["destinations", "add", "htttn-tw", "https://tw.example/in"], "qt-tinh", False),  # every area: installation
    (["destinations", "add", "htttn-tw", "https://tw.example/in"], "root", True),
    (["destinations", "add", "htttn-tv", "https://tv.example/in", "--area", "Tỉnh Trà Vinh"], "qt-xa", False),
    (["destinations", "add", "htttn-tv", "https://tv.example/in", "--area", "tinh tra vinh"], "qt-tinh", True),
    (["destinations", "add", "htttn-tv", "https://other.example/in", "--area", "84"], "qt-gia-lai", False),
    (["deliveries", "list"], "bien-tap", False),
    (["deliveries", "list"], "qt-xa", True),
    (["deliveries", "resend", "{dead_other}"], "qt-xa", False),  # a Gia Lai package's delivery
    (["template", "retire", "{template}", "--reason", "Hết mùa"], "qt-xa", False),  # a province template
    (["template", "retire", "{template}", "--reason", "Hết mùa"], "duyet-tinh", True),
    (["programs", "add", "84", "Bản tin tỉnh", "--at", "06:00"], "bien-tap", False),  # editors define none
    (["programs", "add", "84", "Bản tin tỉnh", "--at", "06:00"], "qt-xa", False),  # the province is above
    (["programs", "add", "84", "Bản tin tỉnh", "--at", "06:00"], "qt-gia-lai", False),
    (["programs", "add", "84", "Bản tin tỉnh", "--at", "06:00"], "qt-tinh", True),
    (["programs", "add", "Xã Đa Lộc", "Bản tin Đa Lộc", "--at", "06:05"], "qt-xa", True),
    (["programs", "add", "29380", "Bản tin Mỹ Chánh", "--at", "06:05"], "qt-xa", False),  # next door
    (["api-token", "create", "root", "--days", "1"], "bien-tap", False),  # the installation admin's token
    (["api-token", "create", "root", "--days", "1"], "qt-tinh", False),  # a province admin is not above root
    (["api-token", "create", "bien-tap", "--days", "1"], "qt-gia-lai", False),
    (["api-token", "create", "duyet-tinh", "--days", "1"], "qt-xa", False),  # a province-level person
    (["api-token", "create", "bien-tap", "--days", "1"], "qt-xa", True),
    (["api-token", "create", "bien-tap", "--days", "1"], "bien-tap", True),  # their own
    (["api-token", "revoke", "{root_token}"], "bien-tap", False),
    (["api-token", "revoke", "{root_token}"], "qt-tinh", False),
    (["api-token", "revoke", "{root_token}"], "root", True),
    (["api-token", "revoke", "{xa_token}"], "qt-gia-lai", False),
    (["api-token", "revoke", "{xa_token}"], "bien-tap", False),
    (["api-token", "revoke", "{xa_token}"], "qt-tinh", True),
]


def _logged(s, action: str) -> list[AuditRecord]:  # type: ignore[no-untyped-def]
    return list(s.scalars(select(AuditRecord).where(AuditRecord.action == action).order_by(AuditRecord.seq)))


def test_cli_admin_commands_follow_the_same_rules_as_the_web(home: Path) -> None:
    package_id, manifest = published_package(languages="vi", areas=("23557",))  # a Gia Lai commune
    with session() as s:
        dest = destinations.add_destination(s, name="htttn-gl", kind=DestinationKind.HTTTN, url="http://127.0.0.1:9/")
        dead = outbox.ensure(s, package_id=package_id, destination_id=dest.id, manifest_hash=manifest)
        outbox.set_status(s, dead, DeliveryStatus.SENDING)
        outbox.set_status(s, dead, DeliveryStatus.DEAD, error="HTTP 503")
        tpl = templates.add_template(s, name="bao", title="Bão", body="Bão số 9 vào bờ.", languages=["vi"],
                                     area_code="84", content_hash="0" * 64, author="bien-tap")
        root_token = credentials.create_api_token(s, "root", days=1, actor="root")[0].id
        xa_token = credentials.create_api_token(s, "qt-xa", days=1, actor="qt-xa")[0].id
        ids = {"dead_other": str(dead.id), "template": str(tpl.id), "root_token": str(root_token),
               "xa_token": str(xa_token)}
    runner = CliRunner()
    wrong = []
    for args, user, allowed in MATRIX:
        argv = [a.format(**ids) for a in args] + ["--as", user]
        with session() as s:
            before = audit.head(s)
        key_before = signing.current_key().key_id
        result = runner.invoke(app, argv)
        ok = result.exit_code == 0
        if ok != allowed or (not allowed and not isinstance(result.exception, Forbidden)):
            wrong.append((argv, result.exit_code, repr(result.exception), result.output[-200:]))
        if not allowed:
            with session() as s:  # a refusal stores nothing, not even an audit entry
                if audit.head(s) != before or signing.current_key().key_id != key_before:
                    wrong.append((argv, "changed something"))
    assert wrong == []
    with session() as s:
        assert {u.username for u in users.list_users(s)} >= {"u1", "u3", "u5", "u9"}
        assert not {"u2", "u4", "u6", "u7", "u8"} & {u.username for u in users.list_users(s)}
        assert sorted(m.spec for m in users.memberships_of(users.get_user(s, "u3"))) == ["editor:29380"]
        assert sorted(m.spec for m in users.memberships_of(users.get_user(s, "u5"))) == ["approver:84:province"]
        assert {d.name: d.area_code for d in destinations.list_destinations(s)} == \
            {"htttn-gl": None, "htttn-tw": None, "htttn-tv": "84"}
        added = _logged(s, "destination.added")
        assert [(e.actor, e.detail["name"]) for e in added] == [("root", "htttn-tw"), ("qt-tinh", "htttn-tv")]
        assert [e.actor for e in _logged(s, "signing_key.rotated")] == ["root"]
        assert templates.get_template(s, tpl.id).retired_at is not None
        assert sorted((p.area_code, p.name) for p in programs.list_programs(s)) == \
            [("29377", "Bản tin Đa Lộc"), ("84", "Bản tin tỉnh")]
        assert [(e.actor, e.detail["area_code"]) for e in _logged(s, "program.created")] == \
            [("qt-tinh", "84"), ("qt-xa", "29377")]
        assert [(e.actor, e.entity_id) for e in _logged(s, "api_token.created")] == \
            [("root", "root"), ("qt-xa", "qt-xa"), ("qt-xa", "bien-tap"), ("bien-tap", "bien-tap")]
        assert [(e.actor, e.detail["token_id"]) for e in _logged(s, "api_token.revoked")] == \
            [("root", root_token), ("qt-tinh", xa_token)]
    # Lists show what the acting admin manages, as on the web: the province admin sees Trà Vinh's destination,
    # another province's admin none, an editor is refused.
    listed = {u: runner.invoke(app, ["destinations", "list", "--as", u]) for u in ("root", "qt-tinh", "qt-gia-lai",
                                                                                   "bien-tap")}
    assert [line.split()[1] for line in listed["root"].output.splitlines()] == ["htttn-gl", "htttn-tw", "htttn-tv"]
    assert [line.split()[1] for line in listed["qt-tinh"].output.splitlines()] == ["htttn-tv"]
    assert listed["qt-gia-lai"].exit_code == 0 and listed["qt-gia-lai"].output == ""
    assert isinstance(listed["bien-tap"].exception, Forbidden)


def test_without_as_only_the_first_admin_can_be_made(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BANTIN_USER", raising=False)
    runner = CliRunner()
    result = runner.invoke(app, ["users", "add", "x", "--name", "X", "--role", "editor:29377", "--no-password"])
    assert isinstance(result.exception, InvalidInput) and "--as" in str(result.exception)  # root exists
    with session() as s:
        users.set_active(s, users.get_user(s, "root"), False, actor="test")
    result = runner.invoke(app, ["users", "add", "boss", "--name", "Boss", "--role", "admin", "--no-password"])
    assert result.exit_code == 0, result.output
    with session() as s:
        assert [(e.action, e.actor) for e in audit.entries(s, entity="user", entity_id="boss")] == \
            [("user.created", "cli")]
    result = runner.invoke(app, ["users", "disable", "bien-tap"])
    assert isinstance(result.exception, InvalidInput) and "--as" in str(result.exception)
