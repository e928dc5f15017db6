import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from hotline.auth import hash_password
from hotline.config import Config
from hotline.encoders.base import Encoder
from hotline.knowledge.gaps import GapRecorder
from hotline.services import Services, build_services
from hotline.storage.models import Role, UnitLevel
from hotline.storage.repos import knowledge as repo
from hotline.storage.repos import staff, units
from hotline.web.app import create_app
from tests.web.conftest import PASSWORD, ClientFactory, login

Client = TestClient[Any, Any]
ENTRIES = "/api/v1/staff/kb/entries"
NEW = {
    "question": "电动自行车怎么上牌？",
    "similar_questions": ["电动车上牌在哪里办"],
    "answer": "携带购车发票、合格证和身份证到车管所办理。",
    "spoken_answer": "带上发票、合格证和身份证去车管所办理。",
    "keywords": ["电动车", "上牌"],
}


@pytest.fixture
async def services(
    config: Config, analyzer: Any, encoder: Encoder, kb_text_analyzer: Any
) -> AsyncIterator[Services]:
    built = build_services(config, analyzer=analyzer, encoder=encoder, kb_analyzer=kb_text_analyzer)
    yield built
    await built.database.dispose()


@pytest.fixture(scope="session")
def password_hash() -> str:
    """Hashed once: argon2 is deliberately slow."""
    return hash_password(PASSWORD)


async def _add_user(
    services: Services, password_hash: str, name: str, role: Role, unit_id: int | None = None
) -> None:
    async with services.database.session() as session:
        await staff.create(
            session,
            username=name,
            display_name=name,
            password_hash=password_hash,
            role=role,
            unit_id=unit_id,
        )


@pytest.fixture
async def client(services: Services, aiohttp_client: ClientFactory, password_hash: str) -> Client:
    app = create_app(services)
    for name, role in [
        ("editor", Role.EDITOR),
        ("reviewer", Role.EDITOR),
        ("supervisor", Role.SUPERVISOR),
        ("agent", Role.AGENT),
    ]:
        await _add_user(services, password_hash, name, role)
    return await aiohttp_client(app)


@pytest.fixture
async def unit_client(services: Services, client: Client, password_hash: str) -> Client:
    async with services.database.session() as session:
        unit = await units.upsert(session, code="LJ-CG", name="城管局", level=UnitLevel.CITY)
    await _add_user(services, password_hash, "unit", Role.UNIT, unit_id=unit.id)
    return client


async def _as(client: Client, who: str) -> dict[str, str]:
    return await login(client, who)


async def _create(client: Client, headers: dict[str, str], body: dict[str, Any] = NEW) -> int:
    response = await client.post(ENTRIES, json=body, headers=headers)
    assert response.status == 201, await response.text()
    return int((await response.json())["entry"]["id"])


async def _publish(client: Client) -> int:
    editor, reviewer = await _as(client, "editor"), await _as(client, "reviewer")
    entry_id = await _create(client, editor)
    assert (await client.post(f"{ENTRIES}/{entry_id}/submit", headers=editor)).status == 200
    response = await client.post(f"{ENTRIES}/{entry_id}/approve", headers=reviewer)
    assert response.status == 200, await response.text()
    return entry_id


async def _error(response: Any, status: int) -> str:
    assert response.status == status, await response.text()
    return str((await response.json())["error"]["code"])


async def test_editor_writes_reviewer_publishes_history_is_visible(client: Client) -> None:
    editor, reviewer = await _as(client, "editor"), await _as(client, "reviewer")
    entry_id = await _create(client, editor)
    response = await client.patch(
        f"{ENTRIES}/{entry_id}", json={"answer": "到车管所或指定网点办理。"}, headers=editor
    )
    assert (await response.json())["entry"]["version"] == 1
    await client.post(f"{ENTRIES}/{entry_id}/submit", headers=editor)
    own = await client.post(f"{ENTRIES}/{entry_id}/approve", headers=editor)
    assert await _error(own, 403) == "forbidden"
    done = await client.post(
        f"{ENTRIES}/{entry_id}/approve", json={"comment": "可以"}, headers=reviewer
    )
    entry = (await done.json())["entry"]
    assert (entry["status"], entry["published_version"]) == ("published", 1)
    assert entry["published"]["answer"] == "到车管所或指定网点办理。"
    detail = await (await client.get(f"{ENTRIES}/{entry_id}", headers=editor)).json()
    assert [(h["action"], h["actor"]) for h in detail["history"]] == [
        ("created", "editor:editor"),
        ("edited", "editor:editor"),
        ("submitted", "editor:editor"),
        ("approved", "editor:reviewer"),
    ]


