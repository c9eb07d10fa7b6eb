"""Build the bundled area seed and the 2025 conversion table from the ``vietnam-provinces`` package.

Writes two files into ``storage/seed/`` (or ``--out``):

- ``areas.csv``: today's units, two tiers since 1 July 2025: 34 provinces and 3,321 communes, wards and
  special zones with the official codes of the statistics office (``code,name,level,parent_code,languages``;
  a commune's parent is its province).
- ``areas_2025_conversion.csv``: every pre-2025 unit (63 provinces, their districts and communes) and the
  current unit(s) it became (``old_code,old_name,old_level,old_parent,new_codes,partial``): ``new_codes``
  lists several codes when the old unit was divided; ``partial`` is 1 when only part of it went to a new
  unit. A district's ``new_codes`` are the communes its communes went to.

The package (GPL-3.0-or-later; data from the statistics office's official list and its 2025 conversion
table) is needed only here, never at run time. Its 2026 releases need Python 3.12; on 3.11 download the
wheel (``pip download --no-deps --python-version 3.12 --only-binary=:all: 'vietnam-provinces>=2026.9,<2027'``)
and pass it with ``--source``.

Usage: python scripts/build_area_seed.py [--source WHEEL_OR_DIR] [--out storage/seed]
"""

import argparse
import csv
import importlib
import json
import sys
import tempfile
import zipfile
from pathlib import Path

# Languages bulletins are commonly needed in, per current province (ISO 639-1 where one exists, else 639-3).
# Operators change them with 'bantin areas languages'. Provinces not listed broadcast in Vietnamese.
LANGUAGES = {
    "08": "vi,tyz,hmn,ium",  # Tuyên Quang (with Hà Giang): Tày, H'Mông, Dao
    "19": "vi,tyz",  # Thái Nguyên (with Bắc Kạn): Tày
    "52": "vi,jra,bdq",  # Gia Lai (with Bình Định): Jrai, Bahnar
    "56": "vi,cjm",  # Khánh Hòa (with Ninh Thuận): Cham
    "66": "vi,ede",  # Đắk Lắk (with Phú Yên): Rade
    "86": "vi,km",  # Vĩnh Long (with Trà Vinh, Bến Tre): Khmer
    "91": "vi,km,cjm",  # An Giang (with Kiên Giang): Khmer, Cham
    "92": "vi,km",  # Cần Thơ (with Sóc Trăng, Hậu Giang): Khmer
    "96": "vi,km",  # Cà Mau (with Bạc Liêu): Khmer
}
# Old units the package's conversion table leaves out, placed by hand (old code -> new code):
# - Xã Phú Thịnh (huyện Yên Sơn, Tuyên Quang) went into Xã Thái Bình (as the vietnamadminunits package's
#   conversion data, MIT, also has it);
# - island districts without communes became special zones (đặc khu) of the same name: found by name below.
SUPPLEMENT = {2482: ("02494",)}
SEED_HEADER = ["code", "name", "level", "parent_code", "languages"]
CONVERSION_HEADER = ["old_code", "old_name", "old_level", "old_parent", "new_codes", "partial"]


def _package_root(source: str | None, scratch: Path) -> Path:
    """The directory that holds the ``vietnam_provinces`` package: unpacked from a wheel, given, or installed."""
    if source is None:
        spec = importlib.util.find_spec("vietnam_provinces")
        if spec is None or not spec.submodule_search_locations:
            sys.exit("vietnam-provinces is not installed: install the 'areas' extra or pass --source WHEEL")
        return Path(next(iter(spec.submodule_search_locations))).parent
    path = Path(source)
    if path.suffix == ".whl":
        with zipfile.ZipFile(path) as wheel:
            wheel.extractall(scratch)
        return scratch
    return path


def _code(value: object, width: int) -> str:
    return f"{int(value):0{width}d}"  # type: ignore[call-overload]


