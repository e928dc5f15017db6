"""One middleware maps every error to a status and ``{"error": {"code", "message"}}``."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

from aiohttp import web

from hotline.errors import HotlineError, StorageUnavailable, TooManyRequests
from hotline.storage.db import is_unavailable
from hotline.web.keys import METRICS
from hotline.web.responses import json_response

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


def error_response(status: int, code: str, message: str) -> web.Response:
    return json_response({"error": {"code": code, "message": message}}, status=status)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Map exceptions to JSON errors; the route decides nothing about error formats."""
    try:
        return await handler(request)
    except HotlineError as e:
        if e.status >= 500:
            log.error("http.error code=%s: %s", e.code, e.message, exc_info=e.__cause__)
        response = error_response(e.status, e.code, e.message)
        if isinstance(e, TooManyRequests):
            response.headers["Retry-After"] = str(e.retry_after)
        return response
    except web.HTTPException as e:
        if e.status < 400:
            raise
        code = _HTTP_CODES.get(e.status, "http_error")
        message = e.text if e.text and not e.text.startswith(str(e.status)) else e.reason
        return error_response(e.status, code, message)
    except Exception as e:
        if is_unavailable(e):
            log.error("http.database_unavailable: %s", e)
            err = StorageUnavailable("the database is unavailable; nothing was stored")
            return error_response(503, err.code, err.message)
        log.exception("http.unhandled %s %s", request.method, request.path)
        return error_response(500, "internal_error", "internal server error")


@web.middleware
async def metrics_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Latency histogram by route template, not by raw path (ids would explode cardinality)."""
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as e:
        status = e.status
        raise
    finally:
        resource = request.match_info.route.resource
        route = resource.canonical if resource is not None else "unmatched"
        request.app[METRICS].request_seconds.labels(request.method, route, str(status)).observe(
            time.perf_counter() - started
        )