async def test_agents_cannot_write_and_units_cannot_see_drafts(
    unit_client: Client, services: Services
) -> None:
    client = unit_client
    agent, unit = await _as(client, "agent"), await _as(client, "unit")
    assert await _error(await client.post(ENTRIES, json=NEW, headers=agent), 403) == "forbidden"
    live = await _publish(client)
    draft = await _create(client, await _as(client, "editor"), {**NEW, "question": "草稿问题"})
    patch = await client.patch(f"{ENTRIES}/{live}", json={"answer": "x"}, headers=agent)
    assert await _error(patch, 403) == "forbidden"
    for who in (agent, unit):
        listed = await (await client.get(ENTRIES, headers=who)).json()
        assert [e["id"] for e in listed["entries"]] == [live]
        assert "author_id" not in listed["entries"][0]
        assert await _error(await client.get(f"{ENTRIES}/{draft}", headers=who), 404)
    forbidden = await client.get(ENTRIES, params={"status": "draft"}, headers=unit)
    assert await _error(forbidden, 403) == "forbidden"
    search = await client.get("/api/v1/staff/kb/search", params={"q": "电动车"}, headers=unit)
    assert await _error(search, 403) == "forbidden"
    gaps = await client.get("/api/v1/staff/kb/gaps", headers=unit)
    assert await _error(gaps, 403) == "forbidden"
    async with services.database.session() as session:
        assert (await repo.get(session, entry_id=live)).version == 1


async def test_bad_inputs_are_refused_and_change_nothing(
    client: Client, services: Services
) -> None:
    editor, reviewer = await _as(client, "editor"), await _as(client, "reviewer")
    entry_id = await _create(client, editor)
    cases = [
        (client.get(f"{ENTRIES}/999", headers=editor), 404, "not_found"),
        (client.patch(f"{ENTRIES}/999", json={"answer": "x"}, headers=editor), 404, "not_found"),
        (client.get(f"{ENTRIES}/abc", headers=editor), 404, "not_found"),
        (client.post(f"{ENTRIES}/{entry_id}/approve", headers=reviewer), 409, "conflict"),
        (client.post(f"{ENTRIES}/{entry_id}/reject", json={}, headers=reviewer), 422, None),
        (client.post(ENTRIES, data=b"{oops", headers=editor), 400, "malformed_json"),
        (client.post(ENTRIES, json={**NEW, "answer": ""}, headers=editor), 422, None),
        (client.post(ENTRIES, json={**NEW, "colour": "red"}, headers=editor), 422, None),
        (client.get(ENTRIES, params={"status": "lost"}, headers=editor), 422, None),
        (
            client.post(f"{ENTRIES}/{entry_id}/restore", json={"version": 5}, headers=editor),
            404,
            None,
        ),
        (
            client.post(f"{ENTRIES}/{entry_id}/restore", json={"version": 0}, headers=editor),
            422,
            None,
        ),
        (client.post(f"{ENTRIES}/{entry_id}/retire", headers={}), 401, "unauthorized"),
    ]
    for request, status, code in cases:
        got = await _error(await request, status)
        assert code is None or got == code
    await client.post(f"{ENTRIES}/{entry_id}/submit", headers=editor)
    reject = await client.post(
        f"{ENTRIES}/{entry_id}/reject", json={"comment": ""}, headers=reviewer
    )
    assert await _error(reject, 422) == "validation_error"
    async with services.database.session() as session:
        entry = await repo.get(session, entry_id=entry_id)
        history = await repo.history(session, entry_id=entry_id)
        total = (await repo.search(session, where=repo.EntryFilter()))[1]
    assert (entry.status, len(history), total) == ("in_review", 2, 1)


