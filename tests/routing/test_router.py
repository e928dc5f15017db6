"""The router as the intake's RouterStep, on the sample city's units in a real database."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from hotline.classifier.taxonomy import load_taxonomy
from hotline.errors import ConfigError
from hotline.intake.messages import InboundMessage
from hotline.intake.steps import ClassificationResult, Suggestion
from hotline.intake.tickets import TicketFactory, TicketRequest
from hotline.routing.calendar import CHINA_TZ
from hotline.routing.router import Router, RoutingSettings, build_router
from hotline.sample.loader import load_units
from hotline.storage.db import Database
from hotline.storage.models import Citizen, Ticket, TicketStatus
from hotline.storage.repos import tickets as ticket_repo
from hotline.storage.repos import units as unit_repo

GEOJSON = Path(__file__).resolve().parents[2] / "hotline" / "routing" / "data" / "areas.geojson"
CREATED = dt.datetime(2026, 3, 10, 2, 0, tzinfo=dt.UTC)  # Tuesday 10:00 in 临江


@pytest.fixture(scope="module")
def router() -> Router:
    return build_router(RoutingSettings(areas_geojson_path=GEOJSON))


@pytest.fixture
async def units_loaded(database: Database) -> Database:
    async with database.session() as session:
        await load_units(session)
    return database


def ticket(subcategory: str | None, **fields: object) -> Ticket:
    values: dict[str, object] = {
        "number": "2026031000001",
        "citizen_id": 1,
        "channel": "app",
        "title": "t",
        "description": "d",
        "created_at": CREATED,
        "subcategory_code": subcategory,
        "category_code": subcategory[:2] if subcategory else None,
        **fields,
    }
    return Ticket.model_validate(values)


AREAS = {
    "known street": {"address": "临江市江北区北关街道新华社区5号楼"},
    "district only": {"address": "江南区某小区门口"},
    "no area": {"address": "我家楼下"},
}


@pytest.mark.parametrize("case", list(AREAS))
async def test_every_subcategory_routes_to_an_existing_unit(
    router: Router, units_loaded: Database, case: str
) -> None:
    taxonomy = load_taxonomy()
    assert len(taxonomy.subcategories) == 266
    async with units_loaded.session() as session:
        ids = {u.id: u.code for u in await unit_repo.all_units(session)}
        for sub in taxonomy.subcategories:
            decision = await router.route(session, ticket(sub.code, **AREAS[case]))
            assert decision is not None, sub.code
            assert decision.unit_id in ids, sub.code
            assert decision.due_at is not None
            assert decision.due_at > CREATED
            assert "rules[" in decision.reason
            if case == "no area":
                assert "area unknown: routed to city level" in decision.reason
                assert ids[decision.unit_id].startswith("LJ"), sub.code


async def test_decision_names_rule_unit_area_and_deadline(
    router: Router, units_loaded: Database
) -> None:
    async with units_loaded.session() as session:
        decision = await router.route(session, ticket("0503", address="南湖街道荷花路12号"))
        assert decision is not None
        unit = await unit_repo.get(session, unit_id=decision.unit_id)
    assert unit.code == "JN-NH"
    # Tuesday 10:00 + 3 working days → Friday 17:30 local
    assert decision.due_at == dt.datetime(2026, 3, 13, 17, 30, tzinfo=CHINA_TZ)
    assert "路灯照明由属地街道报修" in decision.reason
    assert "江南区南湖街道办事处（JN-NH）" in decision.reason
    assert "江南区南湖街道（依据：南湖街道、荷花路）" in decision.reason
    assert "3 个工作日" in decision.reason


def test_explanation_carries_warning_and_evidence(router: Router) -> None:
    explanation = router.explain_ticket(
        ticket("2101", urgency="normal", latitude=30.62, longitude=119.92)
    )
    assert explanation is not None
    data = explanation.to_dict()
    assert data["unit"]["code"] == "LJ-RQ"
    assert data["area"]["street"] == "望江街道"
    assert data["area"]["source"] == "coordinates"
    assert data["deadline_basis"] == "2 个自然小时（特急）"
    assert data["due_at"] == "2026-03-10T12:00:00+08:00"
    assert data["warning_at"] == "2026-03-10T11:30:00+08:00"


async def test_unclassified_ticket_is_left_to_triage(
    router: Router, units_loaded: Database
) -> None:
    async with units_loaded.session() as session:
        assert await router.route(session, ticket(None, address="望江街道")) is None


async def test_uncovered_calendar_year_routes_without_a_deadline(
    router: Router, units_loaded: Database
) -> None:
    earlier = dt.datetime(2003, 5, 6, 2, 0, tzinfo=dt.UTC)  # before chinese-calendar's first year
    async with units_loaded.session() as session:
        decision = await router.route(session, ticket("0901", created_at=earlier))
    assert decision is not None
    assert decision.due_at is None
    assert "时限未计算" in decision.reason
    assert "2003" in decision.reason


async def test_unpublished_year_gets_a_provisional_deadline(
    router: Router, units_loaded: Database
) -> None:
    created = dt.datetime(2026, 12, 30, 2, 0, tzinfo=dt.UTC)  # Wednesday 10:00 in 临江
    async with units_loaded.session() as session:
        decision = await router.route(
            session, ticket("0503", created_at=created, address="南湖街道荷花路12号")
        )
    assert decision is not None
    # 31 Dec, then 元旦 (Friday) and the weekend, then 4 and 5 Jan
    assert decision.due_at == dt.datetime(2027, 1, 5, 17, 30, tzinfo=CHINA_TZ)
    assert decision.reason.endswith(
        "时限3 个工作日，2027-01-05 17:30前（2027年放假安排尚未公布，时限按法定节假日暂估）"
    )


def test_explanation_lists_provisional_years(router: Router) -> None:
    created = dt.datetime(2026, 12, 30, 2, 0, tzinfo=dt.UTC)
    explanation = router.explain_ticket(ticket("0503", created_at=created))
    assert explanation is not None
    assert explanation.to_dict()["deadline_provisional_years"] == [2027]
    published = router.explain_ticket(ticket("0503"))
    assert published is not None
    assert published.to_dict()["deadline_provisional_years"] == []
    assert "暂估" not in published.reason


async def test_unit_missing_from_the_database_is_a_config_error(
    router: Router, database: Database
) -> None:
    async with database.session() as session:
        with pytest.raises(ConfigError, match="LJ-RS, which is not in the database"):
            await router.route(session, ticket("0901"))


class ConfidentClassifier:
    async def classify(self, text: str) -> ClassificationResult | None:
        return ClassificationResult((Suggestion("05", "0503", 0.97),), True, "test")


async def test_ticket_factory_applies_the_decision(router: Router, units_loaded: Database) -> None:
    factory = TicketFactory(
        classifier=ConfidentClassifier(), router=router, timezone="Asia/Shanghai", sequence_digits=5
    )
    async with units_loaded.session() as session:
        citizen = Citizen()
        session.add(citizen)
        await session.flush()
        created = await factory.create(
            session,
            request=TicketRequest(description="路灯坏了", address="文昌街道学府路"),
            message=InboundMessage(channel="app", sender="u1", external_id="m1", text="路灯坏了"),
            citizen_id=citizen.id or 0,
            conversation_id=None,
        )
        events = await ticket_repo.history(session, ticket_id=created.id or 0)
        unit = await unit_repo.get(session, unit_id=created.unit_id or 0)
    assert created.status is TicketStatus.DISPATCHED
    assert unit.code == "JN-WC"
    assert created.due_at is not None
    assert events[-1].action == "dispatched"
    assert events[-1].note is not None
    assert "JN-WC" in events[-1].note
