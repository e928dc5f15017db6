"""A ticket's area (district / street / community) from its address text or its coordinates.

Text is matched against the city gazetteer, longest name first. The most specific mention wins:
community > street > road > landmark > district. A road that crosses districts takes the district
the other evidence agrees with, else its first district, and the match says so. Coordinates are
used when the text names no place, or to settle a cross-district road, when the city provides a
GeoJSON FeatureCollection (ray casting; holes and MultiPolygons supported). When nothing is found
the area is unknown and the ticket goes to city level.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hotline.errors import ConfigError
from hotline.nlu.gazetteer import Gazetteer, PlaceName

UNKNOWN_NOTE = "area unknown: routed to city level"
# Most specific first; a higher rank wins.
_RANK = {"district": 1, "landmark": 2, "road": 3, "street": 4, "community": 5}


@dataclass(frozen=True)
class AreaMatch:
    """The resolved area; ``source`` names the evidence ("community", "road", "coordinates"…)."""

    district: str | None
    street: str | None
    community: str | None
    source: str
    note: str | None = None
    #: the place names or the coordinate feature the match rests on
    evidence: tuple[str, ...] = ()

    @property
    def level(self) -> str:
        """The most specific level known: "community", "street", "district" or "city"."""
        if self.community:
            return "community"
        if self.street:
            return "street"
        return "district" if self.district else "city"

    def describe(self) -> str:
        """A short human description, e.g. "江北区望江街道（依据：望江街道）"."""
        if self.level == "city":
            return self.note or UNKNOWN_NOTE
        name = "".join(part for part in (self.district, self.street, self.community) if part)
        text = f"{name}（依据：{'、'.join(self.evidence) or self.source}）"
        return f"{text}；{self.note}" if self.note else text


UNKNOWN_AREA = AreaMatch(None, None, None, "none", UNKNOWN_NOTE)

Ring = tuple[tuple[float, float], ...]
Polygon = tuple[Ring, ...]  # outer ring first, then holes
_GEO_RANK = {"district": 1, "street": 2, "community": 3}


@dataclass(frozen=True)
class GeoArea:
    """One area polygon (or multipolygon) of the city's GeoJSON file."""

    feature: str
    district: str
    street: str | None
    community: str | None
    polygons: tuple[Polygon, ...]
    bbox: tuple[float, float, float, float]

    @property
    def rank(self) -> int:
        """How specific the feature is: community 3, street 2, district 1."""
        return _GEO_RANK["community" if self.community else "street" if self.street else "district"]

    def contains(self, x: float, y: float) -> bool:
        """Whether the point (longitude ``x``, latitude ``y``) lies inside."""
        min_x, min_y, max_x, max_y = self.bbox
        if not (min_x <= x <= max_x and min_y <= y <= max_y):
            return False
        return any(_in_polygon(polygon, x, y) for polygon in self.polygons)


def _in_ring(ring: Ring, x: float, y: float) -> bool:
    """Ray casting: count crossings of a ray from the point towards +x."""
    inside = False
    j = len(ring) - 1
    for i in range(len(ring)):
        xi, yi = ring[i]
        xj, yj = ring[j]
        if (yi > y) != (yj > y) and x < (xj - xi) * (y - yi) / (yj - yi) + xi:
            inside = not inside
        j = i
    return inside


def _in_polygon(polygon: Polygon, x: float, y: float) -> bool:
    outer, *holes = polygon
    return _in_ring(outer, x, y) and not any(_in_ring(hole, x, y) for hole in holes)


@dataclass(frozen=True)
class AreaPolygons:
    """The city's area polygons; the most specific feature containing a point wins."""

    areas: tuple[GeoArea, ...]

    def locate(self, *, longitude: float, latitude: float) -> GeoArea | None:
        """The most specific area containing the point, or None."""
        hits = [a for a in self.areas if a.contains(longitude, latitude)]
        return max(hits, key=lambda a: a.rank) if hits else None


def _ring(raw: Any, where: str) -> Ring:
    try:
        ring = tuple((float(p[0]), float(p[1])) for p in raw)
    except (TypeError, ValueError, IndexError) as exc:
        raise ConfigError(f"area polygons: {where} must be a list of [lon, lat]") from exc
    if len(ring) < 4:
        raise ConfigError(f"area polygons: {where} needs at least 4 positions (closed ring)")
    return ring


def _polygons(geometry: Any, where: str) -> tuple[Polygon, ...]:
    kind = geometry.get("type") if isinstance(geometry, Mapping) else None
    coords = geometry.get("coordinates") if isinstance(geometry, Mapping) else None
    if kind == "Polygon" and isinstance(coords, list):
        raw_polygons = [coords]
    elif kind == "MultiPolygon" and isinstance(coords, list):
        raw_polygons = coords
    else:
        raise ConfigError(f"area polygons: {where} geometry must be a Polygon or MultiPolygon")
    return tuple(
        tuple(_ring(r, f"{where} ring {k}") for k, r in enumerate(p)) for p in raw_polygons
    )


