"""``bantin programs``: define slots, quiet hours and volume, see the plan, and the officer's reorder."""

import json

from typer.testing import CliRunner

from cli.main import app
from domain.approvals import Role
from domain.areas import AreaLevel
from domain.errors import Forbidden, InvalidInput
from domain.priority import Priority
from domain.users import Membership
from services.runtime import session
from storage.repositories import users
from tests.programs.conftest import MakePackage


def test_programs_commands(home, make_package: MakePackage) -> None:  # type: ignore[no-untyped-def]
    cli = CliRunner()

    def ok(*args: str) -> str:
        result = cli.invoke(app, list(args), catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    urgent = make_package(title="Cảnh báo lũ", areas_=("84",), audio={"vi": 40.0}, priority=Priority.UU_TIEN)
    normal = make_package(title="Họp tổ dân phố", areas_=("29239",), audio={"vi": 30.0})
    nobody = cli.invoke(app, ["programs", "add", "842", "Bản tin sáng", "--at", "6:00"])
    assert isinstance(nobody.exception, InvalidInput) and "--as" in str(nobody.exception)
    assert "program 1: Bản tin sáng at 06:00 (Mon-Fri) in 842" in ok("programs", "add", "842", "Bản tin sáng",
                                                                      "--at", "6:00", "--days", "t2-t6",
                                                                      "--as", "op")
    again = ok("programs", "add", "842", "Bản tin sáng", "--at", "6:00", "--days", "t2-t6", "--max-minutes", "20",
               "--gap", "2", "--as", "op")  # same area and name: updated, not refused
    assert "program 1: Bản tin sáng at 06:00 (Mon-Fri) in 842, up to 20 min" in again
    assert "Mon-Fri" in ok("programs", "list")
    with session() as s:
        users.add_user(s, username="officer", full_name="Cán bộ", password="mat-khau-thu-nghiem-2026",
                       memberships=[Membership(Role.APPROVER, "29239", level=AreaLevel.COMMUNE)])
        users.add_user(s, username="tinh", full_name="Cán bộ tỉnh", password="mat-khau-thu-nghiem-2026",
                       memberships=[Membership(Role.APPROVER, "84", level=AreaLevel.PROVINCE)])
    nobody = cli.invoke(app, ["programs", "quiet", "84", "22:00-05:00"])
    assert isinstance(nobody.exception, InvalidInput) and "--as" in str(nobody.exception)
    for args in (["quiet", "84", "22:00-05:00", "--as", "officer"],
                 ["volume", "842", "05:00-07:00=60", "--as", "officer"]):  # a commune's approver
        denied = cli.invoke(app, ["programs", *args])
        assert isinstance(denied.exception, Forbidden) and "may not" in str(denied.exception), args
    assert "22:00-05:00" in ok("programs", "quiet", "84", "22:00-05:00", "--as", "tinh")
    assert ok("programs", "quiet", "29239").strip() == "22:00-05:00"  # inherited from the province
    ok("programs", "volume", "842", "05:00-07:00=60", "07:00-21:00=85%", "--as", "tinh")
    assert ok("programs", "volume", "29239").strip() == "05:00-07:00=60%, 07:00-21:00=85%"
    denied = cli.invoke(app, ["programs", "add", "842", "Trưa", "--at", "11:00", "--as", "officer"])
    assert isinstance(denied.exception, Forbidden) and "may not" in str(denied.exception)  # 842 is above 29239
    bad = cli.invoke(app, ["programs", "add", "842", "Tối", "--at", "23:00", "--as", "op"])
    assert isinstance(bad.exception, InvalidInput) and "quiet hours" in str(bad.exception)

    rows = json.loads(ok("programs", "plan", "--date", "2026-11-24", "--area", "29239", "--json"))
    vi = next(r for r in rows if r["language"] == "vi")
    assert [i["package_id"] for i in vi["items"]] == [urgent, normal] and vi["status"] == "planned"
    assert next(r for r in rows if r["language"] == "km")["status"] == "empty"  # nothing has Khmer audio
    assert "Cảnh báo lũ" in ok("programs", "plan", "--date", "2026-11-24", "--area", "29239")
    sunday = json.loads(ok("programs", "plan", "--date", "2026-11-29", "--json"))
    assert sunday == []  # weekdays only

    denied = cli.invoke(app, ["programs", "reorder", "1", "--area", "29236", "--order", str(normal),
                              "--date", "2026-11-24", "--as", "officer"])
    assert isinstance(denied.exception, Forbidden) and "may not" in str(denied.exception)
    ok("programs", "reorder", "1", "--area", "29239", "--skip", str(normal), "--date", "2026-11-24",
       "--as", "officer")
    rows = json.loads(ok("programs", "plan", "--date", "2026-11-24", "--area", "29239", "--json"))
    vi = next(r for r in rows if r["language"] == "vi")
    assert [i["package_id"] for i in vi["items"]] == [urgent]
    assert vi["left_out"][0]["reason"] == "skipped_by_officer"
    denied = cli.invoke(app, ["programs", "disable", "1", "--as", "officer"])  # 842's programme, 29239's approver
    assert isinstance(denied.exception, Forbidden)
    assert "(off)" not in ok("programs", "list")
    ok("programs", "disable", "1", "--as", "tinh")
    assert "(off)" in ok("programs", "list")

    # Default content: set by an approver of the area, inherited below, refused with a reason.
    denied = cli.invoke(app, ["programs", "default", "29236", str(normal), "--as", "officer"])
    assert isinstance(denied.exception, Forbidden) and "may not" in str(denied.exception)
    assert ok("programs", "default", "29239").strip() == "default content of 29239: none"
    assert ok("programs", "default", "29239", f"{normal},{urgent}", "--as", "officer").strip() == \
        f"default content of 29239: {normal}, {urgent}"
    assert f"packages {urgent} (set on 84)" in ok("programs", "default", "84", str(urgent), "--as", "tinh") + \
        ok("programs", "default", "29236")
    wrong = cli.invoke(app, ["programs", "default", "29236", str(normal), "--as", "tinh"])
    assert isinstance(wrong.exception, InvalidInput) and "aimed at 29239" in str(wrong.exception)
    assert ok("programs", "default", "29239", "--clear", "--as", "officer").strip().endswith("none (inherited "
                                                                                            "from above, if set)")
    assert f"packages {urgent} (set on 84)" in ok("programs", "default", "29239")


def test_programs_options_take_area_names(home) -> None:  # type: ignore[no-untyped-def]
    cli = CliRunner()

    def ok(*args: str) -> str:
        result = cli.invoke(app, list(args), catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    assert "in 29239" in ok("programs", "add", "Phường 1", "Bản tin trưa", "--at", "11:00", "--as", "op")
    assert "quiet hours of 84: 22:00-05:00" in ok("programs", "quiet", "tinh tra vinh", "22:00-05:00", "--as", "op")
    assert ok("programs", "quiet", "Phuong 1").strip() == "22:00-05:00"  # inherited, asked by name
    assert "volume profile of 842 set" in ok("programs", "volume", "Thành phố Trà Vinh", "05:00-07:00=60",
                                             "--as", "op")
    assert "Bản tin trưa" in ok("programs", "list", "--area", "phuong 1")
    rows = json.loads(ok("programs", "plan", "--date", "2026-11-24", "--area", "Phường 1", "--json"))
    assert {r["area_code"] for r in rows} == {"29239"}
    assert "default content of 29236: none" in ok("programs", "default", "phuong 4")
    unknown = cli.invoke(app, ["programs", "quiet", "Phường 99", "22:00-05:00", "--as", "op"])
    assert isinstance(unknown.exception, InvalidInput)
