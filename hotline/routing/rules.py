"""Routing rules: subcategory or category × area → responsible unit, from a validated YAML file.

Each rule has a ``description``, a ``match`` (any of ``subcategory``, ``category``, ``district``,
``street`` — a value or a list — and ``needs_place``), a ``unit`` (a unit code, a template
``{community}`` / ``{street}`` / ``{district}`` naming the territorial office of the ticket's area,
or a list of these tried in order) and an optional ``priority`` (higher first; file order breaks
ties). A rule whose units all fail to resolve (say ``{street}`` for a ticket without a street) is
skipped and the next one tried. Every subcategory of the taxonomy must route somewhere even when
the ticket's area is unknown, which a final catch-all rule (empty ``match``, ending in a unit
code) guarantees. The same validation serves the file and a document saved through the staff
API (:func:`parse_rules`); every problem is reported with the rule's index and key.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from hotline.classifier.taxonomy import Subcategory, Taxonomy
from hotline.errors import ConfigError
from hotline.nlu.gazetteer import Gazetteer
from hotline.routing.areas import UNKNOWN_AREA, AreaMatch
from hotline.storage.models import Unit, UnitLevel

DEFAULT_RULES_PATH = Path(__file__).parent / "data" / "rules.yml"
DEFAULT_UNITS_PATH = Path(__file__).parents[1] / "sample" / "units.yml"
TEMPLATES = {
    "{community}": UnitLevel.COMMUNITY,
    "{street}": UnitLevel.STREET,
    "{district}": UnitLevel.DISTRICT,
}
_MATCH_KEYS = {"subcategory", "category", "district", "street", "needs_place"}
_RULE_KEYS = {"description", "match", "unit", "priority"}


@dataclass(frozen=True)
class UnitInfo:
    """What routing needs to know about a unit."""

    code: str
    name: str
    level: UnitLevel
    areas: tuple[str, ...]


class UnitDirectory:
    """Units by code, and the territorial office of each area name per level."""

    def __init__(self, units: Iterable[UnitInfo]) -> None:
        self.units: dict[str, UnitInfo] = {}
        self._office: dict[tuple[UnitLevel, str], UnitInfo] = {}
        for unit in units:
            self.units[unit.code] = unit
            for area in unit.areas:
                other = self._office.setdefault((unit.level, area), unit)
                if other is not unit:
                    raise ConfigError(
                        f"units: {other.code} and {unit.code} both list {area} at level "
                        f"{unit.level}; keep it on one of them"
                    )

    @classmethod
    def from_units(cls, units: Iterable[Unit]) -> UnitDirectory:
        """From database rows (``hotline.storage.repos.units.all_units``); inactive ones skipped."""
        return cls(
            UnitInfo(u.code, u.name, UnitLevel(u.level), tuple(u.areas)) for u in units if u.active
        )

    @classmethod
    def from_file(cls, path: Path | None = None) -> UnitDirectory:
        """From a units YAML file (the sample city's ``hotline/sample/units.yml`` by default)."""
        path = path or DEFAULT_UNITS_PATH
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))["units"]
            return cls(
                UnitInfo(u["code"], u["name"], UnitLevel(u["level"]), tuple(u.get("areas") or ()))
                for u in raw
            )
        except (OSError, yaml.YAMLError, KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"units: cannot read {path}: {exc}") from exc

    def office(self, level: UnitLevel, area: str | None) -> UnitInfo | None:
        """The unit of ``level`` serving ``area``, or None."""
        return self._office.get((level, area)) if area else None


@dataclass(frozen=True)
class Rule:
    """One validated routing rule; ``index`` is its position in the file."""

    index: int
    description: str
    priority: int
    subcategories: frozenset[str]
    categories: frozenset[str]
    districts: frozenset[str]
    streets: frozenset[str]
    needs_place: bool | None
    units: tuple[str, ...]

    @property
    def label(self) -> str:
        """``rules[7] 描述`` for messages."""
        return f"rules[{self.index}] {self.description}"

    @property
    def is_catch_all(self) -> bool:
        """No condition at all and a fixed last unit: it routes whatever is left."""
        conditions = self.subcategories or self.categories or self.districts or self.streets
        return not conditions and self.needs_place is None and self.units[-1] not in TEMPLATES

    def applies(self, subcategory: Subcategory, area: AreaMatch) -> bool:
        """Whether the match conditions hold for a ticket (the unit may still not resolve)."""
        return (
            (not self.subcategories or subcategory.code in self.subcategories)
            and (not self.categories or subcategory.category_code in self.categories)
            and (not self.districts or area.district in self.districts)
            and (not self.streets or area.street in self.streets)
            and (self.needs_place is None or subcategory.needs_place is self.needs_place)
        )


