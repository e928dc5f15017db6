"""Routing rules edited through the staff API: an append-only list of whole rule documents.

The newest version is in force in every process; while the table is empty the configured rules
file is. Each row keeps the full YAML document, so any version can be read, compared or saved
again as it was.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from hotline.storage.types import UTCDateTime, utcnow


class RoutingRuleSet(SQLModel, table=True):
    __tablename__ = "routing_rule_set"
    # Two supervisors saving on the same base both aim at base + 1: the second one fails here.
    __table_args__ = (UniqueConstraint("version", name="uq_routing_rule_set_version"),)

    id: int | None = Field(default=None, primary_key=True)
    version: int
    #: the rules document, in the rules file's YAML format
    document: str = Field(sa_column=Column(Text, nullable=False))
    #: the staff username who saved it
    author: str = Field(max_length=64)
    comment: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
