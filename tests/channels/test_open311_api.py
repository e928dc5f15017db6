"""Open311 GeoReport v2 over HTTP: every endpoint in JSON and XML, keys, errors, filters."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from xml.etree import ElementTree as ET

import pytest
from aiohttp.test_utils import TestClient
from aiohttp.web import Application
from sqlalchemy import func, select

from hotline.config import Config
from hotline.services import Services, build_services
from hotline.storage.models import Ticket
from tests.channels.test_open311_support import (
    assert_request_shape,
    assert_valid,
    new_key,
    open311_app,
    schema_validator,
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


async def test_discovery_lists_the_v2_endpoint_in_json_and_xml(
    client: TestClient[Any, Any],
) -> None:
    response = await client.get("/open311/discovery.json")
    assert response.status == 200
    body = await response.json()
    (endpoint,) = body["endpoints"]
    assert endpoint["url"] == f"http://{client.host}:{client.port}/open311/v2"
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["formats"] == ["application/json", "text/xml"]
    assert {"changeset", "contact", "key_service"} <= set(body)
    root = parse_xml(await (await client.get("/open311/discovery.xml")).read())
    assert root.tag == "discovery"
    assert root.findtext("endpoints/endpoint/url") == endpoint["url"]
    assert [f.text for f in root.iterfind("endpoints/endpoint/formats/format")] == [
        "application/json",
        "text/xml",
    ]


async def test_services_are_the_exposed_subcategories(client: TestClient[Any, Any]) -> None:
    response = await client.get(f"{V2}/services.json")
    assert response.status == 200
    assert response.content_type == "application/json"
    services = await response.json()
    codes = [s["service_code"] for s in services]
    assert len(codes) == 266 - 8 - 3  # no emergencies (26), no invalid/abusive/silent calls
    assert "2601" not in codes
    assert "2703" not in codes
    assert "2706" in codes
    lights = next(s for s in services if s["service_code"] == "0301")
    assert lights["type"] == "realtime"
    assert lights["metadata"] is True
    assert lights["group"]
    assert lights["service_name"]
    assert lights["keywords"]


async def test_services_in_xml_match_json(client: TestClient[Any, Any]) -> None:
    response = await client.get(f"{V2}/services.xml")
    assert response.status == 200
    assert response.content_type == "text/xml"
    root = parse_xml(await response.read())
    assert root.tag == "services"
    rows = root.findall("service")
    assert len(rows) == 255
    assert rows[0].findtext("metadata") == "true"
    assert rows[0].findtext("type") == "realtime"


async def test_service_definition_and_unknown_codes(client: TestClient[Any, Any]) -> None:
    response = await client.get(f"{V2}/services/0301.json")
    assert response.status == 200
    definition = await response.json()
    assert definition["service_code"] == "0301"
    (attribute,) = definition["attributes"]
    assert attribute["code"] == "request_type"
    assert attribute["required"] is False
    root = parse_xml(await (await client.get(f"{V2}/services/0301.xml")).read())
    assert root.tag == "service_definition"
    keys = [v.text for v in root.iterfind("attributes/attribute/values/value/key")]
    assert keys == ["咨询", "求助", "投诉", "举报", "建议", "表扬"]
    for code in ("9999", "2601"):
        missing = await client.get(f"{V2}/services/{code}.json")
        assert missing.status == 404
        (error,) = await missing.json()
        assert error["code"] == 404
        assert code in error["description"]
    missing_xml = await client.get(f"{V2}/services/9999.xml")
    root = parse_xml(await missing_xml.read())
    assert root.tag == "errors"
    assert root.findtext("error/code") == "404"


async def test_post_creates_a_ticket_readable_in_json_and_xml(
    client: TestClient[Any, Any], services: Services, key: str
) -> None:
    response = await post(client, "json", {**FORM, "api_key": key})
    assert response.status == 200, await response.text()
    created = await response.json()
    (row,) = created
    number = row["service_request_id"]
    assert row["account_id"] is None
    assert number in row["service_notice"]
    assert set(row) == {"service_request_id", "service_notice", "account_id"}
    one = await client.get(f"{V2}/requests/{number}.json")
    assert one.status == 200
    (request,) = await one.json()
    assert_request_shape(request)
    assert request["service_request_id"] == number
    assert request["status"] == "open"
    assert request["status_notes"] == "已受理，正在分派"
    assert request["address"] == "江北区解放路 88 号"
    assert (request["lat"], request["long"]) == (30.2741, 120.1551)
    assert request["requested_datetime"].endswith("+08:00")
    text = await one.text()
    for private in ("13800138000", "王小明", "wang@example.com"):
        assert private not in text
    root = parse_xml(await (await client.get(f"{V2}/requests/{number}.xml")).read())
    assert root.tag == "service_requests"
    assert root.findtext("request/service_request_id") == number
    assert root.findtext("request/status") == "open"
    assert root.find("request/media_url") is not None
    assert request["media_url"] is None
    async with services.database.read() as session:
        ticket = (await session.execute(select(Ticket))).scalars().one()
    assert (ticket.channel, ticket.contact_phone, ticket.contact_name) == (
        "open311",
        "+8613800138000",  # stored as E.164
        "王小明",
    )
    # The citizen chose the service and the request type: both stand.
    assert (ticket.subcategory_code, ticket.category_code, ticket.classified_by) == (
        "0301",
        "03",
        "citizen",
    )
    assert ticket.request_type == "求助"
    assert request["service_code"] == "0301"


async def test_a_posted_media_url_is_kept_and_read_back(
    client: TestClient[Any, Any], services: Services, key: str
) -> None:
    photo = "https://img.example.com/lamp-88.jpg"
    response = await post(client, "json", {**FORM, "media_url": photo, "api_key": key})
    assert response.status == 200, await response.text()
    (row,) = await response.json()
    number = row["service_request_id"]
    (request,) = await (await client.get(f"{V2}/requests/{number}.json")).json()
    assert request["media_url"] == photo
    assert photo not in request["description"]
    root = parse_xml(await (await client.get(f"{V2}/requests/{number}.xml")).read())
    assert root.findtext("request/media_url") == photo
    async with services.database.read() as session:
        ticket = (await session.execute(select(Ticket))).scalars().one()
    assert ticket.media_url == photo


async def test_a_request_describing_an_emergency_leads_with_the_referral(
    client: TestClient[Any, Any], services: Services, key: str
) -> None:
    hurt = {**FORM, "description": "路灯杆倒了，砸到一个路过的人，流了好多血", "api_key": key}
    response = await post(client, "json", hurt)
    assert response.status == 200, await response.text()
    (row,) = await response.json()
    assert row["service_notice"].startswith(
        "您反映的情况可能需要紧急医疗救助，请立即拨打120急救电话！"
    )
    assert row["service_request_id"] in row["service_notice"]
    async with services.database.read() as session:
        ticket = (await session.execute(select(Ticket))).scalars().one()
    assert (ticket.emergency, ticket.urgency) == ("120", "critical")


async def test_post_in_xml_and_as_json_with_the_header_key(
    client: TestClient[Any, Any], key: str
) -> None:
    response = await post(client, "xml", {**FORM, "api_key": key})
    assert response.status == 200
    root = parse_xml(await response.read())
    assert root.tag == "service_requests"
    number = root.findtext("request/service_request_id")
    assert number
    assert number.isdigit()
    assert root.find("request/account_id") is not None
    body: dict[str, Any] = {k: v for k, v in FORM.items() if not k.startswith("attribute")}
    body.update(lat=30.0, long=120.0, attribute={"request_type": "投诉"})
    response = await client.post(f"{V2}/requests.json", json=body, headers={"X-Api-Key": key})
    assert response.status == 200, await response.text()
    (row,) = await response.json()
    assert row["service_request_id"] != number


async def test_the_clients_own_id_makes_a_retry_return_the_same_ticket(
    client: TestClient[Any, Any], services: Services, key: str
) -> None:
    data = {**FORM, "api_key": key, "request_id": "abc-1"}
    first = await (await post(client, "json", data)).json()
    second = await (await post(client, "json", data)).json()
    assert first[0]["service_request_id"] == second[0]["service_request_id"]
    assert await ticket_count(services) == 1


async def test_address_id_alone_is_a_location(client: TestClient[Any, Any], key: str) -> None:
    data = {k: v for k, v in FORM.items() if k not in {"lat", "long", "address_string"}}
    response = await post(client, "json", {**data, "api_key": key, "address_id": "A-1029"})
    assert response.status == 200, await response.text()
    (row,) = await response.json()
    (request,) = await (await client.get(f"{V2}/requests/{row['service_request_id']}.json")).json()
    assert request["address"] == "地址编号 A-1029"
    assert request["lat"] is None


async def test_list_requests_filters_and_orders_newest_first(
    client: TestClient[Any, Any], key: str
) -> None:
    numbers = []
    for i in range(3):
        # Three different places (about 1 km apart): three matters, not duplicates of one.
        place = {
            "lat": f"{30.2741 + 0.01 * i:.4f}",
            "address_string": f"江北区解放路 {88 + 100 * i} 号",
        }
        (row,) = await (await post(client, "json", {**FORM, **place, "api_key": key})).json()
        numbers.append(row["service_request_id"])
    listed = await (await client.get(f"{V2}/requests.json")).json()
    assert [r["service_request_id"] for r in listed] == numbers[::-1]
    picked = await client.get(f"{V2}/requests.json", params={"service_request_id": numbers[0]})
    assert [r["service_request_id"] for r in await picked.json()] == [numbers[0]]
    assert await (await client.get(f"{V2}/requests.json?status=closed")).json() == []
    assert len(await (await client.get(f"{V2}/requests.json?status=open")).json()) == 3
    old = {"start_date": "2020-01-01T00:00:00+08:00", "end_date": "2020-02-01T00:00:00Z"}
    assert await (await client.get(f"{V2}/requests.json", params=old)).json() == []
    root = parse_xml(await (await client.get(f"{V2}/requests.xml")).read())
    assert [r.findtext("service_request_id") for r in root] == numbers[::-1]


async def test_other_channels_tickets_are_not_published_by_default(
    client: TestClient[Any, Any], services: Services
) -> None:
    from tests.conftest import API_KEY

    message = {"sender": "u1", "message_id": "m1", "text": "我要投诉，解放路井盖丢了"}
    letter = {
        "title": "井盖丢了",
        "content": "解放路 12 号井盖丢了，请尽快处理，电话 13900001111",
        "name": "李四",
        "phone": "13900001111",
    }
    headers = {"X-Api-Key": API_KEY}
    assert (await client.post("/api/v1/letters", json=letter, headers=headers)).status == 201
    assert (await client.post("/api/v1/messages", json=message, headers=headers)).status == 201
    assert await ticket_count(services) == 1
    assert await (await client.get(f"{V2}/requests.json")).json() == []


async def test_publishing_all_channels_still_hides_unexposed_and_unclassified(
    services: Services, aiohttp_client: ClientFactory
) -> None:
    from tests.conftest import API_KEY

    client = await aiohttp_client(open311_app(services, publish_all_channels=True))
    headers = {"X-Api-Key": API_KEY}
    numbers = []
    for index in range(3):
        letter = {"title": "来信", "content": f"第 {index} 封来信", "name": "李四",
                  "phone": "13900001111"}  # fmt: skip
        response = await client.post("/api/v1/letters", json=letter, headers=headers)
        numbers.append((await response.json())["ticket"]["number"])
    async with services.database.session() as session:
        tickets = {t.number: t for t in (await session.execute(select(Ticket))).scalars()}
        tickets[numbers[1]].subcategory_code = "0301"
        tickets[numbers[2]].subcategory_code = "2601"  # an emergency: never published
    listed = await (await client.get(f"{V2}/requests.json")).json()
    assert [r["service_request_id"] for r in listed] == [numbers[1]]
    assert listed[0]["service_code"] == "0301"
    assert listed[0]["service_name"]
    hidden = await client.get(f"{V2}/requests/{numbers[2]}.json")
    assert hidden.status == 404


async def test_every_json_response_validates_against_the_shared_schemas(
    client: TestClient[Any, Any], key: str
) -> None:
    schema_validator("request.json")  # skips here, before any request, without the schemas
    assert_valid("services.json", await (await client.get(f"{V2}/services.json")).json())
    definition = await (await client.get(f"{V2}/services/0101.json")).json()
    assert_valid("service-definition.json", definition)
    for change in ({}, {"lat": "", "long": "", "address_id": "A-1"}):
        assert (await post(client, "json", {**FORM, "api_key": key, **change})).status == 200
    listed = await (await client.get(f"{V2}/requests.json")).json()
    assert len(listed) == 2
    assert_valid("requests.json", listed)
    for row in listed:
        assert_request_shape(row)
        one = await client.get(f"{V2}/requests/{row['service_request_id']}.json")
        assert_valid("requests.json", await one.json())
