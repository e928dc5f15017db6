"""Tickets (工单), their append-only history, numbering and agents' classification feedback."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index, String
from sqlmodel import Field, SQLModel

from hotline.storage.types import UTCDateTime, utcnow


class TicketStatus(StrEnum):
    TRIAGE = "triage"  # 待分拨: waiting for an agent to classify and route
    DISPATCHED = "dispatched"  # 已派单
    ACCEPTED = "accepted"  # 已签收
    RETURNED = "returned"  # 已退回
    RESOLVED = "resolved"  # 已办结
    CLOSED = "closed"  # 已归档
    CANCELLED = "cancelled"
    MERGED = "merged"  # 已合并: a duplicate report linked to the open ticket for the same matter


class Ticket(SQLModel, table=True):
    # A city keeps years of tickets; each query a request or a supervisor makes must find its
    # rows without reading them all (bench/ticket_scale.py, 1,000,000 tickets):
    __table_args__ = (
        # queues by status, oldest first (the triage queue); a unit's own queues
        Index("ix_ticket_status_created", "status", "created_at"),
        Index("ix_ticket_unit_status_created", "unit_id", "status", "created_at"),
        # reports and trends over a period, Open311's date filters
        Index("ix_ticket_created_at", "created_at"),
        # the duplicate search on every new ticket: its subcategory's recent tickets
        Index("ix_ticket_subcategory_created", "subcategory_code", "created_at"),
        # the live desk's "other tickets that give this phone number"
        Index("ix_ticket_contact_phone", "contact_phone"),
    )

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=20, unique=True)
    citizen_id: int = Field(foreign_key="citizen.id", index=True)
    conversation_id: str | None = Field(
        default=None, foreign_key="conversation.id", index=True, max_length=32
    )
    channel: str = Field(max_length=32)
    request_type: str = Field(default="其他", max_length=8)
    title: str = Field(max_length=200)
    description: str
    address: str | None = Field(default=None, max_length=500)
    area: str | None = Field(default=None, max_length=100)
    latitude: float | None = None
    longitude: float | None = None
    #: a picture of the matter the citizen linked (Open311 ``media_url``)
    media_url: str | None = Field(default=None, max_length=1000)
    contact_name: str | None = Field(default=None, max_length=100)
    #: the phone and e-mail address given with this request (a letter's, a form's): its result
    #: and satisfaction callback go there first, even when another citizen owns the address
    #: (see :func:`hotline.storage.repos.citizens.reply_contact`); they never identify a citizen
    contact_phone: str | None = Field(default=None, max_length=32)
    contact_email: str | None = Field(default=None, max_length=254)
    urgency: str = Field(default="normal", max_length=16)
    emergency: str | None = Field(default=None, max_length=8)
    status: TicketStatus = Field(default=TicketStatus.TRIAGE, sa_type=String(16))
    category_code: str | None = Field(default=None, max_length=16)
    subcategory_code: str | None = Field(default=None, max_length=16)
    #: "model:<version>" or "agent:<username>"
    classified_by: str | None = Field(default=None, max_length=100)
    #: ranked suggestions: [{"code": ..., "score": ...}, ...]
    suggestions: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    unit_id: int | None = Field(default=None, foreign_key="unit.id")
    due_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    #: when to warn the unit that the due time is near (预警)
    warn_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    #: set once the warning went out / the overdue ticket was escalated (督办) for this due time;
    #: cleared when the due time moves (extension, re-route)
    warned_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    escalated_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime, nullable=True)
    )
    #: a duplicate report points at the open ticket it was linked to
    duplicate_of_id: int | None = Field(default=None, foreign_key="ticket.id", index=True)
    #: how many citizens reported this matter (1 + linked duplicates)
    report_count: int = 1
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    closed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))


class TicketEvent(SQLModel, table=True):
    """One line of a ticket's history; the database refuses updates and deletes."""

    __tablename__ = "ticket_event"
    #: a ticket's history, and one kind of line of it: the closure report reads the period's
    #: 办结 and 重办 lines with their times from the index alone (bench/callbacks_load.py)
    __table_args__ = (Index("ix_ticket_event_ticket_action_at", "ticket_id", "action", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id")
    at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    #: "citizen", "system", "model" or "<role>:<username>"
    actor: str = Field(max_length=100)
    action: str = Field(max_length=32)
    from_value: str | None = Field(default=None, max_length=200)
    to_value: str | None = Field(default=None, max_length=200)
    note: str | None = None


class TicketCounter(SQLModel, table=True):
    """The last sequence number handed out per day (Asia/Shanghai)."""

    __tablename__ = "ticket_counter"

    day: str = Field(primary_key=True, max_length=8)
    last_value: int = 0


class ClassificationFeedback(SQLModel, table=True):
    """An agent's classification of a ticket, kept as training data for the next model."""

    __tablename__ = "classification_feedback"

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    text: str
    suggested_code: str | None = Field(default=None, max_length=16)
    suggested_score: float | None = None
    category_code: str = Field(max_length=16)
    subcategory_code: str = Field(max_length=16)
    user_id: int = Field(foreign_key="staff_user.id")
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
