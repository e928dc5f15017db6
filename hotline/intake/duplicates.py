"""Duplicate reports: a new ticket for a matter that is already open is linked to it.

A new ticket is a duplicate of an open original (status not resolved / closed / cancelled /
merged, and not itself a duplicate) when it has the same subcategory, was created within the
configured window after the original, and concerns **the same place**:

* when both tickets carry coordinates, the coordinates decide: at most ``radius_m`` (100 m)
  apart. A point picked on a map is the most precise evidence there is, so two pins 2 km apart
  on the same long road are two matters even though their texts name the same road;
* otherwise their addresses must reduce to the same place key, the most specific thing the
  address states, in this order:

  1. a street address found by the NLU's address patterns: ``望江路18号``, ``阳光小区3栋2单元``,
     a crossing (``解放路与胜利路交叉口`` = ``胜利路和解放路路口``), a village; on a road that
     crosses districts only together with the one district the address names, as in 4;
  2. a gazetteer landmark (``市一医院`` = ``临江市第一人民医院``, aliases resolved);
  3. a gazetteer community (``望江社区``);
  4. a gazetteer road; a road that crosses districts only together with the one district the
     address names (``江北区人民路`` ≠ ``江南区人民路``; a bare ``人民路`` is no place);
  5. an address naming nothing the gazetteer or the patterns know: its normalised text
     (full-width folded, spaces and punctuation removed, the city's name dropped), unless it is
     relative to the speaker (``我家楼下``, ``这里``), shorter than four characters or only
     digits; a gap between two digits stays (``3-12`` ≠ ``31-2``).

  A number left outside every place found (``望江社区12栋``) is kept in the key of 1–4, so
  ``望江社区12栋`` ≠ ``望江社区3栋``. An address naming only a district or a street (街道) is
  too coarse to be a place.

A ticket without a place is never a duplicate (every "社保怎么交" is not one matter), nor is a
ticket without a subcategory. Two addresses of different precision (``望江路`` and
``望江路18号``) do not match: merging two different matters would leave one citizen's request
with nobody handling it, while a missed duplicate only costs the unit a second ticket.

Concurrency: the search and the link happen in the transaction that creates the ticket. On
PostgreSQL a transaction-scoped advisory lock keyed on the subcategory makes concurrent
reports of one subcategory (from any number of processes) look for originals one after the
other, each seeing the ones committed before it: two reports of one matter cannot both become
originals. The lock is per subcategory, not per place, because "within 100 m" has no exact key;
it is held only for the rest of the creating transaction. SQLite already serialises writers
(``BEGIN IMMEDIATE``).
"""

from __future__ import annotations

import functools
import hashlib
import logging
import math
import re
import unicodedata
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from hotline.nlu.gazetteer import Gazetteer, load_gazetteer
from hotline.nlu.places import PlaceMatcher, PlaceMention
from hotline.storage.models import Ticket, TicketStatus
from hotline.storage.repos import tickets as ticket_repo

log = logging.getLogger(__name__)

#: statuses of a ticket that can take no more reports
NOT_OPEN = (
    TicketStatus.RESOLVED,
    TicketStatus.CLOSED,
    TicketStatus.CANCELLED,
    TicketStatus.MERGED,
)
RADIUS_M = 100.0
_EARTH_RADIUS_M = 6_371_008.8
# Place keys by kind, most specific first (the "address" kind is the NLU's pattern address).
_KEY_KINDS = ("address", "landmark", "community", "road")
_CROSSING = re.compile(
    r"^(?P<a>.+?)(?:与|和|跟|、)(?P<b>.+?)的?(?:交叉口|交叉路口|十字路口|路口|交汇处)$"
)
#: an address relative to the speaker names no place two citizens can share
_RELATIVE = re.compile(r"[我你您他她咱这那]|自己")
#: a house, building, floor or room number (after NFKC, so full-width digits are ASCII)
_NUMBER = re.compile(
    r"(?:\d+(?:-\d+)*|[零〇一二两三四五六七八九十百千]+(?=号|栋|幢|座|楼|单元|层|室|户|组))"
    r"(?:号楼|号院|单元|号|栋|幢|座|楼|层|室|户|组)?"
)
_MIN_TEXT_KEY = 4
_LOCK_NAMESPACE = "hotline.intake.duplicates"


@dataclass(frozen=True)
class Place:
    """What two tickets' places are compared by; ``key`` or ``point`` (or both) is set."""

    key: str | None
    point: tuple[float, float] | None  # (latitude, longitude)

    def same_as(self, other: Place, *, radius_m: float = RADIUS_M) -> bool:
        if self.point is not None and other.point is not None:
            return distance_m(self.point, other.point) <= radius_m
        return self.key is not None and self.key == other.key


def distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance in metres (haversine) between two (latitude, longitude) points."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * _EARTH_RADIUS_M * math.asin(math.sqrt(min(1.0, h)))


class PlaceKeys:
    """Reduces an address to its place key (see the module docstring), cached per text."""

    def __init__(self, gazetteer: Gazetteer) -> None:
        self._gazetteer = gazetteer
        self._matcher = PlaceMatcher(gazetteer)
        self.key = functools.lru_cache(maxsize=8192)(self._key)

    def _key(self, address: str) -> str | None:
        folded = unicodedata.normalize("NFKC", address).strip()
        mentions = self._matcher.find(folded)
        for kind in _KEY_KINDS:
            found = [m for m in mentions if m.kind == kind]
            if found:
                best = max(found, key=lambda m: m.end - m.start)
                if kind == "road":
                    key = self._road_key(best, mentions)
                elif kind == "address":
                    key = self._address_key(best, mentions)
                else:
                    key = _kind_key(best)
                return _with_number_left(key, folded, mentions)
        if mentions:  # only a district or a street: too coarse to be one place
            return None
        return self._text_key(folded)

    def _road_key(self, road: PlaceMention, mentions: list[PlaceMention]) -> str | None:
        place = self._gazetteer.lookup(road.value)
        districts = place.districts if place else ()
        if len(districts) <= 1:
            return f"road:{road.value}"
        named = {d for m in mentions if m is not road for d in self._districts_of(m)}
        named &= set(districts)
        return f"road:{road.value}@{named.pop()}" if len(named) == 1 else None

    def _address_key(self, address: PlaceMention, mentions: list[PlaceMention]) -> str | None:
        """An address on roads that together cross districts needs the one district named."""
        possible: set[str] | None = None
        for road in mentions:
            if road.kind == "road" and address.start <= road.start and road.end <= address.end:
                place = self._gazetteer.lookup(road.value)
                if place is not None:
                    districts = set(place.districts)
                    possible = districts if possible is None else possible & districts
        key = _kind_key(address)
        if possible is None or len(possible) <= 1:
            return key
        named = {d for m in mentions if m.kind != "road" for d in self._districts_of(m)}
        named &= possible
        return f"{key}@{named.pop()}" if len(named) == 1 else None

    def _districts_of(self, mention: PlaceMention) -> tuple[str, ...]:
        if mention.kind == "road":  # another road says nothing about this one's district
            return ()
        return self._gazetteer.districts_of(mention.value)

    def _text_key(self, folded: str) -> str | None:
        bare = _bare(folded).removeprefix(self._gazetteer.city)
        if len(bare) < _MIN_TEXT_KEY or _RELATIVE.search(bare) or not any(map(str.isalpha, bare)):
            return None
        return f"text:{bare}"


def _bare(text: str) -> str:
    """``text`` without spaces and punctuation, lower-cased; a gap between two ASCII letters or
    digits stays as ``-`` so that ``3-12`` and ``31-2`` remain two places."""
    out: list[str] = []
    gap = False
    for c in text:
        if unicodedata.category(c).startswith(("P", "Z")):
            gap = True
            continue
        if gap and out and _is_ascii_alnum(out[-1]) and _is_ascii_alnum(c):
            out.append("-")
        gap = False
        out.append(c)
    return "".join(out).lower()


def _is_ascii_alnum(c: str) -> bool:
    return c.isascii() and c.isalnum()


def _with_number_left(key: str | None, folded: str, mentions: list[PlaceMention]) -> str | None:
    """A number outside every recognised place (``望江社区12栋``) makes the key more precise."""
    rest = list(folded)
    for mention in mentions:
        rest[mention.start : mention.end] = " " * (mention.end - mention.start)
    numbers = _NUMBER.findall(_bare("".join(rest)))
    return f"{key}#{'/'.join(numbers)}" if key is not None and numbers else key


def _kind_key(mention: PlaceMention) -> str:
    crossing = _CROSSING.match(mention.value) if mention.kind == "address" else None
    if crossing:
        roads = sorted((crossing["a"], crossing["b"]))
        return f"crossing:{roads[0]}+{roads[1]}"
    return f"{mention.kind}:{''.join(mention.value.split())}"


