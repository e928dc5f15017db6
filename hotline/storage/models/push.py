"""Messages owed to citizens on channels that push (WeChat): a delivery outbox.

A channel that answers in the citizen's own request (the app, a WeChat passive reply) needs
nothing more. What is written later (an agent's reply, the resolution 办结) must be pushed
through the channel's API; the row is added in the transaction that stores the message, so a
message is never stored without its push, and workers deliver it with retries.

A message WeChat holds for the citizen's next message is out of date after a while: it carries
``held_until``, after which it is expired instead of delivered
(:mod:`hotline.channels.held`). :class:`HeldNotice` records that a citizen was told a message
waits for them, so that one worker only tells them.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, Index, String
from sqlmodel import Field, SQLModel

from hotline.storage.types import UTCDateTime, utcnow


class PushStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"  # the channel's API accepted it
    DEAD = "dead"  # refused for good (the citizen unfollowed) or gave up
    #: the channel delivers only after the citizen writes again (WeChat's 48-hour reply window
    #: closed); the citizen's next message makes the row due again
    HELD = "held"
    #: held past ``held_until``: out of date, never delivered
    EXPIRED = "expired"


class CitizenPush(SQLModel, table=True):
    __tablename__ = "citizen_push"
    __table_args__ = (
        Index("ix_citizen_push_due", "status", "next_attempt_at"),
        Index("ix_citizen_push_created_at", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    message_id: int = Field(foreign_key="message.id", unique=True)
    channel: str = Field(max_length=32)
    #: the channel's address for the citizen (an openid)
    address: str = Field(max_length=255)
    status: PushStatus = Field(default=PushStatus.PENDING, sa_type=String(16))
    attempts: int = 0
    next_attempt_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    locked_by: str | None = Field(default=None, max_length=64)
    locked_until: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime, nullable=True)
    )
    last_error: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    #: when the row last changed; ``onupdate`` because workers change rows with bulk updates
    updated_at: datetime = Field(
        default_factory=utcnow,
        sa_column=Column(UTCDateTime, nullable=False, onupdate=utcnow),
    )
    sent_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    #: while held: when the message is out of date (its ``created_at``, or ``retried_at`` when
    #: staff sent it again, plus the maximum hold)
    held_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    #: the staff member ("role:username") who last sent a dead or expired row again, and when
    retried_by: str | None = Field(default=None, max_length=100)
    retried_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))


class HeldNotice(SQLModel, table=True):
    """The citizen at ``address`` was told (WeChat: a template message) that messages wait for
    them; one row per address, which only one worker can claim at a time (see
    :func:`hotline.storage.repos.pushes.claim_notice`). Their next message removes it."""

    __tablename__ = "held_notice"

    channel: str = Field(primary_key=True, max_length=32)
    address: str = Field(primary_key=True, max_length=255)
    told_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
