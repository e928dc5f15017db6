"""The agents' live desk: conversations handed to a person (转人工).

* ``GET /live``: who waits (emergencies, then callers, then the longest wait first) and what
  this agent holds;
* ``GET /live/{id}``: the conversation with the model's suggestions and the knowledge base's
  candidates for what the citizen said so far ("classified before they finish listening");
* ``POST /live/{id}/take`` (接入; a waiting caller is bridged to the agent's softphone),
  ``/release`` (back to the bot) and ``/ticket`` (file the ticket from a short form).

The agent writes to the citizen with ``POST /conversations/{id}/replies``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from hotline.classifier.taxonomy import Taxonomy
from hotline.errors import Conflict, NotFound, UpstreamFailed, ValidationFailed
from hotline.intake import handoff, policy
from hotline.intake import history as citizen_history
from hotline.intake.messages import InboundMessage
from hotline.intake.steps import ClassifierStep, KnowledgeStep
from hotline.intake.tickets import TicketFactory, TicketRequest
from hotline.nlu.masking import mask_address
from hotline.storage.models import Conversation, Direction, Role, StaffUser
from hotline.storage.repos import conversations
from hotline.storage.types import utcnow
from hotline.web.bodies import read_json
from hotline.web.citizens_api import history_view
from hotline.web.keys import DATABASE, PIPELINE
from hotline.web.responses import json_response
from hotline.web.security import current_user, require_roles
from hotline.web.staff_views import staff_message_view, ticket_detail

LIVE = "/api/v1/staff/live"
DESK = (Role.AGENT, Role.SUPERVISOR)


@dataclass(frozen=True)
class Assist:
    """What helps the agent while listening: the classifier, the knowledge base, the bridge."""

    classifier: ClassifierStep
    #: files tickets for the citizen, classified and routed as the conversation would
    tickets: TicketFactory
    taxonomy: Taxonomy
    knowledge: KnowledgeStep | None = None
    #: bridges a waiting caller to the agent's softphone; None without a telephony channel
    bridge: handoff.CallBridge | None = None


ASSIST = web.AppKey("live_assist", Assist)


class TicketIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    description: str = Field(min_length=1, max_length=4000)
    place: str | None = Field(default=None, max_length=500)
    phone: str | None = Field(default=None, max_length=32)
    request_type: str = Field(default="其他", pattern="^(咨询|求助|投诉|举报|建议|表扬|其他)$")
    subcategory_code: str | None = Field(default=None, max_length=16)


def live_view(conversation: Conversation, agents: dict[int, str]) -> dict[str, Any]:
    waited = (utcnow() - conversation.handoff_at).total_seconds() if conversation.handoff_at else 0
    return {
        "conversation_id": conversation.id,
        "channel": conversation.channel,
        "address": mask_address(conversation.address),
        "state": conversation.state,
        "agent": agents.get(conversation.agent_id or 0),
        "handoff_at": conversation.handoff_at.isoformat() if conversation.handoff_at else None,
        "waiting_seconds": int(waited),
        "emergency": conversation.emergency,
    }


@require_roles(*DESK)
async def list_live(request: web.Request) -> web.Response:
    user = current_user(request)
    async with request.app[DATABASE].read() as session:
        found = await handoff.live(session, agent_id=user.id)
        agents = await _agent_names(session, found)
    items = [live_view(c, agents) for c in found]
    waiting = sum(1 for c in found if c.state == handoff.WAITING)
    return json_response({"waiting": waiting, "items": items})


@require_roles(*DESK)
async def show_live(request: web.Request) -> web.Response:
    """The conversation, and the suggestions for what the citizen has said so far."""
    conversation_id = request.match_info["conversation_id"]
    async with request.app[DATABASE].read() as session:
        conversation = await conversations.get(session, conversation_id=conversation_id)
        messages = await conversations.messages(session, conversation_id=conversation_id)
        agents = await _agent_names(session, [conversation])
        past = await citizen_history.history(session, conversation.citizen_id, limit=5)
    said = "\n".join(m.text for m in messages if m.direction == Direction.INBOUND)[-2000:]
    return json_response(
        {
            **live_view(conversation, agents),
            "messages": [staff_message_view(m) for m in messages],
            "citizen": history_view(past),
            **await _suggest(request.app[ASSIST], said),
        }
    )


async def _suggest(assist: Assist, said: str) -> dict[str, Any]:
    if not said.strip():
        return {"suggestions": [], "knowledge": []}
    result = await assist.classifier.classify(said)
    answers = await assist.knowledge.answer(said) if assist.knowledge else ()
    return {
        "suggestions": [
            {"category": s.category_code, "subcategory": s.subcategory_code, "score": s.score}
            for s in (result.suggestions[:3] if result else ())
        ],
        "knowledge": [
            {
                "entry_id": a.entry_id,
                "question": a.question,
                "answer": a.answer,
                "confidence": a.confidence,
            }
            for a in list(answers)[:3]
        ],
    }


@require_roles(*DESK)
async def take(request: web.Request) -> web.Response:
    """接入. For a caller, the call is bridged before the take is stored: a bridge that fails
    leaves the caller waiting for the next agent."""
    user = current_user(request)
    pipeline = request.app[PIPELINE]
    bridge = request.app[ASSIST].bridge
    written = []
    async with request.app[DATABASE].session() as session:
        taken = await handoff.take(
            session, request.match_info["conversation_id"], agent_id=_id(user)
        )
        conversation = taken.conversation
        if taken.changed:
            if conversation.channel == "phone":
                await _bridge(session, bridge, conversation, user)
            greeting = handoff.TAKEN.format(name=user.display_name or user.username)
            written.append(
                await pipeline.outgoing.write_to_citizen(
                    session,
                    conversation_id=conversation.id,
                    text=greeting,
                    author=f"agent:{user.username}",
                )
            )
        view = live_view(conversation, {_id(user): user.username})
    pipeline.outgoing.announce(written)
    return json_response(view)


async def _bridge(
    session: AsyncSession,
    bridge: handoff.CallBridge | None,
    conversation: Conversation,
    user: StaffUser,
) -> None:
    call = await handoff.call_id(session, conversation)
    if bridge is None or call is None:
        raise Conflict("this caller cannot be bridged: no telephony channel is configured")
    try:
        await bridge.connect(call, agent=user.username)
    except handoff.BridgeFailed as e:
        raise UpstreamFailed(f"the call could not be bridged: {e}") from e


@require_roles(*DESK)
async def release(request: web.Request) -> web.Response:
    user = current_user(request)
    pipeline = request.app[PIPELINE]
    async with request.app[DATABASE].session() as session:
        conversation = await handoff.release(
            session,
            request.match_info["conversation_id"],
            agent_id=_id(user),
            any_agent=user.role in (Role.SUPERVISOR, Role.ADMIN),
        )
        goodbye = await pipeline.outgoing.write_to_citizen(
            session,
            conversation_id=conversation.id,
            text=handoff.RELEASED,
            author=f"agent:{user.username}",
        )
        view = live_view(conversation, {})
    pipeline.outgoing.announce([goodbye])
    return json_response(view)


@require_roles(*DESK)
async def file_ticket(request: web.Request) -> web.Response:
    """The agent files the ticket for the citizen; it is classified and routed like any."""
    body = await read_json(request, TicketIn)
    user = current_user(request)
    assist, pipeline = request.app[ASSIST], request.app[PIPELINE]
    async with request.app[DATABASE].session() as session:
        conversation = await conversations.get(
            session, conversation_id=request.match_info["conversation_id"]
        )
        if conversation.state != handoff.WITH_AGENT or conversation.agent_id != user.id:
            raise Conflict("take the conversation before filing its ticket")
        ticket = await assist.tickets.create(
            session,
            request=TicketRequest(
                description=body.description,
                request_type=body.request_type,
                address=body.place,
                contact_phone=body.phone,
                category_code=_category_of(request, body.subcategory_code),
                subcategory_code=body.subcategory_code,
            ),
            message=InboundMessage(
                channel=conversation.channel,
                sender=conversation.address,
                external_id=f"agent:{user.username}:{utcnow().timestamp()}",
                text=body.description,
            ),
            citizen_id=conversation.citizen_id,
            conversation_id=conversation.id,
        )
        told = await pipeline.outgoing.write_to_citizen(
            session,
            conversation_id=conversation.id,
            text=policy.ticket_created(ticket.number).text,
            author=f"agent:{user.username}",
            ticket_id=ticket.id,
        )
    pipeline.outgoing.announce([told])
    return json_response({"ticket": ticket_detail(ticket)}, status=201)


def _category_of(request: web.Request, subcategory: str | None) -> str | None:
    if subcategory is None:
        return None
    taxonomy = request.app[ASSIST].taxonomy
    try:
        return taxonomy.subcategory(subcategory).category_code
    except NotFound as e:
        raise ValidationFailed(f"subcategory_code: {subcategory} is not in the taxonomy") from e


async def _agent_names(session: AsyncSession, found: list[Conversation]) -> dict[int, str]:
    ids = {c.agent_id for c in found if c.agent_id is not None}
    if not ids:
        return {}
    rows = await session.execute(
        select(StaffUser.id, StaffUser.username).where(col(StaffUser.id).in_(ids))
    )
    return {int(i): str(name) for i, name in rows.all()}


def _id(user: StaffUser) -> int:
    if user.id is None:
        raise RuntimeError("staff user has no id")
    return user.id


def routes() -> list[web.RouteDef]:
    return [
        web.get(LIVE, list_live),
        web.get(f"{LIVE}/{{conversation_id}}", show_live),
        web.post(f"{LIVE}/{{conversation_id}}/take", take),
        web.post(f"{LIVE}/{{conversation_id}}/release", release),
        web.post(f"{LIVE}/{{conversation_id}}/ticket", file_ticket),
    ]
