"""Who is calling: staff bearer tokens with roles, and the app channel's API key."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from functools import wraps

from aiohttp import web

from hotline.errors import Forbidden, Unauthorized
from hotline.storage.models import Role, StaffUser
from hotline.storage.repos import staff
from hotline.web.keys import DATABASE

STAFF_USER = web.RequestKey("staff_user", StaffUser)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def bearer_token(request: web.Request) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("send 'Authorization: Bearer <token>' from POST /api/v1/staff/login")
    return token.strip()


async def authenticate(request: web.Request) -> StaffUser:
    token = bearer_token(request)
    async with request.app[DATABASE].session() as session:
        user = await staff.user_for_token(session, token=token)
    if user is None:
        raise Unauthorized("the token is invalid, expired or revoked; log in again")
    return user


def require_roles(*roles: Role) -> Callable[[Handler], Handler]:
    """Let the handler run only for a logged-in user with one of ``roles`` (admin always may)."""
    allowed = {*roles, Role.ADMIN}

    def decorate(handler: Handler) -> Handler:
        @wraps(handler)
        async def guarded(request: web.Request) -> web.StreamResponse:
            user = await authenticate(request)
            if user.role not in allowed:
                names = ", ".join(sorted(r.value for r in allowed))
                raise Forbidden(f"this action needs one of the roles: {names}")
            request[STAFF_USER] = user
            return await handler(request)

        return guarded

    return decorate


def current_user(request: web.Request) -> StaffUser:
    if STAFF_USER not in request:
        raise Unauthorized("not logged in")
    return request[STAFF_USER]


def check_api_key(request: web.Request, expected: str) -> None:
    """Fail closed: a missing or wrong ``X-Api-Key`` is refused, compared in constant time."""
    given = request.headers.get("X-Api-Key", "")
    if not expected or not secrets.compare_digest(given.encode(), expected.encode()):
        raise Unauthorized("missing or wrong X-Api-Key")
