"""Health, readiness, metrics, OpenAPI, and a database that is down."""

from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient

from hotline.services import build_services
from hotline.web.app import create_app
from tests.conftest import API_KEY, make_config
from tests.web.conftest import ClientFactory

Client = TestClient[Any, Any]


async def test_health_and_readiness(client: Client) -> None:
    assert (await (await client.get("/healthz")).json()) == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status == 200
    assert (await ready.json())["status"] == "ready"


async def test_metrics_count_messages_and_tickets(
    client: Client, app_headers: dict[str, str]
) -> None:
    letter = {"title": "t", "content": "井盖丢了", "name": "n", "phone": "13800138000"}
    assert (await client.post("/api/v1/letters", json=letter, headers=app_headers)).status == 201
    text = await (await client.get("/metrics")).text()
    assert 'hotline_messages_total{channel="letter",direction="in"} 1.0' in text
    assert 'hotline_tickets_created_total{channel="letter"} 1.0' in text
    assert 'route="/api/v1/letters"' in text


async def test_openapi_describes_the_api(client: Client) -> None:
    spec = await (await client.get("/api/v1/openapi.json")).json()
    assert spec["openapi"].startswith("3.")
    assert "/api/v1/messages" in spec["paths"]
    assert "AppMessageIn" in spec["components"]["schemas"]
    assert spec["paths"]["/api/v1/letters"]["post"]["security"] == [{"apiKey": []}]
    assert "EntryContent" in spec["components"]["schemas"]
    documented = {(m.upper(), p) for p, ops in spec["paths"].items() for m in ops}
    served = set()
    for route in client.app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        path = info.get("path") or info.get("formatter", "")
        served.add(
            (
                route.method,
                path.replace(r"{entry_id:\d+}", "{entry_id}").replace(r"{gap_id:\d+}", "{gap_id}"),
            )
        )
    # Open311 documents itself (discovery.json) in its own format, not in this description.
    served = {(m, p) for m, p in served if m != "HEAD" and not p.startswith("/open311/")}
    assert served <= documented, served - documented


async def test_database_down_gives_503_and_acknowledges_nothing(
    tmp_path: Path, analyzer: Any, encoder: Any, aiohttp_client: ClientFactory
) -> None:
    config = make_config(
        tmp_path, "postgresql+asyncpg://nobody@127.0.0.1:1/none", knowledge={"enabled": False}
    )
    services = build_services(config, analyzer=analyzer, encoder=encoder)
    client = await aiohttp_client(create_app(services))
    headers = {"X-Api-Key": API_KEY}
    response = await client.post(
        "/api/v1/messages", json={"sender": "u", "text": "你好", "message_id": "1"}, headers=headers
    )
    assert response.status == 503
    assert (await response.json())["error"]["code"] == "database_unavailable"
    letter = {"title": "t", "content": "c", "name": "n", "phone": "13800138000"}
    assert (await client.post("/api/v1/letters", json=letter, headers=headers)).status == 503
    assert (await client.get("/readyz")).status == 503
    assert (await client.get("/healthz")).status == 200


async def test_open311_is_served_only_when_enabled(
    tmp_path: Path, database_url: str, analyzer: Any, encoder: Any, aiohttp_client: ClientFactory
) -> None:
    for enabled, status in ((False, 404), (True, 200)):
        config = make_config(
            tmp_path,
            database_url,
            channels={
                "app": {"api_key": API_KEY},
                "open311": {"enabled": enabled},
            },
            knowledge={"enabled": False},
        )
        services = build_services(config, analyzer=analyzer, encoder=encoder)
        client = await aiohttp_client(create_app(services))
        response = await client.get("/open311/discovery.json")
        assert response.status == status
        await client.close()
