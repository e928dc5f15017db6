"""What a rules document does, for the reviewer of an edit: coverage and changed destinations.

Coverage is judged for a ticket of unknown area (covered there means covered everywhere, see
:meth:`RuleSet.uncovered`). Changes are compared for every area the gazetteer names down to
the street, and for the unknown area, so a territorial rule's effect shows street by street.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

from hotline.classifier.taxonomy import Taxonomy
from hotline.nlu.gazetteer import Gazetteer
from hotline.routing.areas import UNKNOWN_AREA, AreaMatch
from hotline.routing.rules import RuleSet


def coverage(rules: RuleSet, taxonomy: Taxonomy) -> dict[str, Any]:
    """Subcategories covered, those left to a catch-all, and how many each unit receives."""
    per_unit: Counter[str] = Counter()
    catch_all: list[str] = []
    uncovered = rules.uncovered(taxonomy.subcategories)
    for subcategory in taxonomy.subcategories:
        if subcategory.code in uncovered:
            continue
        match = rules.match(subcategory, UNKNOWN_AREA)
        per_unit[match.unit.code] += 1
        if match.rule.is_catch_all:
            catch_all.append(subcategory.code)
    total = len(taxonomy.subcategories)
    return {
        "subcategories": total,
        "covered": total - len(uncovered),
        "uncovered": uncovered,
        #: routed by a catch-all rule when the area is unknown: probably worth a rule of their own
        "catch_all": catch_all,
        "units_for_unknown_area": dict(sorted(per_unit.items())),
    }


def areas(gazetteer: Gazetteer) -> Iterator[tuple[str, AreaMatch]]:
    """The unknown area, each district, and each street with its district."""
    yield "unknown", UNKNOWN_AREA
    for district in gazetteer.districts:
        yield district.name, AreaMatch(district.name, None, None, "district")
    for street in gazetteer.streets:
        yield street.district + street.name, AreaMatch(street.district, street.name, None, "street")


def changes(
    before: RuleSet, after: RuleSet, taxonomy: Taxonomy, gazetteer: Gazetteer
) -> list[dict[str, str]]:
    """Every (subcategory, area) whose unit differs between two valid rule sets."""
    found = []
    places = list(areas(gazetteer))
    for subcategory in taxonomy.subcategories:
        for name, area in places:
            old = before.match(subcategory, area).unit.code
            new = after.match(subcategory, area).unit.code
            if old != new:
                found.append(
                    {"subcategory": subcategory.code, "area": name, "from": old, "to": new}
                )
    return found
