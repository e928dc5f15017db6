"""Routing rules: priorities, templates with fallbacks, area overrides and file validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from hotline.classifier.taxonomy import Taxonomy, load_taxonomy
from hotline.errors import ConfigError
from hotline.nlu.gazetteer import Gazetteer, load_gazetteer
from hotline.routing.areas import UNKNOWN_AREA, AreaMatch, AreaResolver
from hotline.routing.rules import RuleSet, UnitDirectory, UnitInfo, load_rules
from hotline.storage.models import Unit, UnitLevel


@pytest.fixture(scope="module")
def taxonomy() -> Taxonomy:
    return load_taxonomy()


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    return load_gazetteer()


@pytest.fixture(scope="module")
def directory() -> UnitDirectory:
    return UnitDirectory.from_file()


@pytest.fixture(scope="module")
def rules(taxonomy: Taxonomy, gazetteer: Gazetteer, directory: UnitDirectory) -> RuleSet:
    return load_rules(taxonomy, gazetteer, directory)


@pytest.fixture(scope="module")
def resolver(gazetteer: Gazetteer) -> AreaResolver:
    return AreaResolver(gazetteer)


def route(rules: RuleSet, taxonomy: Taxonomy, code: str, area: AreaMatch) -> str:
    return rules.match(taxonomy.subcategory(code), area).unit.code


def test_street_template_picks_the_street_office(
    rules: RuleSet, taxonomy: Taxonomy, resolver: AreaResolver
) -> None:
    match = rules.match(taxonomy.subcategory("0503"), resolver.resolve("南湖街道荷花路"))
    assert match.unit.code == "JN-NH"
    assert match.via == "{street} → 南湖街道"
    assert "路灯" in match.rule.description


def test_street_without_office_falls_back_to_its_district(
    rules: RuleSet, taxonomy: Taxonomy, resolver: AreaResolver
) -> None:
    assert route(rules, taxonomy, "0503", resolver.resolve("梅岭街道")) == "JN"


def test_unknown_area_falls_back_to_the_city_department(rules: RuleSet, taxonomy: Taxonomy) -> None:
    match = rules.match(taxonomy.subcategory("0503"), UNKNOWN_AREA)
    assert match.unit.code == "LJ-CG"


def test_district_override_wins_over_the_street(
    rules: RuleSet, taxonomy: Taxonomy, resolver: AreaResolver
) -> None:
    # 江北区 hands all city management to its own bureau, even with a known street office
    assert route(rules, taxonomy, "0401", resolver.resolve("望江街道")) == "JB-CG"
    assert route(rules, taxonomy, "0401", resolver.resolve("南湖街道")) == "JN-NH"


def test_priority_beats_file_order(
    rules: RuleSet, taxonomy: Taxonomy, resolver: AreaResolver
) -> None:
    # 0410 is listed after the 江北区 override but has the higher priority
    assert route(rules, taxonomy, "0410", resolver.resolve("望江街道")) == "LJ-CG"


def test_community_template(rules: RuleSet, taxonomy: Taxonomy, resolver: AreaResolver) -> None:
    assert route(rules, taxonomy, "1811", resolver.resolve("江滨社区")) == "JB-WJ-JB"
    # a community without a committee here goes to its street office
    assert route(rules, taxonomy, "1811", resolver.resolve("临波社区")) == "JB-WJ"


def test_fixed_department_ignores_the_area(
    rules: RuleSet, taxonomy: Taxonomy, resolver: AreaResolver
) -> None:
    for address in ("望江街道", "江南区", None):
        assert route(rules, taxonomy, "0901", resolver.resolve(address)) == "LJ-RS"


def test_catch_all_is_never_needed_for_the_taxonomy(
    rules: RuleSet, taxonomy: Taxonomy, resolver: AreaResolver
) -> None:
    """Every subcategory has a real rule; only the hotline centre's own 27xx / 2407 stay at LJ."""
    for area in (resolver.resolve("北关街道"), UNKNOWN_AREA):
        for sub in taxonomy.subcategories:
            match = rules.match(sub, area)
            assert match.rule.priority != -100, sub.code
            if match.unit.code == "LJ":
                assert sub.category_code == "27" or sub.code == "2407", sub.code


