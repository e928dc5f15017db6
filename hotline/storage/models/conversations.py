"""Conversations on a channel and the messages in them."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index, String
from sqlmodel import Field, SQLModel

from hotline.storage.types import UTCDateTime, utcnow


class ConversationState(StrEnum):
    """Where the conversation policy stands; see ``hotline.intake.policy``."""

    IDLE = "idle"
    AWAITING_PLACE = "awaiting_place"
    AWAITING_CONTACT = "awaiting_contact"
    CONFIRMING = "confirming"
    ANSWERED = "answered"  # answered from the knowledge base; asked whether it helped
    CHOOSING = "choosing"  # offered several close knowledge-base questions to choose from
    WAITING_AGENT = "waiting_agent"  # asked for a person (转人工); in the agents' live queue
    WITH_AGENT = "with_agent"  # an agent holds the conversation; the bot stays quiet


class Direction(StrEnum):
    INBOUND = "in"
    OUTBOUND = "out"


def _new_conversation_id() -> str:
    return uuid.uuid4().hex


class Conversation(SQLModel, table=True):
    id: str = Field(default_factory=_new_conversation_id, primary_key=True, max_length=32)
    citizen_id: int = Field(foreign_key="citizen.id", index=True)
    channel: str = Field(max_length=32)
    #: the channel's own address for the citizen (app user id, openid, chat id, e-mail)
    address: str = Field(max_length=255)
    state: ConversationState = Field(default=ConversationState.IDLE, sa_type=String(32))
    #: the request being taken down: description, place, contact phone, analysis results
    draft: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    #: set when an emergency was detected, so supervisors can see it
    emergency: str | None = Field(default=None, max_length=8)
    #: when the citizen last asked for a person (转人工): the live queue's order
    handoff_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    #: the agent who holds the conversation (state with_agent)
    agent_id: int | None = Field(default=None, foreign_key="staff_user.id", index=True)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class Message(SQLModel, table=True):
    __table_args__ = (
        # Every delivery is idempotent: a channel never delivers the same external id twice.
        Index("uq_message_channel_external_id", "channel", "external_id", unique=True),
    )

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: str = Field(foreign_key="conversation.id", index=True, max_length=32)
    channel: str = Field(max_length=32)
    direction: Direction = Field(sa_type=String(8))
    external_id: str | None = Field(default=None, max_length=128)
    text: str
    attachments: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    #: channel rendering hints of an outbound reply (spoken text, choices, voice action), and
    #: what kind of notice a message to a citizen is (``notice``: "result" for a resolution)
    meta: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    #: "citizen", "bot" or "agent:<username>"
    author: str = Field(max_length=100)
    #: for an outbound reply, the inbound message that caused it
    reply_to_id: int | None = Field(default=None, foreign_key="message.id", index=True)
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id", index=True)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
