"""``hotline open311 keys``: a key is printed once and only its hash is stored."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import click
import pytest
from aiohttp.test_utils import TestClient
from click.testing import CliRunner
from sqlalchemy import select

from hotline.channels.open311.cli import open311
from hotline.cli.main import cli
from hotline.services import build_services
from hotline.storage.db import Database
from hotline.storage.models import Open311Key
from hotline.storage.repos.open311 import key_digest
from tests.channels.test_open311_support import open311_app
from tests.conftest import API_KEY, make_config, shipped_config_without_classifier


@click.group()
@click.pass_context
def root(ctx: click.Context) -> None:
    """Stands in for ``hotline`` until the lead adds ``open311`` to ``hotline/cli/main.py``."""
    ctx.ensure_object(dict)["config_path"] = None


root.add_command(open311)


@pytest.fixture
def env(tmp_path: Path, database_url: str) -> dict[str, str]:
    config = shipped_config_without_classifier(tmp_path)
    return {
        "HOTLINE_DATA_DIR": str(tmp_path / "data"),
        "HOTLINE_DATABASE_URL": database_url,
        "HOTLINE_APP_API_KEY": API_KEY,
        "HOTLINE_CONFIG": str(config),
    }


def run(env: dict[str, str], *args: str, group: click.Group = root) -> tuple[str, str]:
    result = CliRunner().invoke(group, list(args), env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout, result.stderr


async def stored_keys(url: str) -> list[Open311Key]:
    database = Database(url)
    try:
        async with database.read() as session:
            return list((await session.execute(select(Open311Key))).scalars())
    finally:
        await database.dispose()


def test_keys_add_prints_a_key_once_and_stores_its_hash(
    env: dict[str, str], database_url: str
) -> None:
    out, err = run(env, "open311", "keys", "add", "city-app")
    key = out.strip()
    assert len(key) >= 40
    assert "not shown again" in err
    (row,) = asyncio.run(stored_keys(database_url))
    assert row.name == "city-app"
    assert row.key_hash == key_digest(key)
    assert key not in row.key_hash
    listed, _ = run(env, "open311", "keys", "list")
    assert "city-app" in listed
    assert "active" in listed
    assert key not in listed
    again = CliRunner().invoke(root, ["open311", "keys", "add", "city-app"], env=env)
    assert again.exit_code == 1
    assert "already exists" in again.output
    run(env, "open311", "keys", "revoke", "city-app")
    assert "revoked" in run(env, "open311", "keys", "list")[0]
    unknown = CliRunner().invoke(root, ["open311", "keys", "revoke", "nobody"], env=env)
    assert unknown.exit_code == 1
    assert "no Open311 key named 'nobody'" in unknown.output


async def test_a_posted_request_is_visible_with_tickets_show(
    env: dict[str, str],
    tmp_path: Path,
    database_url: str,
    aiohttp_client: Any,
    analyzer: Any,
    encoder: Any,
    kb_text_analyzer: Any,
) -> None:
    key = (await asyncio.to_thread(run, env, "open311", "keys", "add", "partner"))[0].strip()
    config = make_config(tmp_path, database_url)
    services = build_services(
        config, analyzer=analyzer, encoder=encoder, kb_analyzer=kb_text_analyzer
    )
    client: TestClient[Any, Any] = await aiohttp_client(open311_app(services))
    try:
        data = {
            "api_key": key,
            "service_code": "0301",
            "address_string": "江北区胜利路 5 号",
            "description": "胜利路 5 号路灯整晚不亮",
        }
        response = await client.post("/open311/v2/requests.json", data=data)
        assert response.status == 200, await response.text()
        number = (await response.json())[0]["service_request_id"]
    finally:
        # Stop the app (and its background tasks) before the engine goes away.
        await client.close()
        await services.database.dispose()
    out, _ = await asyncio.to_thread(run, env, "tickets", "show", number, "--json", group=cli)
    shown = json.loads(out.strip().splitlines()[-1])
    assert shown["ticket"]["number"] == number
    assert shown["ticket"]["channel"] == "open311"
    assert "路灯整晚不亮" in shown["ticket"]["description"]
