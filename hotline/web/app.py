"""``create_app(config, services)``: the aiohttp application with every route and middleware."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

from aiohttp import web

from hotline.channels.base import IntakePort
from hotline.channels.registry import enabled_channels
from hotline.routing.router import Router
from hotline.services import Services, TaxonomyCheck, start_services, stop_services
from hotline.web import (
    callbacks_api,
    citizens_api,
    dispatch_api,
    knowledge_api,
    live_api,
    openapi,
    ops,
    pushes_api,
    rating_page,
    reports_api,
    routing_api,
    staff,
    ticket_actions,
)
from hotline.web.errors import error_middleware, metrics_middleware
from hotline.web.keys import BACKGROUND, CONFIG, DATABASE, HUB, METRICS, PIPELINE, QUERIES


def create_app(services: Services) -> web.Application:
    config = services.config
    app = web.Application(
        middlewares=[metrics_middleware, error_middleware],
        client_max_size=config.server.max_body_bytes,
    )
    app[CONFIG] = config
    app[DATABASE] = services.database
    app[PIPELINE] = services.pipeline
    app[QUERIES] = services.queries
    app[METRICS] = services.metrics
    app[HUB] = services.hub
    app[BACKGROUND] = set()
    app[staff.CATEGORY_CHECK] = TaxonomyCheck(services.taxonomy)
    port = IntakePort(
        services.pipeline,
        services.queries,
        services.hub,
        config.data_dir,
        services.database,
        services.taxonomy,
        services.callbacks,
    )
    for channel in enabled_channels(config, port):
        app.router.add_routes(channel.routes())
    app.router.add_routes(staff.routes())
    app.router.add_routes(ticket_actions.routes())
    if services.callbacks is not None:
        app[callbacks_api.CALLBACKS] = services.callbacks
        if services.callbacks.links is not None:  # the page citizens open from SMS and mail
            app[rating_page.LINKS] = services.callbacks.links
            app.router.add_routes(rating_page.routes())
    app.router.add_routes(callbacks_api.routes())
    app.router.add_routes(citizens_api.routes())
    app[reports_api.TAXONOMY] = services.taxonomy
    app.router.add_routes(reports_api.routes())
    if services.classifier is not None and services.tickets is not None:
        app[live_api.ASSIST] = live_api.Assist(
            classifier=services.classifier,
            tickets=services.tickets,
            taxonomy=services.taxonomy,
            knowledge=services.answerer,
            bridge=services.call_bridge,
        )
        app.router.add_routes(live_api.routes())
    app.router.add_routes(dispatch_api.routes())
    app.router.add_routes(pushes_api.routes())
    routing_api.mount(app, services.router)
    if isinstance(services.router, Router):
        app[ticket_actions.DEADLINES] = services.router  # reroute/assign recompute due times
    app.router.add_routes(knowledge_api.routes())
    if services.answerer is not None:
        app[knowledge_api.KNOWLEDGE] = services.answerer
    app.router.add_routes(ops.routes())
    app.router.add_routes(openapi.routes())
    app.on_shutdown.append(_finish_background)
    app.cleanup_ctx.append(_lifecycle(services))
    return app


async def _finish_background(app: web.Application) -> None:
    tasks = app[BACKGROUND]
    if tasks:
        await asyncio.wait(tasks, timeout=app[CONFIG].server.shutdown_timeout_seconds)


def _lifecycle(services: Services) -> Callable[[web.Application], AsyncIterator[None]]:
    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        await start_services(services)
        yield
        await stop_services(services)

    return lifecycle