@dataclass(frozen=True)
class RuleMatch:
    """The rule that routed a ticket, the unit it chose and how (template → area)."""

    rule: Rule
    unit: UnitInfo
    via: str
    #: rules that applied before it but could not name a unit, with why
    skipped: tuple[str, ...] = ()


class RuleSet:
    """Validated rules in priority order."""

    def __init__(self, rules: Sequence[Rule], directory: UnitDirectory) -> None:
        self.rules = tuple(sorted(rules, key=lambda r: (-r.priority, r.index)))
        self.directory = directory

    def match(self, subcategory: Subcategory, area: AreaMatch) -> RuleMatch:
        """The first applicable rule whose unit resolves; the catch-all guarantees one."""
        skipped: list[str] = []
        for rule in self.rules:
            if not rule.applies(subcategory, area):
                continue
            for candidate in rule.units:
                unit, via = self._resolve(candidate, area)
                if unit is not None:
                    return RuleMatch(rule, unit, via, tuple(skipped))
            skipped.append(f"{rule.label}: no {'/'.join(rule.units)} office for this area")
        raise ConfigError(f"routing rules: nothing routes subcategory {subcategory.code}")

    def uncovered(self, subcategories: Iterable[Subcategory]) -> list[str]:
        """Codes no rule routes for an unknown area; covered there means covered everywhere.

        A rule that routes a ticket of unknown area has no area condition and a fixed unit, so
        it applies, and resolves, whatever the area.
        """
        missing = []
        for subcategory in subcategories:
            try:
                self.match(subcategory, UNKNOWN_AREA)
            except ConfigError:
                missing.append(subcategory.code)
        return missing

    def _resolve(self, candidate: str, area: AreaMatch) -> tuple[UnitInfo | None, str]:
        level = TEMPLATES.get(candidate)
        if level is None:
            return self.directory.units[candidate], candidate
        name = {
            UnitLevel.COMMUNITY: area.community,
            UnitLevel.STREET: area.street,
            UnitLevel.DISTRICT: area.district,
        }[level]
        return self.directory.office(level, name), f"{candidate} → {name}"


def _values(raw: Any, where: str) -> frozenset[str]:
    values = raw if isinstance(raw, list) else [raw]
    if not values or not all(isinstance(v, str) and v for v in values):
        raise ConfigError(f"{where} must be a non-empty string or list of strings")
    return frozenset(values)


