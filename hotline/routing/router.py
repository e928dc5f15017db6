"""The routing step of the intake: area + rule + deadline → ``RoutingDecision``.

An unclassified ticket (no subcategory) is not routed: it waits for an agent, because routing a
guess costs more than triage. The decision itself is pure and fast (:meth:`Router.decide`); only
the unit id comes from the database.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hotline.classifier.taxonomy import Subcategory, Taxonomy, Urgency, load_taxonomy
from hotline.config import RoutingConfig
from hotline.errors import ConfigError, NotFound
from hotline.intake.steps import RoutingDecision
from hotline.nlu.gazetteer import Gazetteer, load_gazetteer
from hotline.routing.areas import AreaMatch, AreaResolver, load_polygons
from hotline.routing.calendar import (
    CHINA_TZ,
    CalendarNotCovered,
    OfficeHours,
    build_calendar,
)
from hotline.routing.deadlines import Deadline, DeadlinePolicy, parse_urgency
from hotline.routing.live import LiveRules, RuleBook
from hotline.routing.rules import (
    DEFAULT_RULES_PATH,
    Rule,
    RuleSet,
    UnitDirectory,
    UnitInfo,
    load_rules,
)
from hotline.storage.models import Ticket
from hotline.storage.repos import units as unit_repo

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RoutingSettings:
    """Where the routing data lives; ``None`` means the shipped sample-city file."""

    rules_path: Path | None = None
    units_path: Path | None = None
    calendar_overrides_path: Path | None = None
    #: the city's area polygons (GeoJSON FeatureCollection); no coordinate lookup when None
    areas_geojson_path: Path | None = None
    gazetteer_path: Path | None = None
    office_hours: OfficeHours = field(default_factory=OfficeHours)


@dataclass(frozen=True)
class RoutingExplanation:
    """Everything behind one routing decision, for the history line, the CLI and the API."""

    subcategory: Subcategory
    urgency: Urgency
    area: AreaMatch
    rule: Rule
    unit: UnitInfo
    #: which unit candidate resolved, e.g. "{street} → 望江街道" or "LJ-RS"
    via: str
    skipped: tuple[str, ...]
    deadline: Deadline | None
    #: why there is no deadline (a calendar year no source covers), else None
    deadline_note: str | None

    @property
    def reason(self) -> str:
        """One human sentence naming the rule, the unit, the area and the deadline."""
        deadline = self.deadline
        if deadline is None:
            when = f"时限未计算（{self.deadline_note}）"
        else:
            when = f"时限{deadline.basis}，{deadline.due.astimezone(CHINA_TZ):%Y-%m-%d %H:%M}前"
            if deadline.provisional_notice:
                when += f"（{deadline.provisional_notice}）"
        return (
            f"按{self.rule.label}派至{self.unit.name}（{self.unit.code}）；"
            f"区域：{self.area.describe()}；{when}"
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        deadline = self.deadline
        return {
            "subcategory": self.subcategory.code,
            "urgency": self.urgency.value,
            "area": {
                "district": self.area.district,
                "street": self.area.street,
                "community": self.area.community,
                "level": self.area.level,
                "source": self.area.source,
                "evidence": list(self.area.evidence),
                "note": self.area.note,
            },
            "rule": {"index": self.rule.index, "description": self.rule.description},
            "unit": {"code": self.unit.code, "name": self.unit.name, "via": self.via},
            "skipped": list(self.skipped),
            "due_at": deadline.due.isoformat() if deadline else None,
            "warning_at": deadline.warning.isoformat() if deadline else None,
            "deadline_basis": deadline.basis if deadline else None,
            "deadline_note": self.deadline_note,
            "deadline_provisional_years": list(deadline.provisional_years) if deadline else [],
            "reason": self.reason,
        }


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Router:
    """Implements ``RouterStep``: routes classified tickets by area, rules and deadlines."""

    def __init__(
        self,
        *,
        taxonomy: Taxonomy,
        rules: RuleSet,
        areas: AreaResolver,
        deadlines: DeadlinePolicy,
        now: Callable[[], dt.datetime] = _utcnow,
        book: RuleBook | None = None,
    ) -> None:
        self.taxonomy = taxonomy
        #: swapped whole (one assignment) when a newer stored version comes into force
        self.rules = rules
        self.areas = areas
        self.deadlines = deadlines
        self._now = now
        #: follows the stored versions; None for a router without a rules file behind it
        self.live = LiveRules(self, book) if book is not None else None

    def decide(
        self,
        *,
        subcategory_code: str,
        urgency: str | None = None,
        created: dt.datetime | None = None,
        address: str | None = None,
        area: str | None = None,
        latitude: float | None = None,
        longitude: float | None = None,
    ) -> RoutingExplanation:
        """The decision for a request, without the database (area, rule, unit code, deadline)."""
        subcategory = self.taxonomy.subcategory(subcategory_code)
        level = parse_urgency(urgency)
        found = self.areas.resolve(address, area, latitude=latitude, longitude=longitude)
        match = self.rules.match(subcategory, found)
        deadline, note = self._deadline(subcategory, level, created or self._now())
        return RoutingExplanation(
            subcategory, level, found, match.rule, match.unit, match.via, match.skipped,
            deadline, note,
        )  # fmt: skip

    def _deadline(
        self, subcategory: Subcategory, urgency: Urgency, created: dt.datetime
    ) -> tuple[Deadline | None, str | None]:
        try:
            return self.deadlines.deadline(subcategory, urgency, created), None
        except CalendarNotCovered as exc:
            # The ticket still reaches its unit; the missing deadline is said in the reason
            # and logged so the calendar file gets its new year.
            log.warning("routing.calendar_not_covered %s", exc.message)
            return None, exc.message

    def restart_deadline(self, ticket: Ticket, start: dt.datetime) -> Deadline | None:
        """The ticket's deadline counted again from ``start`` (a reopened ticket, 重办)."""
        if not ticket.subcategory_code:
            return None
        subcategory = self.taxonomy.subcategory(ticket.subcategory_code)
        return self._deadline(subcategory, parse_urgency(ticket.urgency), start)[0]

    def explain_ticket(self, ticket: Ticket) -> RoutingExplanation | None:
        """The decision for a stored ticket; None when it is unclassified (agents triage it)."""
        if not ticket.subcategory_code:
            return None
        return self.decide(
            subcategory_code=ticket.subcategory_code,
            urgency=ticket.urgency,
            created=ticket.created_at,
            address=ticket.address,
            area=ticket.area,
            latitude=ticket.latitude,
            longitude=ticket.longitude,
        )

    async def route(self, session: AsyncSession, ticket: Ticket) -> RoutingDecision | None:
        """Choose the unit and deadline; None leaves an unclassified ticket to triage."""
        explanation = self.explain_ticket(ticket)
        if explanation is None:
            return None
        unit_id = await unit_id_of(session, explanation)
        deadline = explanation.deadline
        due = deadline.due.astimezone(dt.UTC) if deadline else None
        warn = deadline.warning.astimezone(dt.UTC) if deadline else None
        log.info(
            "routing.decided rule=%s unit=%s area=%s",
            explanation.rule.index,
            explanation.unit.code,
            explanation.area.level,
        )
        return RoutingDecision(unit_id=unit_id, due_at=due, reason=explanation.reason, warn_at=warn)


