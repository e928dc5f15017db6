"""An outside Open311 client over real HTTP: discover, list services, post, read back.

Reads go through ``georeport`` (a GeoReport v2 client from PyPI, which has no POST), in JSON
and in XML; discovery and the POST are plain ``aiohttp`` client calls, as a partner app's
back end would make them.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from hotline.config import Config
from hotline.services import Services, build_services
from tests.channels.test_open311_support import new_key, open311_app

georeport = pytest.importorskip("georeport", reason="georeport (dev dependency) not installed")


@pytest.fixture
async def server(
    config: Config, analyzer: Any, encoder: Any, kb_text_analyzer: Any
) -> AsyncIterator[tuple[TestServer, Services]]:
    services = build_services(
        config, analyzer=analyzer, encoder=encoder, kb_analyzer=kb_text_analyzer
    )
    test_server = TestServer(open311_app(services), host="127.0.0.1")
    await test_server.start_server()
    try:
        yield test_server, services
    finally:
        await test_server.close()
        await services.database.dispose()


async def test_an_outside_client_discovers_posts_and_reads_back(
    server: tuple[TestServer, Services],
) -> None:
    test_server, services = server
    key = await new_key(services, "partner")
    root = f"http://127.0.0.1:{test_server.port}"
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{root}/open311/discovery.json") as response:
            endpoint = (await response.json())["endpoints"][0]["url"]
        form = {
            "api_key": key,
            "jurisdiction_id": "linjiang.gov.cn",
            "service_code": "0301",
            "lat": "30.27",
            "long": "120.15",
            "description": "解放路路灯不亮",
        }
        async with http.post(f"{endpoint}/requests.xml", data=form) as response:
            assert response.status == 200
            posted = await response.text()
    assert "<service_request_id>" in posted
    for fmt in ("json", "xml"):
        client = georeport.GeoReport(endpoint, jurisdiction="linjiang.gov.cn", output_format=fmt)
        services_list = await asyncio.to_thread(client.get_service_list)
        assert any(s["service_code"] == "0301" for s in services_list)
        definition = await asyncio.to_thread(client.get_service_definition, "0301")
        assert definition["service_code"] == "0301"
        listed = await asyncio.to_thread(client.get_service_requests, status="open")
        number = (listed[0] if isinstance(listed, list) else listed)["service_request_id"]
        assert number in posted
        one = await asyncio.to_thread(client.get_service_request, number)
        assert one["service_request_id"] == number
        assert one["status"] == "open"
        assert one["lat"] in (30.27, "30.27")
