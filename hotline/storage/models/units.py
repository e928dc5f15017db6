"""Responsible units: city departments, districts, streets and communities."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import JSON, Column, String
from sqlmodel import Field, SQLModel


class UnitLevel(StrEnum):
    CITY = "市"
    DISTRICT = "区"
    STREET = "街道"
    COMMUNITY = "社区"


class Unit(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True)
    name: str = Field(max_length=100)
    level: UnitLevel = Field(sa_type=String(8))
    parent_id: int | None = Field(default=None, foreign_key="unit.id", index=True)
    #: area codes or names this unit serves
    areas: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    active: bool = True
    #: how the unit receives tickets: "pull" (its queue in the API), "webhook" or "email"
    delivery_method: str = Field(default="pull", max_length=16)
    webhook_url: str | None = Field(default=None, max_length=500)
    #: the HMAC-SHA256 key of the webhook; kept readable because signing needs it
    webhook_secret: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=200)
