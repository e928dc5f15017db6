"""Open311 API keys: issued by ``hotline open311 keys add``, checked on every POST."""

from __future__ import annotations

import logging

from aiohttp import web

from hotline.errors import Forbidden
from hotline.storage.db import Database
from hotline.storage.models import Open311Key
from hotline.storage.repos import open311 as repo

log = logging.getLogger(__name__)


def given_key(request: web.Request, body_key: str | None) -> str:
    """The key from the body (as the specification sends it), the query or ``X-Api-Key``."""
    return body_key or request.query.get("api_key") or request.headers.get("X-Api-Key") or ""


async def authenticate(database: Database, key: str) -> str:
    """The client name of a live key; fail closed with 403 (what Open311 clients expect)."""
    if not key:
        raise Forbidden("api_key is required to post a service request")
    async with database.read() as session:
        name = await repo.client_for_key(session, key=key)
    if name is None:
        log.info("open311.key_refused")
        raise Forbidden("api_key is invalid or revoked")
    return name


async def add_key(database: Database, name: str) -> tuple[Open311Key, str]:
    """A new key for client ``name``; the key itself exists only in the return value."""
    async with database.session() as session:
        return await repo.create_key(session, name=name)


async def list_keys(database: Database) -> list[Open311Key]:
    async with database.read() as session:
        return await repo.list_keys(session)


async def revoke_key(database: Database, name: str) -> Open311Key:
    async with database.session() as session:
        return await repo.revoke_key(session, name=name)
