"""The routing rules staff API: roles, validated saves, stale bases, history, and the effect."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from hotline.config import Config
from hotline.intake.steps import ClassificationResult, Suggestion
from hotline.routing.rules import DEFAULT_RULES_PATH
from hotline.sample.loader import load_units
from hotline.services import Services, build_services
from hotline.storage.models import Role, RoutingRuleSet
from hotline.storage.repos import tickets, units
from hotline.web.app import create_app
from tests.web.conftest import ClientFactory, add_user, login

Client = TestClient[Any, Any]
Headers = dict[str, str]
RULES = "/api/v1/staff/routing/rules"
SEED = DEFAULT_RULES_PATH.read_text(encoding="utf-8")
MOVED = (
    SEED + "  - {description: 测试改派, priority: 500, match: {subcategory: '0901'}, unit: LJ-HB}\n"
)
LETTER = {
    "title": "社保",
    "content": "我的社保缴费记录不对",
    "name": "李先生",
    "phone": "13912345678",
}


class SocialInsurance:
    """A classifier sure that every request is about 社会保险 (0901)."""

    async def classify(self, text: str) -> ClassificationResult | None:
        return ClassificationResult((Suggestion("09", "0901", 0.97),), True, "test")


@pytest.fixture
async def services(
    config: Config, analyzer: Any, encoder: Any, kb_text_analyzer: Any
) -> AsyncIterator[Services]:
    built = build_services(
        config,
        analyzer=analyzer,
        encoder=encoder,
        kb_analyzer=kb_text_analyzer,
        classifier=SocialInsurance(),
    )
    yield built
    await built.database.dispose()


@pytest.fixture
async def client(services: Services, aiohttp_client: ClientFactory) -> Client:
    return await aiohttp_client(create_app(services))


@pytest.fixture
async def staff(client: Client, services: Services) -> dict[str, Headers]:
    async with services.database.session() as session:
        await load_units(session)
        unit_id = (await units.by_code(session, code="LJ-RS")).id
    for name, role in (
        ("agent", Role.AGENT),
        ("boss", Role.SUPERVISOR),
        ("root", Role.ADMIN),
        ("editor", Role.EDITOR),
    ):
        await add_user(services, name, role)
    await add_user(services, "rs", Role.UNIT, unit_id=unit_id)
    return {name: await login(client, name) for name in ("agent", "boss", "root", "editor", "rs")}


async def stored(services: Services) -> int:
    async with services.database.read() as session:
        count = select(func.count()).select_from(RoutingRuleSet)
        return int((await session.execute(count)).scalar_one())


async def put(client: Client, headers: Headers, status: int, **body: Any) -> Any:
    response = await client.put(RULES, json=body, headers=headers)
    assert response.status == status, await response.text()
    return await response.json()


async def ticket_unit(client: Client, services: Services, app_headers: Headers) -> str:
    response = await client.post("/api/v1/letters", json=LETTER, headers=app_headers)
    assert response.status == 201, await response.text()
    number = (await response.json())["ticket"]["number"]
    async with services.database.read() as session:
        ticket = await tickets.by_number(session, number=number)
        assert ticket.unit_id is not None, ticket.status
        return (await units.get(session, unit_id=ticket.unit_id)).code


async def test_a_saved_rule_routes_the_next_ticket(
    client: Client, services: Services, staff: dict[str, Headers], app_headers: Headers
) -> None:
    assert await ticket_unit(client, services, app_headers) == "LJ-RS"
    saved = await put(client, staff["boss"], 200, document=MOVED, base_version=0, comment="试行")
    assert (saved["version"], saved["author"], saved["in_force_here"]) == (1, "boss", 1)
    assert await ticket_unit(client, services, app_headers) == "LJ-HB"
    current = await (await client.get(RULES, headers=staff["agent"])).json()
    assert (current["version"], current["source"], current["document"]) == (1, "stored", MOVED)
    assert current["rules"][-1]["unit"] == "LJ-HB"
    explained = await client.post(
        "/api/v1/staff/routing/explain",
        json={"subcategory": "0901", "address": "江北区望江街道"},
        headers=staff["agent"],
    )
    body = await explained.json()
    assert (body["unit"]["code"], body["rule"]["description"], body["rules_version"]) == (
        "LJ-HB",
        "测试改派",
        1,
    )


async def test_before_any_save_the_file_is_in_force(
    client: Client, staff: dict[str, Headers]
) -> None:
    response = await client.get(RULES, headers=staff["agent"])
    body = await response.json()
    assert (body["version"], body["source"], body["author"]) == (0, "file", None)
    assert body["document"] == SEED
    assert body["rules"][-1]["description"] == "其余诉求由热线中心人工分拨"
    history = await (await client.get(f"{RULES}/versions", headers=staff["boss"])).json()
    assert history == {"in_force": 0, "versions": []}


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("rules: [\n", "cannot read the document"),
        (SEED.replace("unit: LJ-RS}", "unit: LJ-NOPE}"), "unit: unknown unit code 'LJ-NOPE'"),
        (
            "rules:\n  - {description: 只管社保, match: {category: '09'}, unit: LJ-RS}\n",
            "257 subcategories route nowhere when the area is unknown",
        ),
    ],
)
async def test_invalid_documents_are_refused_and_nothing_is_stored(
    client: Client,
    services: Services,
    staff: dict[str, Headers],
    app_headers: Headers,
    document: str,
    message: str,
) -> None:
    body = await put(client, staff["boss"], 422, document=document, base_version=0)
    assert body["error"]["code"] == "invalid_rules"
    assert message in body["error"]["message"]
    assert await stored(services) == 0
    assert await ticket_unit(client, services, app_headers) == "LJ-RS"


async def test_a_stale_base_version_is_a_conflict(
    client: Client, services: Services, staff: dict[str, Headers]
) -> None:
    await put(client, staff["boss"], 200, document=MOVED, base_version=0)
    body = await put(client, staff["root"], 409, document=SEED, base_version=0)
    assert body["error"]["code"] == "stale_version"
    assert "version 1 is in force" in body["error"]["message"]
    await put(client, staff["root"], 200, document=SEED, base_version=1, comment="撤回")
    history = await (await client.get(f"{RULES}/versions", headers=staff["agent"])).json()
    assert history["in_force"] == 2
    assert [(v["version"], v["author"], v["comment"]) for v in history["versions"]] == [
        (2, "root", "撤回"),
        (1, "boss", None),
    ]
    assert await stored(services) == 2


async def test_roles(client: Client, services: Services, staff: dict[str, Headers]) -> None:
    save = {"document": MOVED, "base_version": 0}
    for who in ("agent", "editor", "rs"):
        response = await client.put(RULES, json=save, headers=staff[who])
        assert response.status == 403, who
        check = await client.post(f"{RULES}/check", json={"document": MOVED}, headers=staff[who])
        assert check.status == 403, who
    for who in ("editor", "rs"):
        assert (await client.get(RULES, headers=staff[who])).status == 403, who
        assert (await client.get(f"{RULES}/versions", headers=staff[who])).status == 403, who
        explain = await client.post(
            "/api/v1/staff/routing/explain", json={"subcategory": "0901"}, headers=staff[who]
        )
        assert explain.status == 403, who
    for path in (RULES, f"{RULES}/versions"):
        assert (await client.get(path)).status == 401
    assert (await client.put(RULES, json=save)).status == 401
    assert (await client.post(f"{RULES}/check", json={"document": MOVED})).status == 401
    assert await stored(services) == 0


async def test_check_is_a_dry_run(
    client: Client, services: Services, staff: dict[str, Headers]
) -> None:
    response = await client.post(f"{RULES}/check", json={"document": MOVED}, headers=staff["boss"])
    report = await response.json()
    assert report["valid"] is True
    assert report["coverage"]["covered"] == 266
    assert {(c["subcategory"], c["to"]) for c in report["changes"]} == {("0901", "LJ-HB")}
    bad = SEED + "  - {description: x, unit: LJ-NOPE}\n  - {description: y, unit: '{road}'}\n"
    response = await client.post(f"{RULES}/check", json={"document": bad}, headers=staff["root"])
    report = await response.json()
    assert report["valid"] is False
    assert len(report["errors"]) == 2
    assert "bad template '{road}'" in report["errors"][1]
    assert await stored(services) == 0


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"subcategory": "9999"}, 422, "subcategory: unknown subcategory code '9999'"),
        ({"subcategory": "0901", "urgency": "soon"}, 422, "urgency"),
        ({"document": "x", "base_version": -1}, 422, "base_version"),
    ],
)
async def test_bad_bodies(
    client: Client, staff: dict[str, Headers], body: dict[str, Any], status: int, message: str
) -> None:
    if "document" in body:
        response = await client.put(RULES, json=body, headers=staff["boss"])
    else:
        response = await client.post(
            "/api/v1/staff/routing/explain", json=body, headers=staff["agent"]
        )
    assert response.status == status
    assert message in (await response.json())["error"]["message"]


@pytest.mark.parametrize(
    "document",
    [
        "rules: " + "[" * 2000 + "]" * 2000 + "\n",  # nesting deeper than the parser recurses
        "rules:\n  " + "- " * 2000 + "x\n",
    ],
)
async def test_a_deeply_nested_document_is_refused_not_a_server_error(
    client: Client, services: Services, staff: dict[str, Headers], document: str
) -> None:
    body = await put(client, staff["boss"], 422, document=document, base_version=0)
    assert body["error"]["code"] == "invalid_rules"
    assert "nested too deeply" in body["error"]["message"]
    response = await client.post(
        f"{RULES}/check", json={"document": document}, headers=staff["boss"]
    )
    assert response.status == 200, await response.text()
    report = await response.json()
    assert report["valid"] is False
    assert "nested too deeply" in report["errors"][0]
    assert await stored(services) == 0


@pytest.mark.parametrize("comment", ["试行\x00", "试行\ud800"])
async def test_a_comment_the_database_cannot_store_is_refused(
    client: Client, services: Services, staff: dict[str, Headers], comment: str
) -> None:
    body = await put(client, staff["boss"], 422, document=MOVED, base_version=0, comment=comment)
    assert "comment" in body["error"]["message"]
    assert await stored(services) == 0
