"""Open311 errors in the specification's format: keys, bad requests, filters; nothing stored."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from xml.etree import ElementTree as ET

import pytest
from aiohttp.test_utils import TestClient
from aiohttp.web import Application
from sqlalchemy import func, select

from hotline.config import Config
from hotline.errors import StorageUnavailable
from hotline.services import Services, build_services
from hotline.storage.models import Open311Key, Ticket
from tests.channels.test_open311_support import (
    new_key,
    open311_app,
)

ClientFactory = Callable[[Application], Awaitable[TestClient[Any, Any]]]
V2 = "/open311/v2"
FORM = {
    "service_code": "0301",
    "lat": "30.2741",
    "long": "120.1551",
    "address_string": "江北区解放路 88 号",
    "description": "解放路 88 号门口的路灯不亮了，晚上很黑。",
    "first_name": "小明",
    "last_name": "王",
    "phone": "13800138000",
    "email": "wang@example.com",
    "attribute[request_type]": "求助",
}


@pytest.fixture
async def services(
    config: Config, analyzer: Any, encoder: Any, kb_text_analyzer: Any
) -> AsyncIterator[Services]:
    built = build_services(config, analyzer=analyzer, encoder=encoder, kb_analyzer=kb_text_analyzer)
    yield built
    await built.database.dispose()


@pytest.fixture
async def client(services: Services, aiohttp_client: ClientFactory) -> TestClient[Any, Any]:
    return await aiohttp_client(open311_app(services))


@pytest.fixture
async def key(services: Services) -> str:
    return await new_key(services)


async def ticket_count(services: Services) -> int:
    async with services.database.read() as session:
        return int((await session.execute(select(func.count()).select_from(Ticket))).scalar_one())


def parse_xml(body: bytes) -> ET.Element:
    assert body.startswith(b"<?xml version='1.0' encoding='utf-8'?>")
    return ET.fromstring(body)


async def post(client: TestClient[Any, Any], fmt: str, data: dict[str, str]) -> Any:
    return await client.post(f"{V2}/requests.{fmt}", data=data)


@pytest.mark.parametrize(
    ("given", "status", "words"),
    [
        ({}, 403, "api_key is required"),
        ({"api_key": "wrong-key"}, 403, "invalid or revoked"),
    ],
)
async def test_bad_or_missing_keys_store_nothing(
    client: TestClient[Any, Any],
    services: Services,
    key: str,
    given: dict[str, str],
    status: int,
    words: str,
) -> None:
    for fmt in ("json", "xml"):
        response = await post(client, fmt, {**FORM, **given})
        assert response.status == status
        if fmt == "json":
            (error,) = await response.json()
            assert error["code"] == status
            assert words in error["description"]
        else:
            root = parse_xml(await response.read())
            assert root.findtext("error/code") == str(status)
            assert words in (root.findtext("error/description") or "")
    assert await ticket_count(services) == 0


async def test_a_revoked_key_is_refused(
    client: TestClient[Any, Any], services: Services, key: str
) -> None:
    from hotline.channels.open311 import keys

    await keys.revoke_key(services.database, "city-app")
    response = await post(client, "json", {**FORM, "api_key": key})
    assert response.status == 403
    assert await ticket_count(services) == 0
    async with services.database.read() as session:
        row = (await session.execute(select(Open311Key))).scalars().one()
    assert row.key_hash != key
    assert key not in row.key_hash
    assert row.revoked_at is not None


@pytest.mark.parametrize(
    ("change", "status", "words"),
    [
        ({"service_code": "9999"}, 400, "service_code 9999 does not exist"),
        ({"service_code": "2602"}, 400, "not offered through Open311"),
        ({"lat": "", "long": "", "address_string": ""}, 400, "a location is required"),
        ({"long": ""}, 400, "lat and long go together"),
        ({"lat": "91"}, 400, "lat"),
        ({"description": ""}, 400, "description"),
        ({"attribute[colour]": "red"}, 400, "unknown attribute"),
        ({"attribute[request_type]": "闲聊"}, 400, "request_type"),
        ({"media_url": "javascript:alert(1)"}, 400, "media_url"),
        ({"jurisdiction_id": "elsewhere.gov"}, 404, "jurisdiction_id"),
    ],
)
async def test_bad_requests_are_refused_in_spec_format_and_store_nothing(
    client: TestClient[Any, Any],
    services: Services,
    key: str,
    change: dict[str, str],
    status: int,
    words: str,
) -> None:
    response = await post(client, "json", {**FORM, "api_key": key, **change})
    assert response.status == status, await response.text()
    (error,) = await response.json()
    assert error["code"] == status
    assert words in error["description"]
    assert await ticket_count(services) == 0


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("start_date=yesterday", "start_date: not an ISO 8601"),
        ("end_date=2026-13-01", "end_date: not an ISO 8601"),
        ("start_date=2026-03-01T00:00:00Z&end_date=2026-01-01T00:00:00Z", "earlier than"),
        ("start_date=2026-01-01T00:00:00Z&end_date=2026-06-01T00:00:00Z", "90 days"),
        ("status=pending", "status: open or closed"),
        ("service_request_id=1,abc", "service_request_id"),
    ],
)
async def test_malformed_filters_are_400(
    client: TestClient[Any, Any], query: str, words: str
) -> None:
    response = await client.get(f"{V2}/requests.json?{query}")
    assert response.status == 400
    (error,) = await response.json()
    assert error["code"] == 400
    assert words in error["description"]
    xml = await client.get(f"{V2}/requests.xml?{query}")
    assert parse_xml(await xml.read()).findtext("error/code") == "400"


async def test_unknown_request_and_unknown_format(client: TestClient[Any, Any]) -> None:
    response = await client.get(f"{V2}/requests/2026010100001.xml")
    assert response.status == 404
    assert parse_xml(await response.read()).findtext("error/code") == "404"
    response = await client.get(f"{V2}/services.csv")
    assert response.status == 404
    (error,) = await response.json()
    assert "format" in error["description"]


async def test_other_body_types_and_huge_bodies_are_refused(
    client: TestClient[Any, Any], services: Services, key: str
) -> None:
    response = await client.post(
        f"{V2}/requests.xml", data=b"<request/>", headers={"Content-Type": "text/xml"}
    )
    assert response.status == 415
    assert parse_xml(await response.read()).findtext("error/code") == "415"
    huge = {**FORM, "api_key": key, "description": "很" * 40_000}
    response = await post(client, "json", huge)
    assert response.status == 413
    assert await ticket_count(services) == 0


@pytest.mark.parametrize(
    ("failure", "status", "words"),
    [
        (RuntimeError("boom"), 500, "internal server error"),
        (StorageUnavailable("the database is unavailable"), 503, "database is unavailable"),
    ],
)
async def test_failures_inside_the_intake_are_answered_in_spec_format(
    client: TestClient[Any, Any],
    services: Services,
    key: str,
    monkeypatch: pytest.MonkeyPatch,
    failure: Exception,
    status: int,
    words: str,
) -> None:
    async def fail(*_: Any) -> None:
        raise failure

    monkeypatch.setattr(services.pipeline, "submit_letter", fail)
    response = await post(client, "xml", {**FORM, "api_key": key})
    assert response.status == status
    root = parse_xml(await response.read())
    assert root.findtext("error/code") == str(status)
    assert words in (root.findtext("error/description") or "")
    assert await ticket_count(services) == 0
