"""The dispatch outbox: what must reach a unit, written in the transaction that decided it.

A row is added in the same transaction as the ticket change it announces (派单, 改派, 预警,
督办), so a dispatch is never lost. Workers deliver ``webhook`` and ``email`` rows; ``pull``
rows wait until the unit fetches and acknowledges them through the API.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from hotline.storage.types import UTCDateTime, utcnow


class DeliveryMethod(StrEnum):
    PULL = "pull"  # the unit fetches its queue through the API and acknowledges (签收)
    WEBHOOK = "webhook"  # an HMAC-SHA256-signed POST to the unit's system
    EMAIL = "email"


class DispatchKind(StrEnum):
    DISPATCHED = "ticket.dispatched"  # 派单 (also after an agent's assignment or a re-route)
    WARNING = "ticket.warning"  # 预警: the due time is near
    ESCALATED = "ticket.escalated"  # 督办: overdue, sent to the unit's parent


class DispatchStatus(StrEnum):
    PENDING = "pending"  # waiting: to be sent, or (pull) to be fetched and acknowledged
    DELIVERED = "delivered"  # the unit's endpoint or mail server accepted it
    ACKNOWLEDGED = "acknowledged"  # a pull-method unit acknowledged it
    DEAD = "dead"  # gave up after the configured number of attempts; supervisors see it


class Dispatch(SQLModel, table=True):
    __tablename__ = "dispatch"
    __table_args__ = (
        UniqueConstraint("event_id", "unit_id", name="uq_dispatch_event_unit"),
        Index("ix_dispatch_due", "status", "next_attempt_at"),
        Index("ix_dispatch_unit_status", "unit_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    unit_id: int = Field(foreign_key="unit.id")
    #: the history line this dispatch announces; with unit_id, enqueueing twice is impossible
    event_id: int = Field(foreign_key="ticket_event.id")
    kind: DispatchKind = Field(sa_type=String(32))
    method: DeliveryMethod = Field(sa_type=String(16))
    status: DispatchStatus = Field(default=DispatchStatus.PENDING, sa_type=String(16))
    #: the JSON document sent (webhook body, e-mail text, pull item)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    attempts: int = 0
    next_attempt_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    #: a worker's lease: nobody else sends this row before it runs out
    locked_by: str | None = Field(default=None, max_length=64)
    locked_until: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime, nullable=True)
    )
    last_error: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    delivered_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime, nullable=True)
    )
    #: who acknowledged a pull item ("<role>:<username>")
    acknowledged_by: str | None = Field(default=None, max_length=100)
