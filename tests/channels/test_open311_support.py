"""Shared pieces of the Open311 tests (no tests here): the app, keys and schema checks."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest
from aiohttp import web

from hotline.channels.base import IntakePort
from hotline.channels.open311 import keys
from hotline.channels.open311.adapter import Open311Adapter
from hotline.channels.open311.config import Open311Config
from hotline.services import Services
from hotline.web.app import create_app
from tests.conftest import SHARED_DATA

SCHEMAS = SHARED_DATA / "open311-georeport-v2-schemas"
REQUEST_FIELDS = {
    "service_request_id", "status", "status_notes", "service_name", "service_code",
    "description", "agency_responsible", "service_notice", "requested_datetime",
    "updated_datetime", "expected_datetime", "address", "address_id", "zipcode", "lat",
    "long", "media_url",
}  # fmt: skip


def open311_app(services: Services, **overrides: Any) -> web.Application:
    """The application as ``tests/web/conftest.py`` builds it, plus the Open311 routes."""
    config = services.config
    app = create_app(services)
    port = IntakePort(
        services.pipeline,
        services.queries,
        services.hub,
        config.data_dir,
        services.database,
        services.taxonomy,
    )
    adapter = Open311Adapter(
        Open311Config(enabled=True, jurisdiction_id="linjiang.gov.cn", **overrides),
        port,
        database=services.database,
        taxonomy=services.taxonomy,
        timezone=config.intake.timezone,
    )
    app.router.add_routes(adapter.routes())
    return app


async def new_key(services: Services, name: str = "city-app") -> str:
    _, key = await keys.add_key(services.database, name)
    return key


def schema_validator(name: str) -> Any:
    """A validator for one of the shared schemas (their ``$ref``s resolved among them)."""
    if not SCHEMAS.is_dir():
        pytest.skip(f"the Open311 JSON Schemas are not at {SCHEMAS} (shared reference data)")
    jsonschema = pytest.importorskip("jsonschema", reason="jsonschema (dev dependency) missing")
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT7

    registry: Registry[Any] = Registry()
    for path in SCHEMAS.glob("*.json"):
        contents = json.loads(path.read_text(encoding="utf-8"))
        resource = Resource.from_contents(contents, default_specification=DRAFT7)
        registry = registry.with_resource(path.name, resource)
    schema = json.loads((SCHEMAS / name).read_text(encoding="utf-8"))
    cls = jsonschema.Draft7Validator
    return cls(schema, registry=registry, format_checker=cls.FORMAT_CHECKER)


def assert_valid(name: str, data: Any) -> None:
    """``data`` validates against the shared schema ``name``."""
    errors = sorted(schema_validator(name).iter_errors(data), key=str)
    assert not errors, "; ".join(f"{list(e.path)}: {e.message}" for e in errors)


def assert_request_shape(row: dict[str, Any]) -> None:
    """What a request must look like without the shared schemas (and what it must not leak)."""
    assert set(row) == REQUEST_FIELDS
    assert row["status"] in {"open", "closed"}
    assert isinstance(row["service_request_id"], str)
    assert row["service_request_id"].isdigit()
    for key in ("requested_datetime", "updated_datetime", "expected_datetime"):
        if row[key] is not None:
            assert datetime.fromisoformat(row[key]).utcoffset() is not None, row[key]
