"""The bundled area lists: today's units by default, the pre-2025 list for legacy installations, the
conversion table between them, and the script that builds them from the data package."""

import csv
import importlib.util
import json
from pathlib import Path

from domain.areas import AreaLevel, tree_levels
from storage.repositories import areas

SEED_DIR = Path(areas.__file__).parents[1] / "seed"


def test_default_seed_is_todays_two_tier_list() -> None:
    tree = areas.read_area_csv()
    assert tree_levels(tree) == (AreaLevel.PROVINCE, AreaLevel.COMMUNE)
    assert sum(a.level is AreaLevel.PROVINCE for a in tree.values()) == 34
    assert sum(a.level is AreaLevel.COMMUNE for a in tree.values()) == 3321
    assert tree["86"].name == "Tỉnh Vĩnh Long" and tree["86"].languages == ("vi", "km")
    assert tree["52"].name == "Tỉnh Gia Lai" and tree["52"].languages == ("vi", "jra", "bdq")
    assert tree["08"].languages[:3] == ("vi", "tyz", "hmn")
    assert tree["29374"].name == "Xã Châu Thành" and tree["29374"].parent_code == "86"
    assert "84" not in tree and "64" not in tree  # Trà Vinh and the old Gia Lai code are gone


def test_legacy_seed_keeps_the_three_tier_pilot_list() -> None:
    tree = areas.read_area_csv(seed=areas.LEGACY_SEED)
    assert tree_levels(tree) == (AreaLevel.PROVINCE, AreaLevel.DISTRICT, AreaLevel.COMMUNE)
    assert [sum(a.level is lv for a in tree.values()) for lv in tree_levels(tree)] == [5, 50, 678]
    assert tree["29377"].name == "Xã Đa Lộc" and tree["29377"].parent_code == "847"


def test_conversion_table_covers_every_legacy_unit_and_points_at_current_ones() -> None:
    current = areas.read_area_csv()
    legacy = areas.read_area_csv(seed=areas.LEGACY_SEED)
    table = areas.read_conversion()
    assert set(legacy) <= set(table)
    assert all(set(c.new_codes) <= set(current) for c in table.values())
    assert table["29377"].new_codes == ("29374",) and table["29377"].old_name == "Xã Đa Lộc"
    assert table["84"].new_codes == ("86",) and table["64"].new_codes == ("52",)
    assert table["847"].level is AreaLevel.DISTRICT and "29374" in table["847"].new_codes
    divided = [c for c in table.values() if c.level is AreaLevel.COMMUNE and len(c.new_codes) > 1]
    assert len(divided) > 400 and all(c.partial for c in divided)


def _fake_package(root: Path) -> Path:
    """A vietnam-provinces lookalike: one province with two wards, and the legacy/conversion modules."""
    pkg = root / "vietnam_provinces"
    (pkg / "data").mkdir(parents=True)
    (pkg / "legacy").mkdir()
    (pkg / "__init__.py").write_text("", encoding="utf-8")
    (pkg / "legacy" / "__init__.py").write_text("", encoding="utf-8")
    (pkg / "data" / "nested-divisions.json").write_text(json.dumps([{
        "name": "Tỉnh Vĩnh Long", "code": 86, "wards": [
            {"name": "Xã Hòa Thuận", "code": 29386}, {"name": "Xã Châu Thành", "code": 29374}]}]), encoding="utf-8")
    (pkg / "legacy" / "_lookup.py").write_text(
        "from types import SimpleNamespace as N\n"
        "PROVINCE_MAPPING = {84: N(name='Tỉnh Trà Vinh')}\n"
        "DISTRICT_MAPPING = {847: N(name='Huyện Châu Thành', province_code=84)}\n"
        "WARD_MAPPING = {29377: N(name='Xã Đa Lộc', district_code=847),"
        " 29380: N(name='Xã Song Lộc', district_code=847)}\n", encoding="utf-8")
    (pkg / "_ward_conversion_2025.py").write_text(
        "from types import SimpleNamespace as N\n"
        "OLD_TO_NEW = {29377: N(old_ward=N(is_partly_merged=False), new_wards=(N(code=29374),)),"
        " 29380: N(old_ward=N(is_partly_merged=True), new_wards=(N(code=29374), N(code=29386)))}\n",
        encoding="utf-8")
    (pkg / "_province_conversion_2025.py").write_text(
        "from types import SimpleNamespace as N\nOLD_TO_NEW = {84: N(new_provinces=(N(code=86),))}\n",
        encoding="utf-8")
    return root


def test_build_script_writes_both_files_from_the_package(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("build_area_seed", Path(__file__).parents[2] / "scripts" /
                                                  "build_area_seed.py")
    assert spec and spec.loader
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    out = tmp_path / "out"
    out.mkdir()
    assert script.build(str(_fake_package(tmp_path / "pkg")), out) == (3, 4)
    seed = list(csv.reader((out / "areas.csv").open(encoding="utf-8")))
    assert seed == [["code", "name", "level", "parent_code", "languages"],
                    ["86", "Tỉnh Vĩnh Long", "province", "", "vi,km"],
                    ["29374", "Xã Châu Thành", "commune", "86", ""],
                    ["29386", "Xã Hòa Thuận", "commune", "86", ""]]
    conversion = list(csv.reader((out / "areas_2025_conversion.csv").open(encoding="utf-8")))
    assert conversion[1:] == [["84", "Tỉnh Trà Vinh", "province", "", "86", "0"],
                              ["847", "Huyện Châu Thành", "district", "84", "29374 29386", "0"],
                              ["29377", "Xã Đa Lộc", "commune", "847", "29374", "0"],
                              ["29380", "Xã Song Lộc", "commune", "847", "29374 29386", "1"]]
    parsed = areas.read_area_csv(out / "areas.csv")
    assert parsed["29386"].parent_code == "86"
