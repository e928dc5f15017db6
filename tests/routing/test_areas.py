"""A ticket's area from its address text (gazetteer) or its coordinates (GeoJSON)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hotline.errors import ConfigError
from hotline.nlu.gazetteer import Gazetteer, load_gazetteer
from hotline.routing.areas import (
    UNKNOWN_AREA,
    UNKNOWN_NOTE,
    AreaResolver,
    load_polygons,
)

SAMPLE_GEOJSON = Path("hotline/routing/data/areas.geojson")


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    return load_gazetteer()


@pytest.fixture(scope="module")
def resolver(gazetteer: Gazetteer) -> AreaResolver:
    path = Path(__file__).resolve().parents[2] / SAMPLE_GEOJSON
    return AreaResolver(gazetteer, load_polygons(path, gazetteer))


def test_community_is_most_specific(resolver: AreaResolver) -> None:
    match = resolver.resolve("江北区望江街道临波社区3栋2单元")
    assert (match.district, match.street, match.community) == ("江北区", "望江街道", "临波社区")
    assert match.source == "community"
    assert match.level == "community"
    assert match.note is None


def test_community_alone_brings_its_street_and_district(resolver: AreaResolver) -> None:
    match = resolver.resolve("书院社区门口的路灯不亮")
    assert (match.district, match.street, match.community) == ("江南区", "文昌街道", "书院社区")


def test_street_beats_road_and_district(resolver: AreaResolver) -> None:
    match = resolver.resolve("江南区 南湖路 南湖街道办附近")
    assert (match.district, match.street, match.source) == ("江南区", "南湖街道", "street")


def test_longest_name_wins_over_its_prefix(resolver: AreaResolver) -> None:
    # "江北区" must not be read as the alias "江北" followed by "区"
    assert [p.surface for p in resolver.mentions("江北区人民路")] == ["江北区", "人民路"]


def test_cross_district_road_takes_the_district_other_evidence_names(
    resolver: AreaResolver,
) -> None:
    match = resolver.resolve("人民路和临江南站之间")
    assert match.district == "江南区"
    assert match.source == "road"
    assert match.note is not None
    assert "other evidence names 江南区" in match.note


def test_cross_district_road_without_other_evidence_says_it_guessed(
    resolver: AreaResolver,
) -> None:
    match = resolver.resolve("滨江大道边上")
    assert match.district == "江北区"
    assert match.note is not None
    assert "first district 江北区" in match.note
    assert "first district" in match.describe()


def test_cross_district_road_settled_by_coordinates(resolver: AreaResolver) -> None:
    match = resolver.resolve("人民路", latitude=30.55, longitude=120.0)
    assert match.district == "江南区"


def test_landmark_gives_its_district(resolver: AreaResolver) -> None:
    match = resolver.resolve("市中医院门口")
    assert (match.district, match.street, match.source) == ("江南区", None, "landmark")


def test_conflicting_district_is_noted(resolver: AreaResolver) -> None:
    match = resolver.resolve("江南区北关社区")
    assert match.district == "江北区"
    assert match.note is not None
    assert "江南区" in match.note


def test_area_field_is_read_too(resolver: AreaResolver) -> None:
    match = resolver.resolve("3栋楼下", "金桥街道")
    assert (match.district, match.street) == ("江南区", "金桥街道")


def test_unknown_area_goes_to_city_level(resolver: AreaResolver) -> None:
    match = resolver.resolve("我家楼下", None)
    assert match == UNKNOWN_AREA
    assert match.level == "city"
    assert match.describe() == UNKNOWN_NOTE == "area unknown: routed to city level"


@pytest.mark.parametrize(
    ("lat", "lon", "expected"),
    [
        (30.62, 119.92, ("江北区", "望江街道")),  # inside the street polygon
        (30.68, 120.00, ("江北区", None)),  # district only
        (30.66, 120.06, None),  # in the hole of 江北区
        (30.55, 120.00, ("江南区", None)),  # first part of the MultiPolygon
        (30.625, 120.13, ("江南区", None)),  # the island, second part
        (30.80, 120.00, None),  # outside every feature
    ],
)
def test_coordinates_point_in_polygon(
    resolver: AreaResolver, lat: float, lon: float, expected: tuple[str, str | None] | None
) -> None:
    match = resolver.resolve(None, latitude=lat, longitude=lon)
    if expected is None:
        assert match == UNKNOWN_AREA
    else:
        assert (match.district, match.street) == expected
        assert match.source == "coordinates"


def test_coordinates_refine_a_district_only_address(resolver: AreaResolver) -> None:
    match = resolver.resolve("江北区", latitude=30.62, longitude=119.92)
    assert (match.district, match.street) == ("江北区", "望江街道")


def test_without_polygons_coordinates_are_ignored(gazetteer: Gazetteer) -> None:
    assert AreaResolver(gazetteer).resolve(None, latitude=30.62, longitude=119.92) == UNKNOWN_AREA


def _collection(*features: object) -> str:
    return json.dumps({"type": "FeatureCollection", "features": list(features)})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "cannot read"),
        ('{"type": "Feature"}', "FeatureCollection"),
        (_collection({"properties": {"district": "火星区"}}), "must name a district"),
        (
            _collection({"properties": {"district": "江北区", "street": "火星街道"}}),
            "unknown street",
        ),
        (
            _collection({"properties": {"district": "江北区", "community": "火星社区"}}),
            "unknown community",
        ),
        (
            _collection({"properties": {"district": "江北区"}, "geometry": {"type": "Point"}}),
            "Polygon or MultiPolygon",
        ),
        (
            _collection(
                {
                    "properties": {"district": "江北区"},
                    "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0]]]},
                }
            ),
            "at least 4",
        ),
    ],
)
def test_bad_geojson_names_the_feature(
    tmp_path: Path, gazetteer: Gazetteer, text: str, message: str
) -> None:
    path = tmp_path / "areas.geojson"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_polygons(path, gazetteer)