async def test_reject_retire_and_restore_over_http(client: Client) -> None:
    editor, reviewer = await _as(client, "editor"), await _as(client, "reviewer")
    supervisor = await _as(client, "supervisor")
    entry_id = await _publish(client)
    await client.patch(f"{ENTRIES}/{entry_id}", json={"answer": "改过的答案"}, headers=editor)
    await client.post(f"{ENTRIES}/{entry_id}/submit", headers=editor)
    rejected = await client.post(
        f"{ENTRIES}/{entry_id}/reject", json={"comment": "依据不足"}, headers=reviewer
    )
    body = (await rejected.json())["entry"]
    assert (body["status"], body["review_comment"], body["published_version"]) == (
        "draft",
        "依据不足",
        1,
    )
    retired = await client.post(
        f"{ENTRIES}/{entry_id}/retire", json={"reason": "政策废止"}, headers=editor
    )
    assert (await retired.json())["entry"]["published"] is None
    again = await client.post(f"{ENTRIES}/{entry_id}/retire", headers=editor)
    assert await _error(again, 409) == "conflict"
    restored = await client.post(
        f"{ENTRIES}/{entry_id}/restore", json={"version": 1}, headers=supervisor
    )
    entry = (await restored.json())["entry"]
    assert (entry["status"], entry["version"], entry["published"]["answer"]) == (
        "published",
        3,
        NEW["answer"],
    )


async def test_knowledge_search_is_unavailable_without_a_knowledge_base(
    config: Config,
    analyzer: Any,
    encoder: Encoder,
    aiohttp_client: ClientFactory,
    password_hash: str,
) -> None:
    disabled = config.model_copy(
        update={"knowledge": config.knowledge.model_copy(update={"enabled": False})}
    )
    built = build_services(disabled, analyzer=analyzer, encoder=encoder)
    client = await aiohttp_client(create_app(built))
    await _add_user(built, password_hash, "agent", Role.AGENT)
    agent = await _as(client, "agent")
    missing = await client.get("/api/v1/staff/kb/search", params={"q": "电动车"}, headers=agent)
    assert await _error(missing, 503) == "knowledge_unavailable"


async def test_agents_search_while_talking(client: Client) -> None:
    agent = await _as(client, "agent")
    entry_id = await _publish(client)
    with_kb = client
    for _ in range(50):  # the index follows the change log every 0.1 s in tests
        response = await with_kb.get(
            "/api/v1/staff/kb/search", params={"q": "我的电动车要上牌去哪里"}, headers=agent
        )
        results = (await response.json())["results"]
        if results:
            break
        await asyncio.sleep(0.1)
    assert results[0]["entry_id"] == entry_id
    assert results[0]["spoken_answer"] == NEW["spoken_answer"]
    assert 0 < results[0]["confidence"] <= 1
    empty = await with_kb.get("/api/v1/staff/kb/search", params={"q": " "}, headers=agent)
    assert await _error(empty, 422) == "validation_error"
    unit_search = await with_kb.get("/api/v1/staff/kb/search", params={"q": "x"})
    assert await _error(unit_search, 401) == "unauthorized"


async def test_gaps_are_listed_by_frequency_and_marked_handled(
    client: Client, services: Services, encoder: Encoder
) -> None:
    recorder = GapRecorder(encoder)
    async with services.database.session() as session:
        for text in ("小区门口的路灯坏了找谁", "小区门口路灯坏了找谁修", "宠物医院营业时间"):
            await recorder.record(session, text=text, confidence=0.1)
    editor, agent = await _as(client, "editor"), await _as(client, "agent")
    assert await _error(await client.get("/api/v1/staff/kb/gaps", headers=agent), 403)
    gaps = (await (await client.get("/api/v1/staff/kb/gaps", headers=editor)).json())["gaps"]
    assert [g["count"] for g in gaps] == [2, 1]
    entry_id = await _publish(client)
    url = f"/api/v1/staff/kb/gaps/{gaps[0]['id']}/handled"
    unknown = await client.post(url, json={"entry_id": 999}, headers=editor)
    assert await _error(unknown, 404) == "not_found"
    done = await client.post(url, json={"entry_id": entry_id}, headers=editor)
    assert (await done.json())["gap"]["status"] == "handled"
    assert await _error(await client.post(url, json={}, headers=editor), 409) == "conflict"
    still_open = await (await client.get("/api/v1/staff/kb/gaps", headers=editor)).json()
    assert [g["count"] for g in still_open["gaps"]] == [1]
