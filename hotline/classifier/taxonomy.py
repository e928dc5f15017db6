"""The city's request taxonomy (categories and subcategories), loaded from a validated YAML file."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml

from hotline.errors import ConfigError, NotFound

DEFAULT_TAXONOMY_PATH = Path(__file__).parent / "data" / "taxonomy.yml"
# The product promises the citizens' "27 major categories and 266 subcategories".
DEFAULT_EXPECTED_COUNTS = (27, 266)

_CATEGORY_CODE = re.compile(r"\d{2}")
_SUBCATEGORY_CODE = re.compile(r"\d{4}")
# DB44/T 2479—2024 codes: level 2 has four digits, level 3 six.
_STANDARD_CODE = re.compile(r"\d{4}(\d{2})?")
_CATEGORY_KEYS = {"code", "name", "scope", "subcategories"}
_SUBCATEGORY_REQUIRED = {
    "code",
    "name",
    "scope",
    "keywords",
    "needs_place",
    "urgency",
    "deadline_days",
    "standard_codes",
}
_SUBCATEGORY_KEYS = _SUBCATEGORY_REQUIRED | {"note"}


class Urgency(StrEnum):
    """How fast a ticket in a subcategory must be handled."""

    NORMAL = "normal"
    URGENT = "urgent"
    CRITICAL = "critical"


@dataclass(frozen=True)
class Subcategory:
    """A second-level request type; the unit tickets are classified into."""

    code: str
    name: str
    category_code: str
    scope: str
    keywords: tuple[str, ...]
    needs_place: bool
    urgency: Urgency
    deadline_days: int
    standard_codes: tuple[str, ...]
    note: str | None = None


@dataclass(frozen=True)
class Category:
    """A first-level request category."""

    code: str
    name: str
    scope: str
    subcategory_codes: tuple[str, ...]


@dataclass(frozen=True)
class Taxonomy:
    """All categories and subcategories, with lookups by code and name."""

    categories: tuple[Category, ...]
    subcategories: tuple[Subcategory, ...]
    version: str
    _by_code: dict[str, Category | Subcategory] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )
    _by_name: dict[str, Category | Subcategory] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        nodes: list[Category | Subcategory] = [*self.categories, *self.subcategories]
        for node in nodes:
            self._by_code[node.code] = node
            self._by_name[node.name] = node

    def category(self, code: str) -> Category:
        """The category with this two-digit code."""
        node = self._by_code.get(code)
        if not isinstance(node, Category):
            raise NotFound(f"unknown category code {code!r}")
        return node

    def subcategory(self, code: str) -> Subcategory:
        """The subcategory with this four-digit code."""
        node = self._by_code.get(code)
        if not isinstance(node, Subcategory):
            raise NotFound(f"unknown subcategory code {code!r}")
        return node

    def find(self, code_or_name: str) -> Category | Subcategory:
        """A category or subcategory by its code or its exact Chinese name."""
        key = code_or_name.strip()
        node = self._by_code.get(key) or self._by_name.get(key)
        if node is None:
            raise NotFound(f"no category or subcategory with code or name {code_or_name!r}")
        return node

    def children(self, category_code: str) -> tuple[Subcategory, ...]:
        """The subcategories of a category, in file order."""
        category = self.category(category_code)
        return tuple(self.subcategory(code) for code in category.subcategory_codes)


def load_taxonomy(
    path: Path | None = None,
    *,
    expected_counts: tuple[int, int] | None = DEFAULT_EXPECTED_COUNTS,
) -> Taxonomy:
    """Read and validate a taxonomy file; `expected_counts=None` skips the 27/266 check."""
    source = path or DEFAULT_TAXONOMY_PATH
    try:
        raw = source.read_bytes()
        document = yaml.safe_load(raw)
    except OSError as exc:
        raise ConfigError(f"cannot read taxonomy file {source}: {exc}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"taxonomy file {source} is not valid YAML: {exc}") from exc
    categories, subcategories = _parse_document(document, source.name)
    if expected_counts is not None:
        _check_counts(source.name, expected_counts, len(categories), len(subcategories))
    version = hashlib.sha256(raw).hexdigest()[:12]
    return Taxonomy(categories=categories, subcategories=subcategories, version=version)


class _Seen:
    """Codes and names already used, so duplicates are reported with the entry that clashes."""

    def __init__(self, where: str) -> None:
        self.where = where
        self.codes: dict[str, str] = {}
        self.names: dict[str, str] = {}

    def claim(self, code: str, name: str) -> None:
        if code in self.codes:
            raise ConfigError(
                f"{self.where}: duplicate code {code} ({name} and {self.codes[code]})"
            )
        if name in self.names:
            raise ConfigError(
                f"{self.where}: duplicate name {name!r} (codes {self.names[name]} and {code}); "
                "names must be unique across categories and subcategories"
            )
        self.codes[code] = name
        self.names[name] = code


def _parse_document(
    document: Any, where: str
) -> tuple[tuple[Category, ...], tuple[Subcategory, ...]]:
    if not isinstance(document, Mapping) or not isinstance(document.get("categories"), list):
        raise ConfigError(f"{where}: top level must be a mapping with a 'categories' list")
    seen = _Seen(where)
    categories: list[Category] = []
    subcategories: list[Subcategory] = []
    for index, entry in enumerate(document["categories"]):
        category, children = _parse_category(entry, where, index, seen)
        categories.append(category)
        subcategories.extend(children)
    return tuple(categories), tuple(subcategories)


def _parse_category(
    entry: Any, filename: str, index: int, seen: _Seen
) -> tuple[Category, list[Subcategory]]:
    where = f"{filename}: category #{index + 1}"
    data = _mapping(entry, where, required=_CATEGORY_KEYS, allowed=_CATEGORY_KEYS)
    code = _text(data, "code", where)
    if not _CATEGORY_CODE.fullmatch(code):
        raise ConfigError(f'{where}: code {code!r} must be two digits like "01"')
    name = _text(data, "name", where)
    where = f"{filename}: category {code} ({name})"
    seen.claim(code, name)
    entries = data["subcategories"]
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"{where}: has no subcategories; every category needs at least one")
    children = [_parse_subcategory(item, code, f"{where} subcategory", seen) for item in entries]
    category = Category(
        code=code,
        name=name,
        scope=_text(data, "scope", where),
        subcategory_codes=tuple(child.code for child in children),
    )
    return category, children


def _parse_subcategory(entry: Any, category_code: str, where: str, seen: _Seen) -> Subcategory:
    data = _mapping(entry, where, required=_SUBCATEGORY_REQUIRED, allowed=_SUBCATEGORY_KEYS)
    code = _text(data, "code", where)
    name = _text(data, "name", where)
    where = f"{where} {code} ({name})"
    if not _SUBCATEGORY_CODE.fullmatch(code) or not code.startswith(category_code):
        raise ConfigError(
            f"{where}: code must be four digits starting with its category code {category_code}"
        )
    seen.claim(code, name)
    note = data.get("note")
    if note is not None and not isinstance(note, str):
        raise ConfigError(f"{where}: note must be text")
    return Subcategory(
        code=code,
        name=name,
        category_code=category_code,
        scope=_text(data, "scope", where),
        keywords=_text_list(data, "keywords", where),
        needs_place=_flag(data, "needs_place", where),
        urgency=_urgency(data, where),
        deadline_days=_deadline(data, where),
        standard_codes=_standard_codes(data, where),
        note=note,
    )


def _mapping(entry: Any, where: str, *, required: set[str], allowed: set[str]) -> Mapping[str, Any]:
    if not isinstance(entry, Mapping):
        raise ConfigError(f"{where}: must be a mapping")
    missing = sorted(required - entry.keys())
    if missing:
        raise ConfigError(f"{where}: missing key(s) {', '.join(missing)}")
    unknown = sorted(str(key) for key in entry.keys() - allowed)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}")
    return entry


def _text(data: Mapping[str, Any], key: str, where: str) -> str:
    value = data[key]
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f'{where}: {key} must be non-empty text (quote codes: "0101")')
    return value.strip()


def _text_list(data: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    values = data[key]
    if not isinstance(values, list) or not values:
        raise ConfigError(f"{where}: {key} must be a non-empty list")
    if not all(isinstance(value, str) and value.strip() for value in values):
        raise ConfigError(f"{where}: every entry of {key} must be non-empty text (quote numbers)")
    return tuple(value.strip() for value in values)


def _flag(data: Mapping[str, Any], key: str, where: str) -> bool:
    value = data[key]
    if not isinstance(value, bool):
        raise ConfigError(f"{where}: {key} must be true or false, not {value!r}")
    return value


def _urgency(data: Mapping[str, Any], where: str) -> Urgency:
    value = data["urgency"]
    allowed = ", ".join(level.value for level in Urgency)
    if value not in {level.value for level in Urgency}:
        raise ConfigError(f"{where}: urgency {value!r} is not one of {allowed}")
    return Urgency(value)


def _deadline(data: Mapping[str, Any], where: str) -> int:
    value = data["deadline_days"]
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigError(f"{where}: deadline_days must be a positive whole number, not {value!r}")
    return value


def _standard_codes(data: Mapping[str, Any], where: str) -> tuple[str, ...]:
    codes = _text_list(data, "standard_codes", where)
    for code in codes:
        if not _STANDARD_CODE.fullmatch(code):
            raise ConfigError(
                f"{where}: standard code {code!r} must be a DB44/T 2479 code of 4 or 6 digits"
            )
    return codes


def _check_counts(where: str, expected: tuple[int, int], categories: int, subs: int) -> None:
    if (categories, subs) != expected:
        raise ConfigError(
            f"{where}: has {categories} categories and {subs} subcategories, "
            f"expected {expected[0]} and {expected[1]}"
        )
