"""Staff users, their roles and login tokens."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, String
from sqlmodel import Field, SQLModel

from hotline.storage.types import UTCDateTime, utcnow


class Role(StrEnum):
    AGENT = "agent"
    EDITOR = "editor"
    UNIT = "unit"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


class StaffUser(SQLModel, table=True):
    __tablename__ = "staff_user"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True)
    display_name: str = Field(max_length=100)
    password_hash: str = Field(max_length=255)
    role: Role = Field(sa_type=String(16))
    unit_id: int | None = Field(default=None, foreign_key="unit.id", index=True)
    active: bool = True
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class AuthToken(SQLModel, table=True):
    __tablename__ = "auth_token"

    id: int | None = Field(default=None, primary_key=True)
    #: SHA-256 of the bearer token; the token itself is never stored
    token_hash: str = Field(max_length=64, unique=True)
    user_id: int = Field(foreign_key="staff_user.id", index=True)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    expires_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    revoked_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
