"""Languages a bulletin may be made in: those used in its target areas, above or below them."""

import pytest

from domain.areas import Area, AreaLevel
from domain.editions import check_languages_heard, languages_heard
from domain.errors import InvalidInput

TREE = {
    "84": Area("84", "Tỉnh Trà Vinh", AreaLevel.PROVINCE, None, ("vi", "km")),
    "847": Area("847", "Huyện Châu Thành", AreaLevel.DISTRICT, "84"),
    "29377": Area("29377", "Xã Đa Lộc", AreaLevel.COMMUNE, "847"),
    "48": Area("48", "Thành phố Đà Nẵng", AreaLevel.PROVINCE, None, ("vi",)),
    "20194": Area("20194", "Phường Hòa Hiệp Bắc", AreaLevel.COMMUNE, "48"),
    "01": Area("01", "Thành phố Hà Nội", AreaLevel.PROVINCE, None),
    "00004": Area("00004", "Phường Ba Đình", AreaLevel.COMMUNE, "01", ("vi", "hmn")),
}


def test_a_commune_hears_its_provinces_languages_and_a_province_those_below_it() -> None:
    assert languages_heard(["29377"], TREE) == ("vi", "km")
    assert languages_heard(["20194"], TREE) == ("vi",)
    assert languages_heard(["01"], TREE) == ("vi", "hmn")  # a commune below speaks H'Mông
    assert languages_heard(["20194", "29377"], TREE) == ("vi", "km")  # any target's language is fine
    assert languages_heard([], TREE) == ("vi",)


def test_a_language_no_target_uses_is_refused_with_the_choices() -> None:
    check_languages_heard(("vi", "km"), ["29377"], TREE)
    with pytest.raises(InvalidInput) as refused:
        check_languages_heard(("vi", "km", "jra"), ["20194"], TREE)
    assert str(refused.value) == "language(s) not used in the target areas 20194: km, jra; choose among: vi"
