"""Open311 GeoReport v2 routes under ``/open311/``, in JSON (``.json``) or XML (``.xml``).

A posted request enters the intake exactly as a web letter does (``submit_letter``), so it is
numbered, classified and routed the same way. Errors are answered in the specification's own
format here, not by the application's JSON error middleware.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from functools import wraps
from pathlib import Path

from aiohttp import web

from hotline.channels.base import IntakePort
from hotline.channels.open311 import keys, render, schemas
from hotline.channels.open311.catalog import Service, load_catalog
from hotline.channels.open311.config import Open311Config
from hotline.channels.open311.filters import parse_filters
from hotline.classifier.taxonomy import Taxonomy
from hotline.errors import BadRequest, HotlineError, NotFound
from hotline.intake.messages import InboundMessage, Location
from hotline.intake.tickets import TicketRequest
from hotline.storage.db import Database, is_unavailable
from hotline.storage.models import Ticket
from hotline.storage.repos import open311 as repo
from hotline.storage.types import utcnow

log = logging.getLogger(__name__)

CHANNEL = "open311"
SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
Handler = Callable[["Open311Adapter", web.Request, str], Awaitable[web.Response]]


def _spec_errors(
    handler: Handler,
) -> Callable[[Open311Adapter, web.Request], Awaitable[web.Response]]:
    """Check the format suffix and render every error as ``[{code, description}]``."""

    @wraps(handler)
    async def wrapped(self: Open311Adapter, request: web.Request) -> web.Response:
        fmt = request.match_info.get("format", "json")
        if fmt not in render.FORMATS:
            return render.errors(404, f"format {fmt!r}: use .json or .xml", fmt="json")
        try:
            return await handler(self, request, fmt)
        except web.HTTPException as e:
            if e.status < 400:
                raise
            return render.errors(e.status, e.reason, fmt=fmt)
        except Exception as e:
            return _failure(e, request, fmt)

    return wrapped


def _failure(error: Exception, request: web.Request, fmt: str) -> web.Response:
    """What the error middleware would answer, in the specification's format."""
    if isinstance(error, HotlineError):
        if error.status >= 500:
            log.error("open311.error code=%s: %s", error.code, error.message, exc_info=error)
        # The specification answers every bad parameter with 400 (we say 422 elsewhere).
        status = error.status
        if 400 <= status < 500 and status not in _KEPT:
            status = 400
        return render.errors(status, error.message, fmt=fmt)
    if is_unavailable(error):
        log.error("open311.database_unavailable: %s", error)
        return render.errors(503, "the database is unavailable; nothing was stored", fmt=fmt)
    log.error("open311.unhandled %s %s", request.method, request.path, exc_info=error)
    return render.errors(500, "internal server error", fmt=fmt)


_KEPT = {401, 403, 404, 413, 415}