def _feature(raw: Any, index: int, gazetteer: Gazetteer) -> GeoArea:
    where = f"features[{index}]"
    props = raw.get("properties") if isinstance(raw, Mapping) else None
    if not isinstance(props, Mapping) or props.get("district") not in {
        d.name for d in gazetteer.districts
    }:
        raise ConfigError(f"area polygons: {where} properties.district must name a district")
    street, community = props.get("street"), props.get("community")
    if street is not None and gazetteer.street(str(street)) is None:
        raise ConfigError(f"area polygons: {where} names unknown street {street!r}")
    if community is not None and gazetteer.community(str(community)) is None:
        raise ConfigError(f"area polygons: {where} names unknown community {community!r}")
    polygons = _polygons(raw.get("geometry"), where)
    xs = [x for p in polygons for x, _ in p[0]]
    ys = [y for p in polygons for _, y in p[0]]
    name = str(props.get("name") or community or street or props["district"])
    return GeoArea(
        name,
        str(props["district"]),
        street,
        community,
        polygons,
        (min(xs), min(ys), max(xs), max(ys)),
    )


def load_polygons(path: Path, gazetteer: Gazetteer) -> AreaPolygons:
    """Load a GeoJSON FeatureCollection whose features carry district / street / community."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"area polygons: cannot read {path}: {exc}") from exc
    if not isinstance(data, Mapping) or data.get("type") != "FeatureCollection":
        raise ConfigError(f"area polygons: {path} must be a GeoJSON FeatureCollection")
    features = data.get("features") or []
    return AreaPolygons(tuple(_feature(f, i, gazetteer) for i, f in enumerate(features)))


class AreaResolver:
    """Finds areas with one gazetteer and, optionally, the city's area polygons."""

    def __init__(self, gazetteer: Gazetteer, polygons: AreaPolygons | None = None) -> None:
        self.gazetteer = gazetteer
        self.polygons = polygons
        self._by_first: dict[str, list[PlaceName]] = {}
        for place in gazetteer.place_names():
            self._by_first.setdefault(place.surface[0], []).append(place)
        for places in self._by_first.values():
            places.sort(key=lambda p: len(p.surface), reverse=True)

    def mentions(self, text: str) -> list[PlaceName]:
        """Place names in ``text``, longest match first at each position, without overlaps."""
        found: list[PlaceName] = []
        i = 0
        while i < len(text):
            hit = next(
                (p for p in self._by_first.get(text[i], ()) if text.startswith(p.surface, i)), None
            )
            if hit is None:
                i += 1
                continue
            found.append(hit)
            i += len(hit.surface)
        return found

    def resolve(
        self,
        *texts: str | None,
        latitude: float | None = None,
        longitude: float | None = None,
    ) -> AreaMatch:
        """The area named by ``texts`` (address, area field…) or located by the coordinates."""
        places = [p for text in texts if text for p in self.mentions(text)]
        geo = self._locate(latitude, longitude)
        if places:
            return _refine(self._from_places(places, geo), geo)
        if geo is not None:
            return _from_geo(geo)
        return UNKNOWN_AREA

    def _locate(self, latitude: float | None, longitude: float | None) -> GeoArea | None:
        if self.polygons is None or latitude is None or longitude is None:
            return None
        return self.polygons.locate(longitude=longitude, latitude=latitude)

    def _from_places(self, places: Sequence[PlaceName], geo: GeoArea | None) -> AreaMatch:
        best = max(places, key=lambda p: _RANK[p.kind])  # first of the most specific kind
        others = [d for p in places if p is not best for d in p.districts]
        if geo is not None:
            others.append(geo.district)
        district, note = self._district_of(best, others)
        street = community = None
        if best.kind == "community":
            found = self.gazetteer.community(best.canonical)
            street, community = (found.street, found.name) if found else (None, None)
        elif best.kind == "street":
            street = best.canonical
        conflict = sorted({d for d in others if d != district})
        if conflict and note is None:
            note = f"other evidence names {'、'.join(conflict)}; the most specific place wins"
        evidence = tuple(dict.fromkeys(p.surface for p in places))
        return AreaMatch(district, street, community, best.kind, note, evidence)

    def _district_of(self, best: PlaceName, others: list[str]) -> tuple[str, str | None]:
        if len(best.districts) == 1:
            return best.districts[0], None
        agreeing = [d for d in best.districts if d in others]
        if agreeing:
            return agreeing[0], (
                f"{best.canonical} crosses districts; other evidence names {agreeing[0]}"
            )
        first = best.districts[0]
        return first, (
            f"{best.canonical} crosses {'、'.join(best.districts)}; "
            f"nothing else names the district, so its first district {first} was taken"
        )


def _refine(match: AreaMatch, geo: GeoArea | None) -> AreaMatch:
    """Text naming only a district, coordinates naming a street inside it: take the street."""
    if geo is None or match.level != "district" or geo.district != match.district:
        return match
    if geo.street is None:
        return match
    evidence = (*match.evidence, geo.feature)
    return AreaMatch(geo.district, geo.street, geo.community, "coordinates", match.note, evidence)


def _from_geo(geo: GeoArea) -> AreaMatch:
    return AreaMatch(geo.district, geo.street, geo.community, "coordinates", None, (geo.feature,))
