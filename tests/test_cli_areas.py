"""``bantin areas``: names people use, languages per province, and ``migrate --to 2025`` from a legacy
installation (Typer's runner, SQLite in a temp home)."""

from pathlib import Path

from typer.testing import CliRunner, Result

from cli.main import app
from domain.approvals import Role
from domain.errors import DomainError
from domain.users import Membership
from services.runtime import session
from storage.repositories import areas, users

runner = CliRunner()
LEGACY_AREAS = Path(areas.__file__).parents[1] / "seed" / areas.LEGACY_SEED


def _error(out: Result) -> str:
    """The message of a refused command (main() prints it as one line with exit status 2)."""
    assert isinstance(out.exception, DomainError), out.output
    return str(out.exception)


def _admin(lan_area: str) -> None:
    with session() as s:
        users.add_user(s, username="quan", full_name="Quản trị", memberships=[Membership(Role.ADMIN)])
        users.add_user(s, username="lan", full_name="Lan", memberships=[Membership(Role.APPROVER, lan_area)])


def test_names_with_and_without_diacritics_and_ambiguity(bantin_env: Path) -> None:
    assert runner.invoke(app, ["init"]).exit_code == 0
    found = runner.invoke(app, ["areas", "find", "chau thanh, vinh long"])
    assert found.exit_code == 0, found.output
    assert found.stdout.startswith("29374 Xã Châu Thành (Tỉnh Vĩnh Long) — Xã Châu Thành (gồm thị trấn Châu Thành, "
                                   "xã Đa Lộc, xã Mỹ Chánh, xã Thanh Mỹ cũ)")
    many = _error(runner.invoke(app, ["areas", "list", "--parent", "Xã Châu Thành"]))
    assert "names 5 areas" in many and "29374 Xã Châu Thành (Tỉnh Vĩnh Long)" in many
    assert "25585 Xã Châu Thành (Tỉnh Tây Ninh)" in many
    listing = runner.invoke(app, ["areas", "list", "--parent", "Vinh Long"])
    assert listing.exit_code == 0 and "29374  commune   Xã Châu Thành" in listing.stdout
    assert _error(runner.invoke(app, ["areas", "list", "--parent", "847"])).startswith(
        "unknown area code '847': no current unit; before 1 July 2025: 847 Huyện Châu Thành (Tỉnh Trà Vinh) -> "
        "29254 Phường Nguyệt Hóa (Tỉnh Vĩnh Long), 29374 Xã Châu Thành (Tỉnh Vĩnh Long)")


def test_languages_are_editable_by_an_admin(bantin_env: Path) -> None:
    assert runner.invoke(app, ["init"]).exit_code == 0
    _admin("29374")
    out = runner.invoke(app, ["areas", "languages", "Gia Lai", "vi,jra,bdq,ede", "--as", "quan"])
    assert out.exit_code == 0 and "52 Tỉnh Gia Lai: vi,jra,bdq,ede" in out.stdout
    refused = runner.invoke(app, ["areas", "languages", "52", "jra", "--as", "quan"])
    assert "Vietnamese (vi) must stay" in _error(refused)
    assert "not an admin" in _error(runner.invoke(app, ["areas", "languages", "52", "vi", "--as", "lan"]))


def test_migrate_a_legacy_installation_dry_run_conflicts_then_apply(bantin_env: Path) -> None:
    assert runner.invoke(app, ["init", "--areas", str(LEGACY_AREAS)]).exit_code == 0
    _admin("847")
    again = runner.invoke(app, ["init"])  # a legacy tree is not mixed with today's units
    assert again.exit_code == 0 and "pre-2025 units" in again.stdout and "733 areas" in again.stdout
    conflicted = runner.invoke(app, ["areas", "migrate", "--to", "2025", "--as", "quan"])
    assert conflicted.exit_code == 2
    assert "CONFLICT 847 Huyện Châu Thành (1 record(s))" in conflicted.stdout
    assert "--assign 847=29254" in conflicted.stdout and "nothing was written" in conflicted.output
    dry = runner.invoke(app, ["areas", "migrate", "--to", "2025", "--assign", "847=86", "--as", "quan"])
    assert dry.exit_code == 0 and "dry run" in dry.stdout and "847 Huyện Châu Thành -> 86 Tỉnh Vĩnh Long" in dry.stdout
    with session() as s:
        assert [m.spec for m in users.memberships_of(users.get_user(s, "lan"))] == ["approver:847:district"]
    done = runner.invoke(app, ["areas", "migrate", "--to", "2025", "--assign", "847=86", "--apply", "--as", "quan"])
    assert done.exit_code == 0 and "written in one transaction and audited" in done.stdout
    assert "memberships               1 naming old units,      1 changed" in done.stdout
    with session() as s:
        assert [m.spec for m in users.memberships_of(users.get_user(s, "lan"))] == ["approver:86:commune"]
    rerun = runner.invoke(app, ["areas", "migrate", "--to", "2025", "--apply", "--as", "quan"])
    assert rerun.exit_code == 0 and "already uses the 2025 units" in rerun.stdout
    assert "to 2025 only" in _error(runner.invoke(app, ["areas", "migrate", "--to", "2030", "--as", "quan"]))