class _Validator:
    """Checks one rule's codes, names and units against the taxonomy, gazetteer and units."""

    def __init__(self, taxonomy: Taxonomy, gazetteer: Gazetteer, directory: UnitDirectory):
        self.categories = {c.code for c in taxonomy.categories}
        self.subcategories = {s.code: s.category_code for s in taxonomy.subcategories}
        self.districts = {d.name for d in gazetteer.districts}
        self.streets = {s.name for s in gazetteer.streets}
        self.directory = directory

    def rule(self, index: int, raw: Any) -> Rule:
        where = f"routing rules: rules[{index}]"
        if not isinstance(raw, Mapping) or set(raw) - _RULE_KEYS or "unit" not in raw:
            raise ConfigError(f"{where} must be a mapping of {sorted(_RULE_KEYS)} with a unit")
        description = raw.get("description")
        if not isinstance(description, str) or not description.strip():
            raise ConfigError(f"{where} needs a description")
        priority = raw.get("priority", 0)
        if not isinstance(priority, int) or isinstance(priority, bool):
            raise ConfigError(f"{where}.priority must be an integer")
        subs, cats, districts, streets, needs_place = self._match(raw.get("match") or {}, where)
        units = tuple(self._units(raw["unit"], where))
        return Rule(
            index, description.strip(), priority, subs, cats, districts, streets, needs_place, units
        )

    def _match(
        self, raw: Any, where: str
    ) -> tuple[frozenset[str], frozenset[str], frozenset[str], frozenset[str], bool | None]:
        if not isinstance(raw, Mapping) or set(raw) - _MATCH_KEYS:
            raise ConfigError(f"{where}.match may only hold {sorted(_MATCH_KEYS)}")
        known = (
            ("subcategory", set(self.subcategories)),
            ("category", self.categories),
            ("district", self.districts),
            ("street", self.streets),
        )
        found: list[frozenset[str]] = []
        for key, allowed in known:
            values = _values(raw[key], f"{where}.match.{key}") if key in raw else frozenset()
            unknown = sorted(values - allowed)
            if unknown:
                raise ConfigError(f"{where}.match.{key}: unknown {key} {unknown}")
            found.append(values)
        self._check_pairs(found[0], found[1], where)
        needs_place = raw.get("needs_place")
        if needs_place is not None and not isinstance(needs_place, bool):
            raise ConfigError(f"{where}.match.needs_place must be true or false")
        return found[0], found[1], found[2], found[3], needs_place

    def _check_pairs(self, subs: frozenset[str], cats: frozenset[str], where: str) -> None:
        outside = sorted(s for s in subs if cats and self.subcategories[s] not in cats)
        if outside:
            raise ConfigError(f"{where}.match: subcategories {outside} are not in {sorted(cats)}")

    def _units(self, raw: Any, where: str) -> Iterable[str]:
        listed = raw if isinstance(raw, list) else [raw]
        if not listed or not all(isinstance(v, str) and v for v in listed):
            raise ConfigError(f"{where}.unit must be a unit code, a template or a list of them")
        for candidate in listed:
            if "{" in candidate or "}" in candidate:
                if candidate not in TEMPLATES:
                    raise ConfigError(
                        f"{where}.unit: bad template {candidate!r}; use {sorted(TEMPLATES)}"
                    )
            elif candidate not in self.directory.units:
                raise ConfigError(f"{where}.unit: unknown unit code {candidate!r}")
            yield candidate


class RulesInvalid(ConfigError):
    """A rules document with problems; ``errors`` holds each one, naming the rule and key."""

    def __init__(self, errors: Sequence[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = tuple(errors)


def load_rules(
    taxonomy: Taxonomy,
    gazetteer: Gazetteer,
    directory: UnitDirectory,
    path: Path | None = None,
) -> RuleSet:
    """Load and validate a rules file (the shipped one when ``path`` is None)."""
    path = path or DEFAULT_RULES_PATH
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RulesInvalid([f"routing rules: cannot read {path}: {exc}"]) from exc
    return parse_rules(text, taxonomy, gazetteer, directory, source=str(path))


def parse_rules(
    text: str,
    taxonomy: Taxonomy,
    gazetteer: Gazetteer,
    directory: UnitDirectory,
    *,
    source: str = "the document",
) -> RuleSet:
    """Validate a rules document (the YAML of the rules file); raises :class:`RulesInvalid`."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise RulesInvalid([f"routing rules: cannot read {source}: {exc}"]) from exc
    except RecursionError as exc:
        # PyYAML composes nested nodes recursively: a few hundred "[" exhaust the stack.
        raise RulesInvalid(
            [f"routing rules: cannot read {source}: it is nested too deeply"]
        ) from exc
    raw_rules = data.get("rules") if isinstance(data, Mapping) else None
    if not isinstance(raw_rules, list) or not raw_rules:
        raise RulesInvalid([f"routing rules: {source} must hold a non-empty list 'rules'"])
    validator = _Validator(taxonomy, gazetteer, directory)
    rules, errors = [], []
    for index, raw in enumerate(raw_rules):
        try:
            rules.append(validator.rule(index, raw))
        except ConfigError as exc:
            errors.append(exc.message)
    if errors:
        raise RulesInvalid(errors)
    rule_set = RuleSet(rules, directory)
    uncovered = rule_set.uncovered(taxonomy.subcategories)
    if uncovered:
        shown = ", ".join(uncovered[:20]) + (" …" if len(uncovered) > 20 else "")
        raise RulesInvalid(
            [
                f"routing rules: {len(uncovered)} subcategories route nowhere when the area is "
                f"unknown ({shown}); add a final catch-all rule (no match, a fixed unit such as "
                "LJ) or end their rules' unit lists with a fixed unit"
            ]
        )
    return rule_set