class DuplicateDetector:
    """Finds the open original of a new ticket and links the ticket to it."""

    def __init__(
        self,
        *,
        window: timedelta,
        gazetteer: Gazetteer | None = None,
        radius_m: float = RADIUS_M,
    ) -> None:
        self.window = window
        self.radius_m = radius_m
        self._keys = PlaceKeys(gazetteer or load_gazetteer())

    @property
    def enabled(self) -> bool:
        return self.window > timedelta(0)

    def place_of(
        self, address: str | None, latitude: float | None, longitude: float | None
    ) -> Place | None:
        """The ticket's place, or None when it names none."""
        key = self._keys.key(address) if address and address.strip() else None
        point = (latitude, longitude) if latitude is not None and longitude is not None else None
        return Place(key, point) if key is not None or point is not None else None

    async def find(self, session: AsyncSession, ticket: Ticket) -> Ticket | None:
        """The earliest open original of ``ticket`` (already flushed), or None."""
        place = self.place_of(ticket.address, ticket.latitude, ticket.longitude)
        if not self.enabled or ticket.subcategory_code is None or place is None:
            return None
        await _serialise(session, ticket.subcategory_code)
        statement = (
            select(Ticket.id, Ticket.address, Ticket.latitude, Ticket.longitude)
            .where(
                Ticket.subcategory_code == ticket.subcategory_code,
                Ticket.id != ticket.id,
                col(Ticket.duplicate_of_id).is_(None),
                col(Ticket.status).not_in(NOT_OPEN),
                col(Ticket.created_at) >= ticket.created_at - self.window,
            )
            .order_by(col(Ticket.created_at), col(Ticket.id))
        )
        for row in await session.execute(statement):
            theirs = self.place_of(row.address, row.latitude, row.longitude)
            if theirs is not None and place.same_as(theirs, radius_m=self.radius_m):
                return await session.get(Ticket, row.id)
        return None

    async def link(self, session: AsyncSession, ticket: Ticket) -> Ticket | None:
        """Link ``ticket`` to its open original, if any, and return the original."""
        original = await self.find(session, ticket)
        if original is None:
            return None
        await _link(session, ticket, original)
        log.info(
            "intake.duplicate_linked",
            extra={"ticket": ticket.number, "original": original.number},
        )
        return original


async def _link(session: AsyncSession, ticket: Ticket, original: Ticket) -> None:
    ticket.duplicate_of_id = original.id
    previous, ticket.status = ticket.status, TicketStatus.MERGED
    await ticket_repo.touch(session, ticket)
    await ticket_repo.record(
        session,
        ticket=ticket,
        actor="system",
        action="duplicate_linked",
        from_value=previous,
        to_value=original.number,
        note=f"same subcategory {ticket.subcategory_code} at the same place",
    )
    count = original.report_count
    # Incremented in SQL, so the count stays right whoever else writes the original meanwhile.
    increment = col(Ticket.report_count) + 1
    await session.execute(
        update(Ticket).where(col(Ticket.id) == original.id).values(report_count=increment)
    )
    await session.refresh(original, ["report_count"])
    await ticket_repo.touch(session, original)
    await ticket_repo.record(
        session,
        ticket=original,
        actor="system",
        action="duplicate_reported",
        to_value=ticket.number,
        note=f"report_count {count} → {original.report_count}",
    )


async def _serialise(session: AsyncSession, subcategory: str) -> None:
    """Make concurrent searches for originals of one subcategory take turns (PostgreSQL)."""
    if session.get_bind().dialect.name != "postgresql":
        return  # SQLite: BEGIN IMMEDIATE already holds the database's write lock
    await session.execute(
        text("SELECT pg_advisory_xact_lock(:key)"), {"key": lock_key(subcategory)}
    )


def lock_key(subcategory: str) -> int:
    """A stable signed 64-bit advisory-lock key (``hash()`` differs between processes)."""
    digest = hashlib.sha256(f"{_LOCK_NAMESPACE}:{subcategory}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


async def merged_reports(session: AsyncSession, original: Ticket) -> list[Ticket]:
    """The duplicate reports linked to ``original``, oldest first."""
    statement = (
        select(Ticket)
        .where(col(Ticket.duplicate_of_id) == original.id)
        .order_by(col(Ticket.created_at), col(Ticket.id))
    )
    return list((await session.execute(statement)).scalars())


async def original_of(session: AsyncSession, ticket: Ticket) -> Ticket | None:
    """The open ticket a duplicate was linked to; None for an original."""
    if ticket.duplicate_of_id is None:
        return None
    return await session.get(Ticket, ticket.duplicate_of_id)