class Open311Adapter:
    """The GeoReport v2 endpoints for one jurisdiction."""

    name = CHANNEL

    def __init__(
        self,
        config: Open311Config,
        port: IntakePort,
        *,
        database: Database,
        taxonomy: Taxonomy,
        timezone: str,
    ) -> None:
        self._config = config
        self._port = port
        self._db = database
        self._timezone = timezone
        services_file = Path(config.services_file) if config.services_file else None
        self._catalog = load_catalog(taxonomy, services_file)
        self._visible = _visibility(config, [service.code for service in self._catalog.services])

    def routes(self) -> Sequence[web.RouteDef]:
        return [
            web.get("/open311/discovery.{format}", self.discovery),
            web.get("/open311/v2/services.{format}", self.services),
            web.get("/open311/v2/services/{service_code}.{format}", self.definition),
            web.post("/open311/v2/requests.{format}", self.post_request),
            web.get("/open311/v2/requests.{format}", self.list_requests),
            web.get("/open311/v2/requests/{service_request_id}.{format}", self.get_request),
        ]

    @_spec_errors
    async def discovery(self, request: web.Request, fmt: str) -> web.Response:
        base = self._config.base_url or f"{request.scheme}://{request.host}/open311/v2"
        endpoint = {
            "specification": SPECIFICATION,
            "url": base.rstrip("/"),
            "changeset": self._config.changeset,
            "type": "production",
            "formats": list(render.FORMATS.values()),
        }
        body = {
            "changeset": self._config.changeset,
            "contact": self._config.contact,
            "key_service": self._config.key_service,
            "endpoints": [endpoint],
        }
        return render.document(body, fmt=fmt, root="discovery")

    @_spec_errors
    async def services(self, request: web.Request, fmt: str) -> web.Response:
        self._check_jurisdiction(request.query.get("jurisdiction_id"))
        rows = [render.service_view(service) for service in self._catalog.services]
        return render.document(rows, fmt=fmt, root="services", item="service")

    @_spec_errors
    async def definition(self, request: web.Request, fmt: str) -> web.Response:
        self._check_jurisdiction(request.query.get("jurisdiction_id"))
        service = self._catalog.get(request.match_info["service_code"])
        body = render.definition_view(service)
        return render.document(body, fmt=fmt, root="service_definition")

    @_spec_errors
    async def post_request(self, request: web.Request, fmt: str) -> web.Response:
        raw = await schemas.read_body(request)
        given = raw.get("api_key")
        client = await keys.authenticate(
            self._db, keys.given_key(request, given if isinstance(given, str) else None)
        )
        form = schemas.validate(raw)
        self._check_jurisdiction(form.jurisdiction_id)
        try:
            service = self._catalog.get(form.service_code)
        except NotFound as e:
            raise BadRequest(e.message) from e
        message, ticket_request = intake_of(form, service, client, request)
        result = await self._port.pipeline.submit_letter(message, ticket_request)
        if result.ticket is None:
            raise HotlineError("the intake created no ticket for an Open311 request")
        number = result.ticket.number
        log.info("open311.request_created", extra={"ticket": number, "client": client})
        notice = await self._notice(number)
        body = [{"service_request_id": number, "service_notice": notice, "account_id": None}]
        return render.document(body, fmt=fmt, root="service_requests", item="request")

    @_spec_errors
    async def list_requests(self, request: web.Request, fmt: str) -> web.Response:
        self._check_jurisdiction(request.query.get("jurisdiction_id"))
        where = parse_filters(
            request.query,
            now=utcnow(),
            timezone=self._timezone,
            window_days=self._config.window_days,
            limit=self._config.max_results,
            visible=self._visible,
        )
        async with self._db.read() as session:
            rows = await repo.search_requests(session, where=where)
        body = [self._view(ticket, unit) for ticket, unit in rows]
        return render.document(body, fmt=fmt, root="service_requests", item="request")

    @_spec_errors
    async def get_request(self, request: web.Request, fmt: str) -> web.Response:
        self._check_jurisdiction(request.query.get("jurisdiction_id"))
        number = request.match_info["service_request_id"]
        where = replace(self._visible, numbers=[number], limit=1)
        async with self._db.read() as session:
            rows = await repo.search_requests(session, where=where)
        if not rows:
            raise NotFound(f"service_request_id {number} does not exist")
        body = [self._view(ticket, unit) for ticket, unit in rows]
        return render.document(body, fmt=fmt, root="service_requests", item="request")

    def _view(self, ticket: Ticket, unit_name: str | None) -> dict[str, object]:
        code = ticket.subcategory_code
        name = self._catalog.get(code).subcategory.name if code and code in self._catalog else None
        return render.request_view(
            ticket, unit_name=unit_name, service_name=name, timezone=self._timezone
        )

    async def _notice(self, number: str) -> str:
        where = repo.RequestFilter(numbers=[number], limit=1)
        async with self._db.read() as session:
            ticket, _ = (await repo.search_requests(session, where=where))[0]
        return render.service_notice(ticket, self._timezone)

    def _check_jurisdiction(self, given: str | None) -> None:
        if given and given != self._config.jurisdiction_id:
            raise NotFound(f"jurisdiction_id {given!r} not found")


def _visibility(config: Open311Config, exposed: list[str]) -> repo.RequestFilter:
    """Which tickets ``GET requests`` may show: never one outside the exposed services.

    By default only requests posted through Open311; a city that publishes every channel
    still keeps emergencies, abusive calls and unclassified tickets out of a public API.
    """
    if config.publish_all_channels:
        return repo.RequestFilter(visible_channels=(CHANNEL,), visible_subcategories=exposed)
    return repo.RequestFilter(visible_channels=(CHANNEL,))


def intake_of(
    form: schemas.ServiceRequestIn, service: Service, client: str, request: web.Request
) -> tuple[InboundMessage, TicketRequest]:
    """The inbound message and ticket request a posted service request becomes."""
    own_id = form.request_id or request.headers.get("Idempotency-Key")
    # Scoped by client, so two partner apps can never replay each other's submissions.
    external_id = f"{client}:{own_id}" if own_id else f"{client}:{uuid.uuid4().hex}"
    person = form.account_id or form.device_id or form.email or uuid.uuid4().hex
    address = form.address_string or (f"地址编号 {form.address_id}" if form.address_id else None)
    description = form.description
    message = InboundMessage(
        channel=CHANNEL,
        sender=f"{client}:{person}",
        external_id=external_id[:128],
        text=f"【{service.subcategory.name}】{description}",
        contact_phone=form.phone,
        # the address satisfaction callbacks may ask at (the e-mail channel's addresses are
        # lower case too)
        contact_email=form.email.lower() if form.email else None,
        contact_name=form.contact_name,
        location=Location(latitude=form.lat, longitude=form.long, address=address),
    )
    ticket_request = TicketRequest(
        description=description,
        request_type=form.attribute.get("request_type", "其他"),
        address=address,
        contact_phone=form.phone,
        contact_email=message.contact_email,
        contact_name=form.contact_name,
        category_code=service.subcategory.category_code,
        subcategory_code=service.code,
        media_url=form.media_url,
    )
    return message, ticket_request