async def unit_id_of(session: AsyncSession, explanation: RoutingExplanation) -> int:
    """The database id of the chosen unit; a unit missing from the database is a config error."""
    code = explanation.unit.code
    try:
        unit = await unit_repo.by_code(session, code=code)
    except NotFound as exc:
        raise ConfigError(
            f"routing: {explanation.rule.label} names unit {code}, which is not in the "
            "database; load the units (hotline init) or fix the rules file"
        ) from exc
    if unit.id is None:
        raise ConfigError(f"routing: unit {code} has no id")
    return unit.id


def settings_from(config: RoutingConfig) -> RoutingSettings:
    """The configured routing files (an empty value keeps the shipped one)."""

    def path(value: str) -> Path | None:
        return Path(value) if value else None

    return RoutingSettings(
        rules_path=path(config.rules),
        units_path=path(config.units),
        calendar_overrides_path=path(config.calendar_overrides),
        areas_geojson_path=path(config.areas_geojson),
    )


def build_router(
    settings: RoutingSettings | None = None,
    *,
    taxonomy: Taxonomy | None = None,
    gazetteer: Gazetteer | None = None,
    directory: UnitDirectory | None = None,
) -> Router:
    """A router from files; every file is validated now, so bad config stops start-up."""
    settings = settings or RoutingSettings()
    taxonomy = taxonomy or load_taxonomy()
    gazetteer = gazetteer or load_gazetteer(settings.gazetteer_path)
    directory = directory or UnitDirectory.from_file(settings.units_path)
    polygons = (
        load_polygons(settings.areas_geojson_path, gazetteer)
        if settings.areas_geojson_path
        else None
    )
    calendar = build_calendar(settings.calendar_overrides_path, settings.office_hours)
    book = RuleBook(taxonomy, gazetteer, directory, settings.rules_path or DEFAULT_RULES_PATH)
    return Router(
        taxonomy=taxonomy,
        rules=load_rules(taxonomy, gazetteer, directory, book.path),
        areas=AreaResolver(gazetteer, polygons),
        deadlines=DeadlinePolicy(calendar),
        book=book,
    )


def live_rules(step: object) -> LiveRules | None:
    """The stored-version follower of a configured router (None without routing)."""
    return step.live if isinstance(step, Router) else None
