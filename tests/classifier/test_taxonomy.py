"""The shipped taxonomy file and the loader's validation rules."""

from __future__ import annotations

import copy
import csv
from pathlib import Path
from typing import Any

import pytest
import yaml

from hotline.classifier.taxonomy import (
    Category,
    Subcategory,
    Taxonomy,
    Urgency,
    load_taxonomy,
)
from hotline.errors import ConfigError, NotFound

DB44_CSV = (
    Path(__file__).parents[3]
    / "shared"
    / "data"
    / "taxonomy-reference"
    / "db44t2479-2024-appendix-a.csv"
)


@pytest.fixture(scope="module")
def taxonomy() -> Taxonomy:
    return load_taxonomy()


def _sub(code: str, name: str, **overrides: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "code": code,
        "name": name,
        "scope": f"{name}的诉求。",
        "keywords": ["甲", "乙"],
        "needs_place": True,
        "urgency": "normal",
        "deadline_days": 5,
        "standard_codes": ["030501"],
    }
    entry.update(overrides)
    return entry


def _small() -> dict[str, Any]:
    return {
        "categories": [
            {
                "code": "01",
                "name": "市政",
                "scope": "市政设施。",
                "subcategories": [_sub("0101", "路灯"), _sub("0102", "井盖")],
            },
            {
                "code": "02",
                "name": "供水",
                "scope": "供水。",
                "subcategories": [_sub("0201", "停水", urgency="urgent", deadline_days=1)],
            },
        ]
    }


def _write(tmp_path: Path, document: Any) -> Path:
    path = tmp_path / "taxonomy.yml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    return path


def _load_small(tmp_path: Path, document: Any) -> Taxonomy:
    return load_taxonomy(_write(tmp_path, document), expected_counts=(2, 3))


# --- the shipped file -------------------------------------------------------------------------


def test_shipped_taxonomy_has_27_categories_and_266_subcategories(taxonomy: Taxonomy) -> None:
    assert len(taxonomy.categories) == 27
    assert len(taxonomy.subcategories) == 266
    assert [c.code for c in taxonomy.categories] == [f"{i:02d}" for i in range(1, 28)]


def test_every_category_has_several_subcategories_numbered_from_01(taxonomy: Taxonomy) -> None:
    for category in taxonomy.categories:
        children = taxonomy.children(category.code)
        assert len(children) >= 5, category.name
        assert [s.code for s in children] == [
            f"{category.code}{i:02d}" for i in range(1, len(children) + 1)
        ]


def test_every_category_has_an_other_subcategory(taxonomy: Taxonomy) -> None:
    without_other = [
        c.name
        for c in taxonomy.categories
        if not any(s.name.startswith("其他") for s in taxonomy.children(c.code))
    ]
    assert without_other == []


def test_subcategory_content_is_filled_in(taxonomy: Taxonomy) -> None:
    for sub in taxonomy.subcategories:
        assert 5 <= len(sub.keywords) <= 15, sub.name
        assert len(set(sub.keywords)) == len(sub.keywords), sub.name
        assert sub.scope.endswith("。"), sub.name
        assert sub.deadline_days <= 15, sub.name


def test_emergency_and_catch_all_subcategories_exist(taxonomy: Taxonomy) -> None:
    emergency = taxonomy.find("应急事项")
    assert isinstance(emergency, Category)
    names = {s.name for s in taxonomy.children(emergency.code)}
    assert {"治安警情转110", "火警转119", "医疗急救转120", "交通事故转122"} <= names
    assert all(s.urgency is Urgency.CRITICAL for s in taxonomy.children(emergency.code))
    catch_all = {s.name for s in taxonomy.children("27")}
    assert {"表扬", "意见建议", "无效来电", "骚扰辱骂来电", "无声与挂断来电"} <= catch_all


def test_emergency_and_catch_all_codes_without_an_equivalent_are_explained(
    taxonomy: Taxonomy,
) -> None:
    # "…99" is a standard "other" bucket and "…00" a level-2 item without level 3: a mapping
    # made only of those is an approximation, and the file must say so.
    unexplained = [
        s.name
        for code in ("26", "27")
        for s in taxonomy.children(code)
        if all(c.endswith(("99", "00")) for c in s.standard_codes) and not s.note
    ]
    assert unexplained == []


def test_lookups_by_code_and_name(taxonomy: Taxonomy) -> None:
    lamp = taxonomy.find("路灯照明")
    assert isinstance(lamp, Subcategory)
    assert lamp.needs_place is True
    assert taxonomy.subcategory(lamp.code) is lamp
    assert taxonomy.find(lamp.code) is lamp
    assert taxonomy.category(lamp.category_code).name == "城乡建设与市政设施"
    pension = taxonomy.find("养老金待遇")
    assert isinstance(pension, Subcategory)
    assert pension.needs_place is False


