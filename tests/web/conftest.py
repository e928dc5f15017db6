from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from aiohttp.web import Application

from hotline.auth import hash_password
from hotline.config import Config
from hotline.services import Services, build_services
from hotline.storage.models import Role
from hotline.storage.repos import staff
from hotline.web.app import create_app
from tests.conftest import API_KEY

ClientFactory = Callable[[Application], Awaitable[TestClient[Any, Any]]]
PASSWORD = "correct horse battery"


@pytest.fixture
async def services(
    config: Config, analyzer: Any, encoder: Any, kb_text_analyzer: Any
) -> AsyncIterator[Services]:
    built = build_services(config, analyzer=analyzer, encoder=encoder, kb_analyzer=kb_text_analyzer)
    yield built
    await built.database.dispose()


@pytest.fixture
async def client(services: Services, aiohttp_client: ClientFactory) -> TestClient[Any, Any]:
    return await aiohttp_client(create_app(services))


@pytest.fixture
def app_headers() -> dict[str, str]:
    return {"X-Api-Key": API_KEY}


async def add_user(
    services: Services, username: str, role: Role, unit_id: int | None = None
) -> None:
    async with services.database.session() as session:
        await staff.create(
            session,
            username=username,
            display_name=username,
            password_hash=hash_password(PASSWORD),
            role=role,
            unit_id=unit_id,
        )


async def login(client: TestClient[Any, Any], username: str) -> dict[str, str]:
    response = await client.post(
        "/api/v1/staff/login", json={"username": username, "password": PASSWORD}
    )
    assert response.status == 200, await response.text()
    return {"Authorization": f"Bearer {(await response.json())['token']}"}
