"""Services with satisfaction callbacks asked at any hour without delay, and a resolved ticket."""

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from aiohttp.web import Application

from hotline.callbacks.setup import build_callback_worker
from hotline.callbacks.worker import CallbackWorker
from hotline.channels.push import PushWorker
from hotline.services import Services, build_services
from hotline.web.app import create_app
from hotline.workers import build_pusher
from tests.channels.fake_twilio_api import FakeTwilioApi
from tests.channels.test_twilio import SID
from tests.conftest import API_KEY, make_config
from tests.web.conftest import ClientFactory
from tests.web.test_ticket_actions import LETTER, act, chat_ticket, make_staff

Client = TestClient[Any, Any]
Headers = dict[str, str]
#: no waiting: asked at once, at any hour
ANY_TIME = {"delay_minutes": 0, "first_hour": 0, "last_hour": 24}


def callback_config(tmp_path: Path, database_url: str, **overrides: Any) -> Any:
    callbacks = {**ANY_TIME, **overrides.pop("callbacks", {})}
    return make_config(
        tmp_path,
        database_url,
        knowledge={"enabled": False},
        callbacks=callbacks,
        **overrides,
    )


@pytest.fixture
def callback_overrides() -> dict[str, Any]:
    """Override in a test module to change the ``callbacks`` section."""
    return {}


@pytest.fixture
def channel_overrides() -> dict[str, Any]:
    """Override in a test module to add channels to the ``channels`` section."""
    return {}


@pytest.fixture
async def services(
    tmp_path: Path,
    database_url: str,
    analyzer: Any,
    encoder: Any,
    callback_overrides: dict[str, Any],
    channel_overrides: dict[str, Any],
) -> AsyncIterator[Services]:
    config = callback_config(
        tmp_path, database_url, callbacks=callback_overrides, channels=channel_overrides
    )
    built = build_services(config, analyzer=analyzer, encoder=encoder)
    yield built
    await built.database.dispose()


@pytest.fixture
async def client(services: Services, aiohttp_client: ClientFactory) -> Client:
    return await aiohttp_client(create_app(services))


@pytest.fixture
async def staff(client: Client, services: Services) -> dict[str, Headers]:
    return await make_staff(client, services)


@pytest.fixture
def app_headers() -> Headers:
    return {"X-Api-Key": API_KEY}


@dataclass
class Sms:
    """Twilio faked at its REST API, and the push worker that hands SMS to it."""

    api: FakeTwilioApi
    worker: PushWorker

    async def send(self) -> int:
        """Push what the outbox owes; how many SMS Twilio took."""
        return (await self.worker.run_once()).sent

    def received(self, phone: str = LETTER["phone"]) -> str:
        """The last SMS Twilio took for the mobile ``phone``."""
        bodies = [sent["Body"] for sent in self.api.sent if sent["To"] == "+86" + phone]
        assert bodies, self.api.sent
        return bodies[-1]


@pytest.fixture
async def twilio_api(
    aiohttp_server: Callable[[Application], Awaitable[TestServer]],
) -> tuple[FakeTwilioApi, str]:
    """Twilio's REST API faked: (the fake, its base URL for ``channels.twilio.api_base_url``)."""
    fake = FakeTwilioApi(SID)
    server = await aiohttp_server(fake.app())
    return fake, str(server.make_url("")).rstrip("/")


@pytest.fixture
async def sms(services: Services, twilio_api: tuple[FakeTwilioApi, str]) -> AsyncIterator[Sms]:
    """The push worker of ``services`` (Twilio's channel must be on), and what Twilio took."""
    worker = build_pusher(services.config, services.database)
    assert worker is not None
    yield Sms(twilio_api[0], worker)
    await worker.stop()  # closes Twilio's HTTP client


@pytest.fixture
def asker(services: Services) -> CallbackWorker:
    assert services.callbacks is not None
    return worker_for(services)


def worker_for(services: Services, name: str = "test-worker") -> CallbackWorker:
    assert services.callbacks is not None
    outgoing = services.pipeline.outgoing
    return build_callback_worker(services.config, services.callbacks, outgoing, name=name)


async def resolved_chat_ticket(
    client: Client, staff: dict[str, Headers], app_headers: Headers
) -> tuple[str, str]:
    """An app citizen's complaint, routed to 城管 and resolved: (number, conversation id)."""
    number, conversation = await chat_ticket(client, app_headers)
    await act(client, staff["agent"], number, "assign", 200, unit_code="LJ-CG")
    await act(client, staff["cg"], number, "accept", 200)
    await act(client, staff["cg"], number, "resolve", 200, reply="摊位已取缔")
    return number, conversation


async def say(client: Client, app_headers: Headers, text: str, message_id: str) -> Any:
    """The app citizen of :func:`chat_ticket` writes again."""
    body = {"sender": "user-1", "text": text, "message_id": message_id}
    response = await client.post("/api/v1/messages", json=body, headers=app_headers)
    assert response.status in (200, 201), await response.text()
    return await response.json()
