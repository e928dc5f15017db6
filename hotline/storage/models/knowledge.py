"""The knowledge base (知识库): entries, their append-only versions, the change log, answers, gaps.

An entry row holds two things:

* the *working copy* in its ordinary columns (question, answer, …) with ``status`` and
  ``version`` describing that copy (draft → in_review → published, or retired);
* the *live copy* in ``published`` (a full snapshot, ``None`` when nothing is served) with
  ``published_version``. Editing a published entry starts version N+1 as a draft in the working
  columns while ``published`` keeps answering until the new version is approved.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, String
from sqlmodel import Field, SQLModel

from hotline.storage.types import UTCDateTime, utcnow


class EntryStatus(StrEnum):
    DRAFT = "draft"
    IN_REVIEW = "in_review"
    PUBLISHED = "published"
    RETIRED = "retired"


class ChangeAction(StrEnum):
    UPSERT = "upsert"
    REMOVE = "remove"


class GapStatus(StrEnum):
    OPEN = "open"
    HANDLED = "handled"


class KnowledgeEntry(SQLModel, table=True):
    __tablename__ = "knowledge_entry"

    id: int | None = Field(default=None, primary_key=True)
    question: str = Field(max_length=500)
    similar_questions: list[str] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    answer: str
    spoken_answer: str | None = None
    category_code: str | None = Field(default=None, max_length=16)
    subcategory_code: str | None = Field(default=None, max_length=16)
    unit_code: str | None = Field(default=None, max_length=32)
    keywords: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    valid_from: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    valid_to: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    status: EntryStatus = Field(default=EntryStatus.DRAFT, sa_type=String(16), index=True)
    #: the version number of the working copy
    version: int = 1
    #: the version that answers citizens, and its snapshot; both ``None`` when nothing is live
    published_version: int | None = None
    published: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    #: whoever last changed the working copy's content; may not review it
    author_id: int = Field(foreign_key="staff_user.id", index=True)
    reviewer_id: int | None = Field(default=None, foreign_key="staff_user.id")
    review_comment: str | None = None
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class KnowledgeVersion(SQLModel, table=True):
    """One line of an entry's history with a full snapshot; the database refuses changes."""

    __tablename__ = "knowledge_version"

    id: int | None = Field(default=None, primary_key=True)
    entry_id: int = Field(foreign_key="knowledge_entry.id", index=True)
    version: int
    #: created, edited, submitted, approved, rejected, retired, restored, expired, imported
    action: str = Field(max_length=16)
    snapshot: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    #: "<role>:<username>" or "system"
    actor: str = Field(max_length=100)
    at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    #: a short summary of what changed ("answer, keywords") or the review comment
    changes: str | None = None


class KnowledgeChange(SQLModel, table=True):
    """What the served knowledge became, in order; every process's index follows ``seq``."""

    __tablename__ = "knowledge_change"

    seq: int | None = Field(default=None, primary_key=True)
    entry_id: int = Field(foreign_key="knowledge_entry.id", index=True)
    action: ChangeAction = Field(sa_type=String(8))
    version: int
    at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))


class KnowledgeAnswerLog(SQLModel, table=True):
    """An answer given to a citizen from the knowledge base."""

    __tablename__ = "knowledge_answer_log"

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: str = Field(foreign_key="conversation.id", index=True, max_length=32)
    message_id: int | None = Field(default=None, foreign_key="message.id")
    entry_id: int = Field(foreign_key="knowledge_entry.id", index=True)
    version: int
    confidence: float
    at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))


class KnowledgeGap(SQLModel, table=True):
    """A group of similar questions the knowledge base could not answer (masked text only)."""

    __tablename__ = "knowledge_gap"

    id: int | None = Field(default=None, primary_key=True)
    representative: str = Field(max_length=1000)
    #: the representative's sentence vector, for grouping later questions
    vector: list[float] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    #: a few recent masked examples
    examples: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    count: int = 1
    best_confidence: float | None = None
    status: GapStatus = Field(default=GapStatus.OPEN, sa_type=String(8), index=True)
    entry_id: int | None = Field(default=None, foreign_key="knowledge_entry.id")
    handled_by: int | None = Field(default=None, foreign_key="staff_user.id")
    handled_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    first_seen: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    last_seen: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