@pytest.mark.parametrize(
    ("call", "argument"),
    [("category", "99"), ("category", "0101"), ("subcategory", "01"), ("find", "不存在的类别")],
)
def test_unknown_codes_raise_not_found(taxonomy: Taxonomy, call: str, argument: str) -> None:
    with pytest.raises(NotFound):
        getattr(taxonomy, call)(argument)


def test_version_is_a_content_hash(tmp_path: Path) -> None:
    first = _load_small(tmp_path, _small())
    assert _load_small(tmp_path, _small()).version == first.version
    changed = _small()
    changed["categories"][0]["subcategories"][0]["deadline_days"] = 3
    assert _load_small(tmp_path, changed).version != first.version
    assert len(first.version) == 12


def test_standard_codes_exist_in_db44_appendix(taxonomy: Taxonomy) -> None:
    if not DB44_CSV.is_file():
        pytest.skip(f"reference data not present at {DB44_CSV}")
    with DB44_CSV.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    known = {r["level_3_code"] for r in rows} | {r["level_2_code"] for r in rows}
    unknown = [
        (s.code, code)
        for s in taxonomy.subcategories
        for code in s.standard_codes
        if code not in known
    ]
    assert unknown == []


# --- validation rules on small broken files ----------------------------------------------------


def test_small_valid_file_loads(tmp_path: Path) -> None:
    loaded = _load_small(tmp_path, _small())
    assert [s.code for s in loaded.children("01")] == ["0101", "0102"]
    assert loaded.subcategory("0201").urgency is Urgency.URGENT


def _break(mutate: Any) -> dict[str, Any]:
    document = copy.deepcopy(_small())
    mutate(document)
    return document


def _sub_of(document: dict[str, Any], cat: int = 0, sub: int = 0) -> dict[str, Any]:
    entry: dict[str, Any] = document["categories"][cat]["subcategories"][sub]
    return entry


BROKEN: list[tuple[str, Any, str]] = [
    (
        "duplicate subcategory code",
        lambda d: _sub_of(d, 0, 1).update(code="0101"),
        r"duplicate code 0101",
    ),
    (
        "duplicate category code",
        lambda d: d["categories"][1].update(code="01"),
        r"duplicate code 01 ",
    ),
    (
        "duplicate name across levels",
        lambda d: _sub_of(d, 1, 0).update(name="市政"),
        r"duplicate name '市政'",
    ),
    (
        "subcategory outside its category",
        lambda d: _sub_of(d, 1, 0).update(code="0103"),
        r"0103 \(停水\): code must be four digits starting with its category code 02",
    ),
    (
        "empty category",
        lambda d: d["categories"][1].update(subcategories=[]),
        r"category 02 \(供水\): has no subcategories",
    ),
    (
        "bad urgency",
        lambda d: _sub_of(d).update(urgency="high"),
        r"0101 \(路灯\): urgency 'high' is not one of normal, urgent, critical",
    ),
    (
        "zero deadline",
        lambda d: _sub_of(d).update(deadline_days=0),
        r"0101 \(路灯\): deadline_days must be a positive whole number",
    ),
    (
        "malformed standard code",
        lambda d: _sub_of(d).update(standard_codes=["03050"]),
        r"standard code '03050' must be a DB44/T 2479 code",
    ),
    (
        "no standard codes",
        lambda d: _sub_of(d).update(standard_codes=[]),
        r"standard_codes must be a non-empty list",
    ),
    (
        "unquoted numeric code",
        lambda d: _sub_of(d).update(code=101),
        r"code must be non-empty text",
    ),
    (
        "missing key",
        lambda d: _sub_of(d).pop("needs_place"),
        r"missing key\(s\) needs_place",
    ),
    (
        "misspelt key",
        lambda d: _sub_of(d).update(keyword=["x"]),
        r"unknown key\(s\) keyword",
    ),
    (
        "non-boolean needs_place",
        lambda d: _sub_of(d).update(needs_place="yes"),
        r"needs_place must be true or false",
    ),
    (
        "bad category code",
        lambda d: d["categories"][0].update(code="1"),
        r"code '1' must be two digits",
    ),
]


@pytest.mark.parametrize(
    ("mutate", "message"), [(m, msg) for _, m, msg in BROKEN], ids=[i for i, _, _ in BROKEN]
)
def test_broken_file_is_rejected_with_a_clear_message(
    tmp_path: Path, mutate: Any, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        _load_small(tmp_path, _break(mutate))


def test_counts_must_match_the_expected_counts(tmp_path: Path) -> None:
    path = _write(tmp_path, _small())
    with pytest.raises(
        ConfigError, match=r"has 2 categories and 3 subcategories, expected 27 and 266"
    ):
        load_taxonomy(path)
    assert len(load_taxonomy(path, expected_counts=None).subcategories) == 3


@pytest.mark.parametrize("text", ["categories: [", "- just a list\n", ""])
def test_not_a_taxonomy_document(tmp_path: Path, text: str) -> None:
    path = tmp_path / "taxonomy.yml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"taxonomy\.yml"):
        load_taxonomy(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read taxonomy file"):
        load_taxonomy(tmp_path / "absent.yml")
