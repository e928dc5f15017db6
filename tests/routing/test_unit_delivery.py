"""Units' delivery settings from units.yml, and ``hotline worker --once``."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from click.testing import CliRunner

from hotline.cli.main import cli
from hotline.errors import ConfigError
from hotline.sample.loader import delivery_of, load_units
from hotline.storage.db import Database
from hotline.storage.models import DeliveryMethod
from hotline.storage.repos import units as unit_repo
from tests.conftest import API_KEY, shipped_config_without_classifier
from tests.routing.dispatch_helpers import Receiver, new_ticket, set_delivery

ENV = {"LJ_SW_SECRET": "s3cret"}


def test_pull_is_the_default() -> None:
    assert delivery_of({"code": "X"}, ENV).method is DeliveryMethod.PULL


def test_webhook_reads_its_secret_from_the_environment() -> None:
    item = {"code": "X", "delivery": {"method": "webhook", "url": "https://u.example/h",
                                      "secret_env": "LJ_SW_SECRET"}}  # fmt: skip
    delivery = delivery_of(item, ENV)
    assert (delivery.method, delivery.webhook_url, delivery.webhook_secret) == (
        DeliveryMethod.WEBHOOK,
        "https://u.example/h",
        "s3cret",
    )


@pytest.mark.parametrize(
    ("delivery", "message"),
    [
        ({"method": "fax"}, "must be pull, webhook or email"),
        ({"method": "webhook", "url": "ftp://x", "secret_env": "LJ_SW_SECRET"}, "http(s) URL"),
        ({"method": "webhook", "url": "https://x"}, "none given"),
        ({"method": "webhook", "url": "https://x", "secret_env": "UNSET"}, "UNSET is not set"),
        ({"method": "email", "address": "nobody"}, "e-mail address"),
    ],
)
def test_bad_delivery_settings_name_the_unit(delivery: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match="units: X: ") as error:
        delivery_of({"code": "X", "delivery": delivery}, ENV)
    assert message in error.value.message


async def test_loading_units_stores_delivery(database: Database, tmp_path: Path) -> None:
    units_file = tmp_path / "units.yml"
    units_file.write_text(
        "units:\n"
        "  - {code: A, name: 甲, level: 市}\n"
        "  - {code: B, name: 乙, level: 市, parent: A,\n"
        "     delivery: {method: email, address: b@example.cn}}\n",
        encoding="utf-8",
    )
    async with database.session() as session:
        assert await load_units(session, units_file, env={}) == 2
    async with database.read() as session:
        b = await unit_repo.by_code(session, code="B")
        a = await unit_repo.by_code(session, code="A")
    assert (b.delivery_method, b.email) == ("email", "b@example.cn")
    assert a.delivery_method == "pull"


def test_worker_once_delivers_and_reports(database_url: str, tmp_path: Path) -> None:
    config = shipped_config_without_classifier(tmp_path)
    env = {
        "HOTLINE_DATABASE_URL": database_url,
        "HOTLINE_DATA_DIR": str(tmp_path / "data"),
        "HOTLINE_APP_API_KEY": API_KEY,
        "HOTLINE_CONFIG": str(config),
    }
    runner = CliRunner()
    assert runner.invoke(cli, ["init"], env=env).exit_code == 0

    async def scenario() -> tuple[str, int]:
        receiver = await Receiver().start()
        database = Database(database_url)
        try:
            await set_delivery(database, "LJ-CG", DeliveryMethod.WEBHOOK, url=receiver.url)
            async with database.session() as session:
                await new_ticket(session, "2026112200001", unit_code="LJ-CG")
            result = await asyncio.to_thread(runner.invoke, cli, ["worker", "--once"], env=env)
            return result.output, len(receiver.received)
        finally:
            await database.dispose()
            await receiver.stop()

    output, received = asyncio.run(scenario())
    assert "delivered 1, failed 0 (will retry), dead-lettered 0" in output
    assert "callbacks: asked 0 by message, called 0" in output  # the same workers ask 回访
    assert "returned 0 long waits for a person to the bot" in output
    assert received == 1
