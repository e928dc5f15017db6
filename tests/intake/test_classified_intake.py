"""The intake with a trained classifier: suggestions on tickets, and the model as a second
emergency signal that never fires on the hard negatives."""

from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from hotline.config import Config
from hotline.intake.messages import InboundMessage
from hotline.intake.steps import ClassificationResult, Suggestion
from hotline.intake.tickets import TicketRequest
from hotline.sample.loader import load_units
from hotline.services import Services, build_services, running_services
from hotline.storage.models import Ticket
from hotline.storage.repos import tickets as ticket_repo
from hotline.storage.repos import units
from tests.conftest import make_config
from tests.nlu.emergency_cases import NEGATIVES

#: the issue's own examples come first; then enquiries about emergency services, which the
#: model's emergency head must leave alone without a request-type gate
HARD_NEGATIVES = [*NEGATIVES[:10], "想咨询一下溺水急救培训怎么报名", "报警回执怎么开"]


@pytest.fixture
async def classified(
    tmp_path: Path, database_url: str, small_classifier: Path, analyzer: Any, encoder: Any
) -> AsyncIterator[Services]:
    config = make_config(
        tmp_path,
        database_url,
        classifier={"model_path": str(small_classifier), "required": True},
        knowledge={"enabled": False},
    )
    services = build_services(config, analyzer=analyzer, encoder=encoder)
    async with running_services(services):
        yield services


def message(text: str, mid: str, sender: str = "c1") -> InboundMessage:
    return InboundMessage(channel="app", sender=sender, external_id=mid, text=text)


async def test_tickets_carry_suggestions_and_a_confident_classification(
    classified: Services,
) -> None:
    pipeline = classified.pipeline
    await pipeline.submit(message("江北区望江路18号门口的路灯坏了，晚上一片漆黑", "1"))
    await pipeline.submit(message("13800138000", "2"))
    done = await pipeline.submit(message("确认", "3"))
    assert done.ticket is not None
    async with classified.database.session() as session:
        ticket = (await session.execute(select(Ticket))).scalar_one()
    assert ticket.suggestions[0]["subcategory"] == "0503"
    assert ticket.suggestions[0]["category"] == "05"
    assert len(ticket.suggestions) == 5
    assert ticket.subcategory_code == "0503"
    assert (ticket.classified_by or "").startswith("model:")


@pytest.mark.parametrize("text", HARD_NEGATIVES)
async def test_hard_negatives_are_not_referred(classified: Services, text: str) -> None:
    result = await classified.pipeline.submit(message(text, "n1"))
    assert all(reply.action is None for reply in result.replies), result.replies


async def test_a_missing_or_stale_model_stops_start_up(
    tmp_path: Path, database_url: str, analyzer: Any, encoder: Any
) -> None:
    from hotline.errors import ModelError

    config = make_config(tmp_path, database_url, classifier={"required": True})
    with pytest.raises(ModelError, match="hotline classifier train"):
        build_services(config, analyzer=analyzer, encoder=encoder)


class ModelOnly:
    """Our own ClassifierStep protocol, answering as a model that sees an emergency."""

    def __init__(self, line: str | None) -> None:
        self.line = line

    async def classify(self, text: str) -> ClassificationResult:
        suggestions: Sequence[Suggestion] = (Suggestion("26", "2608", 0.9),)
        return ClassificationResult(tuple(suggestions), True, "test", False, self.line)


async def test_the_model_refers_what_the_rules_miss(
    config: Config, analyzer: Any, encoder: Any
) -> None:
    services = build_services(
        config, analyzer=analyzer, encoder=encoder, classifier=ModelOnly("110")
    )
    async with running_services(services):
        plea = await services.pipeline.submit(message("河边有个小孩掉水里了", "p1"))
        assert plea.replies[0].action == "transfer:110"


async def test_a_letter_the_model_reads_as_an_emergency_is_flagged(
    config: Config, analyzer: Any, encoder: Any
) -> None:
    services = build_services(
        config, analyzer=analyzer, encoder=encoder, classifier=ModelOnly("110")
    )
    async with running_services(services):
        letter = InboundMessage(
            channel="letter", sender="13800138000", external_id="l1", text="有人一直在我家门外转悠"
        )
        result = await services.pipeline.submit_letter(
            letter, TicketRequest(description=letter.text, request_type="求助")
        )
        assert result.ticket is not None
        assert result.replies[0].action == "transfer:110"
        async with services.database.read() as session:
            ticket = await ticket_repo.by_number(session, number=result.ticket.number)
        assert (ticket.emergency, ticket.urgency) == ("110", "critical")


async def test_on_a_mixed_event_the_model_names_the_line(
    config: Config, analyzer: Any, encoder: Any
) -> None:
    """The rules read 撞 + 着火 as a fire; the model, trained on labelled mixed events, calls it
    a traffic accident: the model's line is the one the caller is transferred to and the ticket
    is flagged with."""
    text = "高架上两辆车撞了 有辆车头在冒烟着火了 人还卡在里面"
    assert str(analyzer.analyze(text).emergency) == "119"
    services = build_services(
        config, analyzer=analyzer, encoder=encoder, classifier=ModelOnly("122")
    )
    async with running_services(services):
        call = await services.pipeline.submit(message(text, "m1"))
        assert call.replies[0].action == "transfer:122"
        letter = InboundMessage(channel="letter", sender="13800138000", external_id="l2", text=text)
        result = await services.pipeline.submit_letter(
            letter, TicketRequest(description=text, emergency="119")
        )
        assert result.ticket is not None
        async with services.database.read() as session:
            ticket = await ticket_repo.by_number(session, number=result.ticket.number)
        assert ticket.emergency == "122"


async def test_the_rules_line_stands_when_the_model_sees_no_emergency(
    config: Config, analyzer: Any, encoder: Any
) -> None:
    services = build_services(
        config, analyzer=analyzer, encoder=encoder, classifier=ModelOnly(None)
    )
    async with running_services(services):
        call = await services.pipeline.submit(message("厨房着火了 火很大 快来人", "m1"))
        assert call.replies[0].action == "transfer:119"


async def _street_lamp_ticket(services: Services) -> Ticket:
    pipeline = services.pipeline
    await pipeline.submit(message("江南区文昌街道学府路12号门口的路灯坏了，晚上一片漆黑", "1"))
    await pipeline.submit(message("13800138000", "2"))
    done = await pipeline.submit(message("确认", "3"))
    assert done.ticket is not None
    async with services.database.read() as session:
        return await ticket_repo.by_number(session, number=done.ticket.number)


async def test_a_classified_ticket_is_dispatched_with_a_deadline(classified: Services) -> None:
    async with classified.database.session() as session:
        await load_units(session)
    ticket = await _street_lamp_ticket(classified)
    assert ticket.status == "dispatched"
    assert ticket.unit_id is not None
    assert ticket.due_at is not None
    async with classified.database.read() as session:
        unit = await units.get(session, unit_id=ticket.unit_id)
        history = await ticket_repo.history(session, ticket_id=ticket.id or 0)
    assert "文昌" in unit.name or unit.level == "区"
    assert [e.action for e in history][-1] == "dispatched"


async def test_a_routing_failure_leaves_the_ticket_to_triage(classified: Services) -> None:
    ticket = await _street_lamp_ticket(classified)  # no units loaded: the rule's unit is missing
    assert ticket.status == "triage"
    async with classified.database.read() as session:
        history = await ticket_repo.history(session, ticket_id=ticket.id or 0)
    failed = [e for e in history if e.action == "routing_failed"]
    assert failed
    assert "hotline init" in (failed[0].note or "")
