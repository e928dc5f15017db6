"""The gazetteer of 临江市 and its loader's errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from hotline.errors import ConfigError
from hotline.nlu.gazetteer import Gazetteer, load_gazetteer


def test_bundled_gazetteer_shape(gazetteer: Gazetteer) -> None:
    assert gazetteer.city == "临江市"
    assert [d.name for d in gazetteer.districts] == ["江北区", "江南区", "高新区", "临江新区"]
    for district in gazetteer.districts:
        streets = [s for s in gazetteer.streets if s.district == district.name]
        assert 4 <= len(streets) <= 6
        for street in streets:
            assert [c for c in gazetteer.communities if c.street == street.name]
    assert len(gazetteer.roads) >= 40
    assert len(gazetteer.landmarks) >= 30
    assert {m.kind for m in gazetteer.landmarks} >= {
        "hospital",
        "school",
        "park",
        "mall",
        "station",
    }


def test_surface_forms_are_unambiguous(gazetteer: Gazetteer) -> None:
    surfaces = [p.surface for p in gazetteer.place_names()]
    assert len(surfaces) == len(set(surfaces))


def test_lookups(gazetteer: Gazetteer) -> None:
    assert gazetteer.districts_of("临波社区") == ("江北区",)
    assert gazetteer.districts_of("市一医院") == ("江北区",)
    assert set(gazetteer.districts_of("滨江大道")) == {"江北区", "江南区", "临江新区"}
    assert gazetteer.districts_of("不存在路") == ()
    street = gazetteer.street("望江街道")
    assert street is not None
    assert street.district == "江北区"
    community = gazetteer.community("临波社区")
    assert community is not None
    assert community.street == "望江街道"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "g.yml"
    path.write_text(text, encoding="utf-8")
    return path


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_gazetteer(tmp_path / "absent.yml")


def test_bad_yaml_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_gazetteer(_write(tmp_path, "city: [unclosed"))


def test_missing_key_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="'districts'"):
        load_gazetteer(_write(tmp_path, "city: 某市\n"))


def test_unknown_district_is_named(tmp_path: Path) -> None:
    text = (
        "city: 某市\ndistricts:\n  - name: 甲区\n    streets:\n"
        "      - {name: 甲街道, communities: [甲社区]}\n"
        "roads:\n  - {name: 乙路, districts: [乙区]}\n"
    )
    with pytest.raises(ConfigError, match=r"road 乙路.*乙区"):
        load_gazetteer(_write(tmp_path, text))


def test_minimal_custom_gazetteer(tmp_path: Path) -> None:
    text = "city: 某市\ndistricts:\n  - name: 甲区\n    streets:\n      - {name: 甲街道}\n"
    loaded = load_gazetteer(_write(tmp_path, text))
    assert loaded.city == "某市"
    assert loaded.streets[0].district == "甲区"
    assert loaded.roads == ()


def test_duplicate_names_are_rejected(tmp_path: Path) -> None:
    text = (
        "city: 某市\ndistricts:\n  - name: 甲区\n    streets:\n"
        "      - {name: 甲街道, communities: [甲社区]}\n"
        "landmarks:\n  - {name: 甲医院, kind: hospital, district: 甲区, aliases: [甲街道]}\n"
    )
    with pytest.raises(ConfigError, match="甲街道"):
        load_gazetteer(_write(tmp_path, text))


def test_lookup_by_alias(gazetteer: Gazetteer) -> None:
    place = gazetteer.lookup("市一医院")
    assert place is not None
    assert place.kind == "landmark"
    assert place.canonical == "临江市第一人民医院"
    assert gazetteer.lookup("火星路") is None
