"""Citizens and their contact points, so one person is recognised across channels."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, String, UniqueConstraint, false
from sqlmodel import Field, SQLModel

from hotline.storage.types import UTCDateTime, utcnow


class ContactKind(StrEnum):
    PHONE = "phone"
    WECHAT = "wechat"
    TELEGRAM = "telegram"
    EMAIL = "email"
    APP = "app"


class Citizen(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str | None = Field(default=None, max_length=100)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class ContactPoint(SQLModel, table=True):
    """An address of a citizen's. Only a ``verified`` one identifies them: a channel proved it
    (they called or texted from the number, it is their WeChat openid...). One they only gave
    (typed into a chat, written on a form) is where they may be answered, nothing more."""

    __tablename__ = "contact_point"
    __table_args__ = (UniqueConstraint("kind", "value", name="uq_contact_point_kind_value"),)

    id: int | None = Field(default=None, primary_key=True)
    citizen_id: int = Field(foreign_key="citizen.id", index=True)
    kind: ContactKind = Field(sa_type=String(16))
    value: str = Field(max_length=255)
    verified: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