def test_draft_submit_takes_a_name_and_refuses_an_ambiguous_one(bantin_env: Path) -> None:
    assert runner.invoke(app, ["init", "--demo-users"]).exit_code == 0
    note = bantin_env / "thong-bao.txt"
    note.write_text("Thông báo họp dân\nỦy ban nhân dân xã mời bà con dự họp tại nhà văn hóa lúc 8 giờ sáng.",
                    encoding="utf-8")
    ambiguous = runner.invoke(app, ["draft", "submit", str(note), "--area", "chau thanh", "--as", "demo-editor"])
    assert "names 5 areas" in _error(ambiguous) and "(Tỉnh Vĩnh Long)" in _error(ambiguous)
    ok = runner.invoke(app, ["draft", "submit", str(note), "--area", "Châu Thành, Vĩnh Long; Hòa Thuận, Vĩnh Long",
                             "--as", "demo-editor"])
    assert ok.exit_code == 0, ok.output
    from storage.repositories import drafts

    with session() as s:
        assert list(drafts.latest_revision(s, 1).content.area_codes) == ["29374", "29398"]  # Phường Hòa Thuận


def test_an_installation_adds_hamlets_under_its_communes(bantin_env: Path) -> None:
    assert runner.invoke(app, ["init"]).exit_code == 0
    hamlets = bantin_env / "ap.csv"
    hamlets.write_text("code,name,level,parent_code,languages\n29374-01,Ấp Hương Phụ A,hamlet,29374,\n"
                       "29374-02,Ấp Ô Chát,hamlet,29374,\"vi,km\"\n", encoding="utf-8")
    out = runner.invoke(app, ["init", "--areas", str(hamlets)])
    assert out.exit_code == 0, out.output
    assert "2 areas (2 hamlet), 2 added or updated" in out.stdout
    listing = runner.invoke(app, ["areas", "list", "--parent", "29374"]).stdout
    assert "29374-01  hamlet    Ấp Hương Phụ A" in listing
    bad = bantin_env / "bad.csv"
    bad.write_text("code,name,level,parent_code,languages\n29374-03,Ấp X,hamlet,86,\n", encoding="utf-8")
    assert "cannot sit under 86 (province)" in _error(runner.invoke(app, ["init", "--areas", str(bad)]))


def test_users_area_option_takes_a_name(bantin_env: Path) -> None:
    assert runner.invoke(app, ["init"]).exit_code == 0
    out = runner.invoke(app, ["users", "add", "lan", "--name", "Lan", "--role", "approver", "--area",
                              "Châu Thành, Vĩnh Long", "--no-password"])
    assert out.exit_code == 0, out.output
    assert "approver:29374:commune" in out.stdout
    assert "names 5 areas" in _error(runner.invoke(app, ["users", "add", "an", "--name", "An", "--role", "editor",
                                                         "--area", "Châu Thành", "--no-password"]))


def test_role_specs_name_their_area_with_or_without_diacritics(bantin_env: Path) -> None:
    assert runner.invoke(app, ["init"]).exit_code == 0

    def add(username: str, role: str) -> Result:
        return runner.invoke(app, ["users", "add", username, "--name", username, "--role", role, "--no-password"])

    for username, role, spec in (("tinh", "approver:Vinh Long", "approver:86:province"),
                                 ("lan", "approver:chau thanh, vinh long", "approver:29374:commune"),
                                 ("sokha", "translator:Vĩnh Long:km", "translator:86:km"),
                                 ("qtv", "admin:Tỉnh Vĩnh Long", "admin:86")):
        out = add(username, role)
        assert out.exit_code == 0, out.output
        assert out.stdout.strip() == f"user {username} added: {spec}"
    ambiguous = _error(add("an", "editor:Châu Thành"))
    assert ambiguous == ("'Châu Thành' names 5 areas: 25585 Xã Châu Thành (Tỉnh Tây Ninh); 28519 Xã Châu Thành "
                         "(Tỉnh Đồng Tháp); 29374 Xã Châu Thành (Tỉnh Vĩnh Long); 30880 Xã Châu Thành (Tỉnh An Giang); "
                         "31366 Xã Châu Thành (Thành phố Cần Thơ). Give the code, or add the province after a comma "
                         "(e.g. 'Châu Thành, Vĩnh Long')")
    # A name or code from before July 2025 says which current unit took it over.
    assert _error(add("an", "editor:da loc, tra vinh")) == (
        "unknown area 'da loc, tra vinh': no current unit; before 1 July 2025: "
        "29377 Xã Đa Lộc (Tỉnh Trà Vinh) -> 29374 Xã Châu Thành (Tỉnh Vĩnh Long)")
    assert _error(add("an", "editor:29377")) == (
        "unknown area code '29377': no current unit; before 1 July 2025: "
        "29377 Xã Đa Lộc (Tỉnh Trà Vinh) -> 29374 Xã Châu Thành (Tỉnh Vĩnh Long)")
    assert _error(add("an", "editor:Xã Không Có")) == "unknown area 'Xã Không Có': no code or name matches"
    with session() as s:
        assert users.find_user(s, "an") is None  # nothing stored for the refused ones