def test_directory_from_database_rows_skips_inactive_units() -> None:
    rows = [
        Unit(code="A", name="甲", level=UnitLevel.CITY, areas=[]),
        Unit(code="B", name="乙", level=UnitLevel.STREET, areas=["望江街道"], active=False),
    ]
    directory = UnitDirectory.from_units(rows)
    assert set(directory.units) == {"A"}
    assert directory.office(UnitLevel.STREET, "望江街道") is None


def test_two_offices_for_one_area_are_refused() -> None:
    with pytest.raises(ConfigError, match="both list 望江街道"):
        UnitDirectory(
            [
                UnitInfo("A", "甲", UnitLevel.STREET, ("望江街道",)),
                UnitInfo("B", "乙", UnitLevel.STREET, ("望江街道",)),
            ]
        )


CATCH_ALL = "  - {description: 兜底, unit: LJ}\n"
HEAD = "rules:\n" + CATCH_ALL


@pytest.mark.parametrize(
    ("rules_text", "message"),
    [
        ("rules: []\n", "non-empty list"),
        ("rules: [\n", "cannot read"),
        ("rules:\n  - {description: 无单位}\n" + CATCH_ALL, r"rules\[0\] must be a mapping"),
        ("rules:\n  - {unit: LJ}\n", r"rules\[0\] needs a description"),
        (HEAD + "  - {description: x, unit: LJ-XX}\n", r"rules\[1\].unit: unknown unit code"),
        (HEAD + "  - {description: x, unit: '{road}'}\n", r"rules\[1\].unit: bad template"),
        (
            HEAD + "  - {description: x, match: {subcategory: '9999'}, unit: LJ}\n",
            r"rules\[1\].match.subcategory: unknown subcategory \['9999'\]",
        ),
        (
            HEAD + "  - {description: x, match: {category: '99'}, unit: LJ}\n",
            r"rules\[1\].match.category: unknown category",
        ),
        (
            HEAD + "  - {description: x, match: {district: 火星区}, unit: LJ}\n",
            r"rules\[1\].match.district: unknown district",
        ),
        (
            HEAD + "  - {description: x, match: {subcategory: '0901', category: '04'}, unit: LJ}\n",
            r"rules\[1\].match: subcategories \['0901'\] are not in \['04'\]",
        ),
        (HEAD + "  - {description: x, match: {colour: red}, unit: LJ}\n", r"rules\[1\].match"),
        (HEAD + "  - {description: x, priority: high, unit: LJ}\n", r"rules\[1\].priority"),
        (
            HEAD + "  - {description: x, match: {needs_place: maybe}, unit: LJ}\n",
            "needs_place",
        ),
        ("rules:\n  - {description: 仅属地, unit: '{street}'}\n", "catch-all"),
        (
            "rules:\n  - {description: 只管社保, match: {category: '09'}, unit: LJ-RS}\n",
            "catch-all",
        ),
    ],
)
def test_bad_rules_files_name_the_rule(
    tmp_path: Path,
    taxonomy: Taxonomy,
    gazetteer: Gazetteer,
    directory: UnitDirectory,
    rules_text: str,
    message: str,
) -> None:
    path = tmp_path / "rules.yml"
    path.write_text(rules_text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_rules(taxonomy, gazetteer, directory, path)


def test_skipped_rules_are_reported(
    tmp_path: Path, taxonomy: Taxonomy, gazetteer: Gazetteer, directory: UnitDirectory
) -> None:
    path = tmp_path / "rules.yml"
    path.write_text(
        "rules:\n  - {description: 街道, priority: 5, unit: '{street}'}\n" + CATCH_ALL,
        encoding="utf-8",
    )
    rules = load_rules(taxonomy, gazetteer, directory, path)
    match = rules.match(taxonomy.subcategory("0401"), UNKNOWN_AREA)
    assert match.unit.code == "LJ"
    assert match.skipped == ("rules[0] 街道: no {street} office for this area",)
