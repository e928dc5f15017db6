"""API keys of Open311 GeoReport v2 clients (partner apps that post service requests)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from hotline.storage.types import UTCDateTime, utcnow


class Open311Key(SQLModel, table=True):
    """One client's key; only its SHA-256 is stored, the key is shown once when created."""

    __tablename__ = "open311_key"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64, unique=True)
    key_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    revoked_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
