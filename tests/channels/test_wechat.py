"""The WeChat official-account channel: signed pushes through the intake, passive replies,
safe mode, and every way a push can be refused without storing anything."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest
from aiohttp.test_utils import TestClient
from aiohttp.web import Application
from sqlalchemy import func, select

from hotline.channels.wechat.adapter import CUT_NOTE, UNSUPPORTED, VOICE_UNRECOGNISED, fit
from hotline.channels.wechat.xml import cdata, text_reply
from hotline.config import parse_config
from hotline.errors import ConfigError
from hotline.services import Services, build_services
from hotline.storage.models import Message, Ticket
from hotline.web.app import create_app
from tests.channels.wechat_platform import (
    ACCOUNT,
    AES_KEY,
    APP_ID,
    TOKEN,
    Platform,
    push,
    sha1_of,
    text_push,
)
from tests.conftest import API_KEY, make_config

ClientFactory = Callable[[Application], Awaitable[TestClient[Any, Any]]]
Client = TestClient[Any, Any]
PATH = "/channels/wechat"
WECHAT = {"enabled": True, "token": TOKEN, "app_id": APP_ID, "app_secret": "s3cret"}


async def _services(
    tmp_path: Path, database_url: str, analyzer: Any, encoder: Any, **wechat: Any
) -> Services:
    config = make_config(
        tmp_path,
        database_url,
        channels={
            "app": {"api_key": API_KEY},
            "wechat": {**WECHAT, **wechat},
        },
        knowledge={"enabled": False},
    )
    return build_services(config, analyzer=analyzer, encoder=encoder)


@pytest.fixture
async def services(
    tmp_path: Path, database_url: str, analyzer: Any, encoder: Any
) -> AsyncIterator[Services]:
    built = await _services(tmp_path, database_url, analyzer, encoder)
    yield built
    await built.database.dispose()


@pytest.fixture
async def client(services: Services, aiohttp_client: ClientFactory) -> Client:
    return await aiohttp_client(create_app(services))


@pytest.fixture
async def safe_services(
    tmp_path: Path, database_url: str, analyzer: Any, encoder: Any
) -> AsyncIterator[Services]:
    built = await _services(tmp_path, database_url, analyzer, encoder, encoding_aes_key=AES_KEY)
    yield built
    await built.database.dispose()


@pytest.fixture
async def safe_client(safe_services: Services, aiohttp_client: ClientFactory) -> Client:
    return await aiohttp_client(create_app(safe_services))


platform = Platform()


async def send(client: Client, xml: str, query: dict[str, str] | None = None) -> Any:
    return await client.post(PATH, params=query or platform.query(), data=xml.encode())


async def reply_of(response: Any) -> ET.Element:
    assert response.status == 200, await response.text()
    assert response.content_type == "application/xml"
    return ET.fromstring(await response.text())


async def stored(services: Services, model: Any = Message) -> int:
    async with services.database.read() as session:
        return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


# -- the server URL -------------------------------------------------------------------------


async def test_the_server_url_is_verified_by_its_signature(client: Client) -> None:
    ok = await client.get(PATH, params={**platform.query(), "echostr": "4321abc"})
    assert ok.status == 200
    assert await ok.text() == "4321abc"
    forged = {**platform.query(), "signature": "0" * 40, "echostr": "x"}
    refused = await client.get(PATH, params=forged)
    assert refused.status == 401
    assert (await refused.json())["error"]["code"] == "bad_signature"
    stale = await client.get(PATH, params={**platform.query(timestamp=1_000_000), "echostr": "x"})
    assert stale.status == 401
    assert (await stale.json())["error"]["code"] == "stale_request"
    assert (await client.get(PATH, params={"echostr": "x"})).status == 401
    assert (await client.get(PATH, params=platform.query())).status == 400


# -- pushes ---------------------------------------------------------------------------------


async def test_a_text_push_is_answered_in_the_same_response(
    client: Client, services: Services
) -> None:
    root = await reply_of(await send(client, text_push("o-1", "你好", "1001")))
    assert root.findtext("ToUserName") == "o-1"
    assert root.findtext("FromUserName") == ACCOUNT
    assert root.findtext("MsgType") == "text"
    assert root.findtext("Content")
    assert abs(int(root.findtext("CreateTime") or 0) - time.time()) < 60
    async with services.database.read() as session:
        rows = (await session.execute(select(Message))).scalars().all()
    assert {(m.channel, m.direction) for m in rows} == {("wechat", "in"), ("wechat", "out")}


async def test_a_retried_push_gets_the_first_answer_and_is_stored_once(
    client: Client, services: Services
) -> None:
    first = await reply_of(await send(client, text_push("o-1", "我要投诉噪音", "2002")))
    count = await stored(services)
    again = await reply_of(await send(client, text_push("o-1", "我要投诉噪音", "2002")))
    assert again.findtext("Content") == first.findtext("Content")
    assert await stored(services) == count


async def test_a_conversation_files_a_ticket_for_the_wechat_citizen(
    client: Client, services: Services
) -> None:
    turns = ["我要投诉，小区门口的烧烤摊油烟太大了", "江北区望江路18号", "13800138000", "确认"]
    for i, text in enumerate(turns):
        root = await reply_of(await send(client, text_push("o-2", text, f"30{i}")))
    async with services.database.read() as session:
        ticket = (await session.execute(select(Ticket))).scalar_one()
    assert ticket.channel == "wechat"
    assert ticket.number in (root.findtext("Content") or "")


async def test_recognised_voice_is_read_and_an_emergency_is_referred(client: Client) -> None:
    root = await reply_of(
        await send(client, text_push("o-3", "我家楼下着火了 火很大", "4001", kind="voice"))
    )
    assert "请立即拨打119" in (root.findtext("Content") or "")


async def test_a_location_push_is_the_citizens_place(client: Client, services: Services) -> None:
    fields = (
        "<Location_X>30.2741</Location_X><Location_Y>120.1551</Location_Y><Scale>15</Scale>"
        "<Label><![CDATA[临江市江北区望江路18号]]></Label>"
    )
    await reply_of(await send(client, push("o-4", "location", fields, "5001")))
    async with services.database.read() as session:
        (inbound,) = (
            await session.execute(select(Message).where(Message.direction == "in"))
        ).scalars()
    assert inbound.text == "我的位置：临江市江北区望江路18号"


@pytest.mark.parametrize(
    ("kind", "fields", "answer"),
    [
        ("image", "<PicUrl><![CDATA[http://mmbiz/1.jpg]]></PicUrl>", UNSUPPORTED),
        ("voice", "<Format><![CDATA[amr]]></Format><Recognition><![CDATA[]]></Recognition>",
         VOICE_UNRECOGNISED),
    ],
)  # fmt: skip
async def test_what_the_intake_cannot_read_is_answered_and_not_stored(
    client: Client, services: Services, kind: str, fields: str, answer: str
) -> None:
    root = await reply_of(await send(client, push("o-5", kind, fields, "6001")))
    assert root.findtext("Content") == answer
    assert await stored(services) == 0


async def test_events(client: Client, services: Services) -> None:
    subscribe = push("o-6", "event", "<Event><![CDATA[subscribe]]></Event>")
    root = await reply_of(await send(client, subscribe))
    assert "12345" in (root.findtext("Content") or "")
    leave = await send(client, push("o-6", "event", "<Event><![CDATA[unsubscribe]]></Event>"))
    assert (leave.status, await leave.text()) == (200, "success")
    assert await stored(services) == 0


# -- refused pushes ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ("<xml><ToUserName>gh</ToUserName>", 400, "malformed_xml"),
        ("not xml at all", 400, "malformed_xml"),
        ("<root><MsgType>text</MsgType></root>", 400, "malformed_xml"),
        (push("o-7", "text", "<Content>x</Content>", "7001").replace("o-7", ""), 400,
         "malformed_xml"),
        ('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">]><xml>&a;</xml>', 400,
         "malformed_xml"),
        (text_push("o-7", "好" * 30_000, "7002"), 413, "payload_too_large"),
    ],
)  # fmt: skip
async def test_bad_pushes_are_refused_and_nothing_is_stored(
    client: Client, services: Services, body: str, status: int, code: str
) -> None:
    response = await send(client, body)
    assert response.status == status, await response.text()
    assert (await response.json())["error"]["code"] == code
    assert await stored(services) == 0


async def test_a_forged_or_replayed_push_is_refused(client: Client, services: Services) -> None:
    xml = text_push("o-8", "你好", "8001")
    forged = {**platform.query(), "signature": Platform(token="guess").query()["signature"]}
    assert (await send(client, xml, forged)).status == 401
    assert (
        await send(client, xml, platform.query(timestamp=int(time.time()) - 3600))
    ).status == 401
    encrypted_without_key = {**platform.query(), "encrypt_type": "aes"}
    assert (await send(client, xml, encrypted_without_key)).status == 401
    assert await stored(services) == 0


# -- safe mode --------------------------------------------------------------------------------


async def test_safe_mode_decrypts_the_push_and_encrypts_the_reply(
    safe_client: Client, safe_services: Services
) -> None:
    query, body = platform.sealed(text_push("o-9", "你好", "9001"))
    response = await send(safe_client, body, query)
    assert response.status == 200, await response.text()
    inner = platform.open_reply(await response.text())
    assert inner.findtext("ToUserName") == "o-9"
    assert inner.findtext("Content")
    assert await stored(safe_services) == 2


async def test_safe_mode_refuses_what_is_not_sealed_for_this_account(
    safe_client: Client, safe_services: Services
) -> None:
    xml = text_push("o-9", "你好", "9002")
    plain = await send(safe_client, xml)
    assert plain.status == 401
    assert (await plain.json())["error"]["code"] == "encryption_required"
    query, body = platform.sealed(xml, app_id="wx-another-account")
    other = await send(safe_client, body, query)
    assert (other.status, (await other.json())["error"]["code"]) == (401, "bad_cipher")
    query, body = platform.sealed(xml)
    tampered = await send(safe_client, body, {**query, "msg_signature": "f" * 40})
    assert (tampered.status, (await tampered.json())["error"]["code"]) == (401, "bad_signature")
    garbage_text = "bm90IGEgY2lwaGVydGV4dA=="  # base64, but no ciphertext of ours
    garbage = f"<xml><Encrypt><![CDATA[{garbage_text}]]></Encrypt></xml>"
    query = platform.query()
    query |= {
        "encrypt_type": "aes",
        "msg_signature": sha1_of(TOKEN, query["timestamp"], query["nonce"], garbage_text),
    }
    bad = await send(safe_client, garbage, query)
    assert (bad.status, (await bad.json())["error"]["code"]) == (401, "bad_cipher")
    assert await stored(safe_services) == 0


# -- parts ------------------------------------------------------------------------------------


def test_the_passive_reply_is_wechats_exact_xml() -> None:
    assert text_reply(to_user="o-1", from_user="gh_1", create_time=1700000000, content="您好") == (
        "<xml><ToUserName><![CDATA[o-1]]></ToUserName><FromUserName><![CDATA[gh_1]]>"
        "</FromUserName><CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        "<Content><![CDATA[您好]]></Content></xml>"
    )
    assert cdata("a]]>b") == "<![CDATA[a]]]]><![CDATA[>b]]>"
    assert ET.fromstring(f"<x>{cdata('a]]>b')}</x>").text == "a]]>b"


def test_a_long_reply_is_cut_to_what_wechat_shows() -> None:
    short = "您好" * 10
    assert fit(short) == short
    cut = fit("政策说明" * 400)
    assert len(cut.encode()) <= 2048
    assert cut.endswith(CUT_NOTE)


def test_an_enabled_account_needs_its_secrets() -> None:
    def config(**wechat: Any) -> None:
        parse_config({"channels": {"app": {"api_key": "k"}, "wechat": wechat}}, env={})

    with pytest.raises(ConfigError, match=r"channels\.wechat\.token"):
        config(enabled=True)
    with pytest.raises(ConfigError, match=r"channels\.wechat\.app_secret"):
        config(enabled=True, token="t", app_id=APP_ID)
    with pytest.raises(ConfigError, match=r"channels\.wechat\.encoding_aes_key"):
        config(**WECHAT, encoding_aes_key="tooshort")
    config(**WECHAT, encoding_aes_key=AES_KEY)
    config(enabled=False)
