"""The city's gazetteer: districts, streets (街道), communities (社区), roads and landmarks.

Loaded from YAML (``hotline/nlu/data/gazetteer.yml`` by default, a fictional city 临江市). The NLU
uses it to find place names in messages; routing uses it to find the district a ticket belongs to.
A malformed file raises ``ConfigError`` naming the entry and the key.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from hotline.errors import ConfigError

__all__ = [
    "DEFAULT_GAZETTEER_PATH",
    "Community",
    "District",
    "Gazetteer",
    "Landmark",
    "PlaceName",
    "Road",
    "Street",
    "load_gazetteer",
]

DEFAULT_GAZETTEER_PATH = Path(__file__).parent / "data" / "gazetteer.yml"


@dataclass(frozen=True)
class District:
    """A district (区)."""

    name: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Street:
    """A street / sub-district office (街道) within one district."""

    name: str
    district: str


@dataclass(frozen=True)
class Community:
    """A community (社区) within one street."""

    name: str
    street: str
    district: str


@dataclass(frozen=True)
class Road:
    """A road, street or avenue (路/街/大道); long roads cross several districts."""

    name: str
    districts: tuple[str, ...]


@dataclass(frozen=True)
class Landmark:
    """A hospital, school, park, mall, station… in one district."""

    name: str
    kind: str
    district: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class PlaceName:
    """One surface form to look for in text, with the place it names."""

    surface: str
    kind: str  # "district", "street", "community", "road" or "landmark"
    canonical: str
    districts: tuple[str, ...]


@dataclass(frozen=True)
class Gazetteer:
    """All places of one city, with lookups by name."""

    city: str
    districts: tuple[District, ...]
    streets: tuple[Street, ...]
    communities: tuple[Community, ...]
    roads: tuple[Road, ...]
    landmarks: tuple[Landmark, ...]

    def place_names(self) -> Iterator[PlaceName]:
        """Every surface form (canonical names and aliases) with its kind and district(s)."""
        for d in self.districts:
            for surface in (d.name, *d.aliases):
                yield PlaceName(surface, "district", d.name, (d.name,))
        for s in self.streets:
            yield PlaceName(s.name, "street", s.name, (s.district,))
        for c in self.communities:
            yield PlaceName(c.name, "community", c.name, (c.district,))
        for r in self.roads:
            yield PlaceName(r.name, "road", r.name, r.districts)
        for m in self.landmarks:
            for surface in (m.name, *m.aliases):
                yield PlaceName(surface, "landmark", m.name, (m.district,))

    @functools.cached_property
    def _by_surface(self) -> dict[str, PlaceName]:
        return {place.surface: place for place in self.place_names()}

    def lookup(self, name: str) -> PlaceName | None:
        """The place a surface form (canonical name or alias) names, or None."""
        return self._by_surface.get(name)

    def districts_of(self, name: str) -> tuple[str, ...]:
        """District(s) of the place with this canonical name or alias; empty when unknown."""
        place = self._by_surface.get(name)
        return place.districts if place else ()

    def street(self, name: str) -> Street | None:
        """The street with this name, or None."""
        return next((s for s in self.streets if s.name == name), None)

    def community(self, name: str) -> Community | None:
        """The community with this name, or None."""
        return next((c for c in self.communities if c.name == name), None)


def _require(entry: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in entry or entry[key] in (None, "", []):
        raise ConfigError(f"gazetteer: {where} is missing '{key}'")
    return entry[key]


def _names(entry: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = entry.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"gazetteer: {where} '{key}' must be a list of names")
    return tuple(value)


def _parse_districts(
    raw: list[Mapping[str, Any]],
) -> tuple[list[District], list[Street], list[Community]]:
    districts: list[District] = []
    streets: list[Street] = []
    communities: list[Community] = []
    for i, entry in enumerate(raw):
        name = str(_require(entry, "name", f"districts[{i}]"))
        districts.append(District(name, _names(entry, "aliases", f"district {name}")))
        for j, street in enumerate(_require(entry, "streets", f"district {name}")):
            street_name = str(_require(street, "name", f"district {name} streets[{j}]"))
            streets.append(Street(street_name, name))
            for community in _names(street, "communities", f"street {street_name}"):
                communities.append(Community(community, street_name, name))
    return districts, streets, communities


def _parse_roads(raw: list[Mapping[str, Any]], known: set[str]) -> list[Road]:
    roads = []
    for i, entry in enumerate(raw):
        name = str(_require(entry, "name", f"roads[{i}]"))
        districts = _names(entry, "districts", f"road {name}")
        _check_known(districts, known, f"road {name}")
        roads.append(Road(name, districts))
    return roads


def _parse_landmarks(raw: list[Mapping[str, Any]], known: set[str]) -> list[Landmark]:
    landmarks = []
    for i, entry in enumerate(raw):
        name = str(_require(entry, "name", f"landmarks[{i}]"))
        district = str(_require(entry, "district", f"landmark {name}"))
        _check_known((district,), known, f"landmark {name}")
        kind = str(_require(entry, "kind", f"landmark {name}"))
        landmarks.append(Landmark(name, kind, district, _names(entry, "aliases", name)))
    return landmarks


def _check_known(districts: tuple[str, ...], known: set[str], where: str) -> None:
    unknown = [d for d in districts if d not in known]
    if not districts or unknown:
        raise ConfigError(f"gazetteer: {where} names unknown district(s) {unknown or '[]'}")


def _read(path: Path) -> Mapping[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"gazetteer: cannot read {path}: {exc}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"gazetteer: {path} is not valid YAML: {exc}") from exc
    if not isinstance(data, Mapping):
        raise ConfigError(f"gazetteer: {path} must hold a mapping with 'city' and 'districts'")
    return data


def load_gazetteer(path: Path | None = None) -> Gazetteer:
    """Load and validate a gazetteer file (the bundled 临江市 one when ``path`` is None)."""
    data = _read(path or DEFAULT_GAZETTEER_PATH)
    city = str(_require(data, "city", "the file"))
    districts, streets, communities = _parse_districts(_require(data, "districts", "the file"))
    known = {d.name for d in districts}
    gazetteer = Gazetteer(
        city=city,
        districts=tuple(districts),
        streets=tuple(streets),
        communities=tuple(communities),
        roads=tuple(_parse_roads(data.get("roads") or [], known)),
        landmarks=tuple(_parse_landmarks(data.get("landmarks") or [], known)),
    )
    counts = Counter(place.surface for place in gazetteer.place_names())
    duplicates = sorted(name for name, count in counts.items() if count > 1)
    if duplicates:
        raise ConfigError(f"gazetteer: names used for more than one place: {duplicates}")
    return gazetteer
