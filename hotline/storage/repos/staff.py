"""Staff users and their login tokens."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from hotline.errors import Conflict
from hotline.storage.models import AuthToken, Role, StaffUser
from hotline.storage.types import utcnow


def token_digest(token: str) -> str:
    """Only this digest is stored, so a database dump does not hand out live sessions."""
    return hashlib.sha256(token.encode()).hexdigest()


async def by_username(session: AsyncSession, *, username: str) -> StaffUser | None:
    result = await session.execute(select(StaffUser).where(StaffUser.username == username))
    return result.scalars().first()


async def create(
    session: AsyncSession,
    *,
    username: str,
    display_name: str,
    password_hash: str,
    role: Role,
    unit_id: int | None = None,
) -> StaffUser:
    if await by_username(session, username=username) is not None:
        raise Conflict(f"user {username} already exists")
    user = StaffUser(
        username=username,
        display_name=display_name,
        password_hash=password_hash,
        role=role,
        unit_id=unit_id,
    )
    session.add(user)
    await session.flush()
    return user


async def issue_token(
    session: AsyncSession, *, user: StaffUser, ttl: timedelta
) -> tuple[str, datetime]:
    """A new random bearer token for ``user`` and its expiry."""
    if user.id is None:
        raise RuntimeError("user has no id")
    token = secrets.token_urlsafe(32)
    expires_at = utcnow() + ttl
    session.add(AuthToken(token_hash=token_digest(token), user_id=user.id, expires_at=expires_at))
    await session.flush()
    return token, expires_at


async def user_for_token(session: AsyncSession, *, token: str) -> StaffUser | None:
    """The active user a live (unexpired, unrevoked) token belongs to."""
    statement = (
        select(StaffUser)
        .join(AuthToken, col(AuthToken.user_id) == col(StaffUser.id))
        .where(AuthToken.token_hash == token_digest(token))
        .where(col(AuthToken.revoked_at).is_(None), col(AuthToken.expires_at) > utcnow())
        .where(col(StaffUser.active).is_(True))
    )
    return (await session.execute(statement)).scalars().first()


async def revoke_token(session: AsyncSession, *, token: str) -> None:
    result = await session.execute(
        select(AuthToken).where(AuthToken.token_hash == token_digest(token))
    )
    for row in result.scalars():
        row.revoked_at = utcnow()
        session.add(row)
    await session.flush()
