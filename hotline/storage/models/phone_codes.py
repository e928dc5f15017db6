"""Codes sent by SMS to prove that whoever writes a letter holds the phone they give (短信验证码).

Only a keyed hash of a code is stored (:mod:`hotline.channels.phone_codes`): the code itself
is made again from ``nonce`` by the worker that hands the SMS to the provider, so neither the
database nor its backups can be used to file letters in the holder's name.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index
from sqlmodel import Field, SQLModel

from hotline.storage.types import UTCDateTime, utcnow


class PhoneCode(SQLModel, table=True):
    __tablename__ = "phone_code"
    __table_args__ = (Index("ix_phone_code_phone_created_at", "phone", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    #: the number the code was sent to (E.164)
    phone: str = Field(max_length=32)
    #: random; the code is derived from it under the server's key
    nonce: str = Field(max_length=32)
    #: HMAC of the nonce and the code under the server's key
    code_hash: str = Field(max_length=64)
    expires_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    #: wrong codes tried against it
    attempts: int = 0
    used_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    #: the letter it proved (the letter's idempotency key): that letter sent again still passes
    used_for: str | None = Field(default=None, max_length=128)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
