"""Satisfaction callbacks (回访): after a ticket is resolved the citizen is asked how it went.

One row per citizen and resolution: a ticket resolved, reopened and resolved again gets a
second row (``round`` 2). The row is its own small outbox: workers lease due rows
(``scheduled``), ask the citizen on the next of the row's ``routes`` (a message in a
conversation, or an outbound call with a keypad rating), and wait for the answer until
``expires_at``; an unanswered question is asked again, up to the configured attempts.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from hotline.storage.types import UTCDateTime, utcnow


class CallbackStatus(StrEnum):
    SCHEDULED = "scheduled"  # due at next_attempt_at (a first question, or asking again)
    AWAITING = "awaiting"  # asked; the answer is awaited until expires_at
    ANSWERED = "answered"  # rated by the citizen (or by an agent who called by hand)
    UNREACHED = "unreached"  # every attempt went unanswered, or no way to reach the citizen
    CANCELLED = "cancelled"  # the ticket was reopened by other means before an answer came


class Rating(StrEnum):
    SATISFIED = "satisfied"  # 满意
    BASIC = "basic"  # 基本满意
    UNSATISFIED = "unsatisfied"  # 不满意


class SatisfactionCallback(SQLModel, table=True):
    __tablename__ = "satisfaction_callback"
    __table_args__ = (
        UniqueConstraint("ticket_id", "round", name="uq_callback_ticket_round"),
        Index("ix_callback_due", "status", "next_attempt_at"),
        Index("ix_callback_address", "channel", "address", "status"),
        # the satisfaction report over the callbacks planned in a period, counted per unit
        # from the index alone (bench/callbacks_load.py)
        Index(
            "ix_callback_created_unit_status_rating", "created_at", "unit_id", "status", "rating"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    #: the citizen's own ticket (the number they know; a merged report has its own)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    #: the ticket that was handled: the ticket itself, or the one a merged report joined
    handled_ticket_id: int = Field(foreign_key="ticket.id")
    round: int = 1
    #: the unit that resolved the matter, kept as it was (a reopen may hand it to another)
    unit_id: int | None = Field(default=None, foreign_key="unit.id", index=True)
    #: the ways to reach the citizen, tried in turn: [{"method": "message"|"call",
    #: "channel": ..., "address": ..., "conversation_id": ...}, ...]
    routes: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    status: CallbackStatus = Field(default=CallbackStatus.SCHEDULED, sa_type=String(16))
    #: the route of the latest attempt, where the answer is expected
    method: str | None = Field(default=None, max_length=16)
    channel: str | None = Field(default=None, max_length=32)
    address: str | None = Field(default=None, max_length=255)
    attempts: int = 0
    next_attempt_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    expires_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    locked_by: str | None = Field(default=None, max_length=64)
    locked_until: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime, nullable=True)
    )
    #: the telephony provider's id of the latest outbound call
    call_id: str | None = Field(default=None, max_length=64)
    last_error: str | None = Field(default=None, max_length=500)
    rating: Rating | None = Field(default=None, sa_type=String(16))
    reason: str | None = Field(default=None, max_length=1000)
    #: how the answer came: "keypad", "message:<channel>", "link" or "agent:<username>"
    answered_via: str | None = Field(default=None, max_length=100)
    answered_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    #: after 不满意 the citizen's next message until then is taken as the reason
    reason_until: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime, nullable=True)
    )
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
