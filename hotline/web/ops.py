"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from hotline.errors import StorageUnavailable
from hotline.web.errors import error_response
from hotline.web.keys import DATABASE, METRICS
from hotline.web.responses import json_response


async def healthz(request: web.Request) -> web.Response:
    """The process is up and serving."""
    return json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """Ready when the database answers; load balancers stop sending traffic otherwise."""
    try:
        await request.app[DATABASE].ping()
    except StorageUnavailable as e:
        return error_response(503, e.code, e.message)
    return json_response({"status": "ready", "database": request.app[DATABASE].dialect})


async def metrics(request: web.Request) -> web.Response:
    body = generate_latest(request.app[METRICS].registry)
    response = web.Response(body=body)
    response.content_type = CONTENT_TYPE_LATEST.split(";")[0]
    response.charset = "utf-8"
    return response


def routes() -> list[web.RouteDef]:
    return [web.get("/healthz", healthz), web.get("/readyz", readyz), web.get("/metrics", metrics)]