def current_rows(nested: list[dict]) -> list[list[str]]:
    rows = []
    for province in nested:
        pcode = _code(province["code"], 2)
        rows.append([pcode, province["name"], "province", "", LANGUAGES.get(pcode, "vi")])
        for ward in sorted(province["wards"], key=lambda w: w["code"]):
            rows.append([_code(ward["code"], 5), ward["name"], "commune", pcode, ""])
    return rows


def conversion_rows(legacy: object, wards: object, provinces: object, nested: list[dict]) -> list[list[str]]:
    """Old unit -> new unit(s), from the package's legacy lookup and its conversion tables."""
    special_zones = {(_code(p["code"], 2), w["name"].removeprefix("Đặc khu ")): _code(w["code"], 5)
                     for p in nested for w in p["wards"] if w["name"].startswith("Đặc khu ")}
    rows = []
    for code, p in sorted(legacy.PROVINCE_MAPPING.items()):  # type: ignore[attr-defined]
        new = provinces.OLD_TO_NEW[code].new_provinces  # type: ignore[attr-defined]
        rows.append([_code(code, 2), p.name, "province", "", " ".join(_code(n.code, 2) for n in new), "0"])
    by_district: dict[int, set[str]] = {}
    ward_rows = []
    for code, w in sorted(legacy.WARD_MAPPING.items()):  # type: ignore[attr-defined]
        entry = wards.OLD_TO_NEW.get(code)  # type: ignore[attr-defined]
        if entry is None and code not in SUPPLEMENT:
            continue  # merged before the reform; a migration asks where its records go
        new = list(SUPPLEMENT[code]) if entry is None else [_code(n.code, 5) for n in entry.new_wards]
        by_district.setdefault(int(w.district_code), set()).update(new)
        partial = entry is not None and entry.old_ward.is_partly_merged
        ward_rows.append([_code(code, 5), w.name, "commune", _code(w.district_code, 3), " ".join(new),
                          "1" if partial else "0"])
    for code, d in sorted(legacy.DISTRICT_MAPPING.items()):  # type: ignore[attr-defined]
        new_province = [_code(n.code, 2) for n in provinces.OLD_TO_NEW[d.province_code].new_provinces]  # type: ignore[attr-defined]
        zone = special_zones.get((new_province[0], d.name.removeprefix("Huyện ")))
        if code not in by_district and zone:
            by_district[code] = {zone}
        if code in by_district:
            rows.append([_code(code, 3), d.name, "district", _code(d.province_code, 2),
                         " ".join(sorted(by_district[code])), "0"])
    return rows + ward_rows


def build(source: str | None, out: Path) -> tuple[int, int]:
    with tempfile.TemporaryDirectory() as scratch:
        root = _package_root(source, Path(scratch))
        sys.path.insert(0, str(root))
        try:
            nested = json.loads((root / "vietnam_provinces" / "data" / "nested-divisions.json").read_text("utf-8"))
            legacy = importlib.import_module("vietnam_provinces.legacy._lookup")
            wards = importlib.import_module("vietnam_provinces._ward_conversion_2025")
            provinces = importlib.import_module("vietnam_provinces._province_conversion_2025")
            current, conversion = current_rows(nested), conversion_rows(legacy, wards, provinces, nested)
        finally:
            sys.path.remove(str(root))
    for name, header, rows in (("areas.csv", SEED_HEADER, current),
                               ("areas_2025_conversion.csv", CONVERSION_HEADER, conversion)):
        with (out / name).open("w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(header)
            writer.writerows(rows)
    return len(current), len(conversion)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", help="a vietnam-provinces wheel or the directory holding the package")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent / "storage" / "seed")
    args = parser.parse_args()
    current, conversion = build(args.source, args.out)
    print(f"areas.csv: {current} rows; areas_2025_conversion.csv: {conversion} rows")  # noqa: T201


if __name__ == "__main__":
    main()
