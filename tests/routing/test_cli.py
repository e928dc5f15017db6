"""``hotline routing explain`` for a stored ticket and for a subcategory and address."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from hotline.cli.main import cli
from hotline.routing.cli import routing
from hotline.storage.db import Database
from hotline.storage.models import Citizen, Ticket
from hotline.storage.repos import tickets as ticket_repo
from tests.conftest import API_KEY, shipped_config_without_classifier


@pytest.fixture
def env(tmp_path: Path, database_url: str) -> dict[str, str]:
    config = shipped_config_without_classifier(tmp_path)
    return {
        "HOTLINE_DATA_DIR": str(tmp_path / "data"),
        "HOTLINE_DATABASE_URL": database_url,
        "HOTLINE_APP_API_KEY": API_KEY,
        "HOTLINE_CONFIG": str(config),
    }


@pytest.fixture
def hotline() -> click.Group:
    """The main CLI with the routing group, as the lead registers it."""
    group = click.Group("hotline", commands=dict(cli.commands), callback=cli.callback)
    group.params = cli.params
    group.add_command(routing)
    return group


def invoke(group: click.Group, env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(group, list(args), env=env)


async def _store(url: str, number: str, subcategory: str | None, address: str) -> None:
    database = Database(url)
    try:
        async with database.session() as session:
            citizen = Citizen()
            session.add(citizen)
            await session.flush()
            ticket = Ticket(
                number=number,
                citizen_id=citizen.id or 0,
                channel="app",
                title="路灯",
                description="路灯不亮",
                address=address,
                subcategory_code=subcategory,
                category_code=subcategory[:2] if subcategory else None,
                created_at=dt.datetime(2026, 2, 12, 3, 0, tzinfo=dt.UTC),
            )
            await ticket_repo.add(session, ticket, actor="citizen")
    finally:
        await database.dispose()


def test_explain_a_stored_ticket(
    hotline: click.Group, env: dict[str, str], database_url: str
) -> None:
    assert invoke(hotline, env, "init").exit_code == 0
    asyncio.run(_store(database_url, "2026021200001", "0503", "南湖街道荷花路12号"))
    result = invoke(hotline, env, "routing", "explain", "2026021200001")
    assert result.exit_code == 0, result.output
    assert "rule:        rules[" in result.output
    assert "路灯照明由属地街道报修" in result.output
    assert "unit:        JN-NH 江南区南湖街道办事处 via {street} → 南湖街道" in result.output
    # Thursday 11:00 before Spring Festival: 13th, 14th (调休), then the 24th
    assert "due:         2026-02-24 17:30 (3 个工作日" in result.output
    assert "ticket unit: none (not dispatched)" in result.output


def test_explain_an_unclassified_ticket_and_a_missing_one(
    hotline: click.Group, env: dict[str, str], database_url: str
) -> None:
    assert invoke(hotline, env, "init").exit_code == 0
    asyncio.run(_store(database_url, "2026021200002", None, "望江街道"))
    result = invoke(hotline, env, "routing", "explain", "2026021200002")
    assert result.exit_code == 0
    assert "not classified: it waits for agent triage" in result.output
    missing = invoke(hotline, env, "routing", "explain", "2026021299999")
    assert missing.exit_code == 1
    assert "does not exist" in missing.output


def test_explain_without_a_ticket(hotline: click.Group, env: dict[str, str]) -> None:
    args = ["routing", "explain", "--subcategory", "0401", "--address", "望江街道江滨社区"]
    result = invoke(hotline, env, *args, "--at", "2026-09-30T16:00", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["unit"]["code"] == "JB-CG"
    assert data["rule"]["description"] == "江北区城市管理事项由区城管局统一处置"
    assert data["area"]["community"] == "江滨社区"
    # 0401 has 3 working days; National Day holiday then Oct 8, 9, 10 (调休 Saturday)
    assert data["due_at"] == "2026-10-10T17:30:00+08:00"


def test_explain_without_area_says_city_level(hotline: click.Group, env: dict[str, str]) -> None:
    args = ["routing", "explain", "--subcategory", "2101", "--address", "我家厨房"]
    result = invoke(hotline, env, *args, "--urgency", "normal", "--at", "2026-10-01T22:00")
    assert result.exit_code == 0, result.output
    assert "area unknown: routed to city level" in result.output
    assert "LJ-RQ" in result.output
    assert "2026-10-02 00:00 (2 个自然小时（特急）" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "either a ticket NUMBER or --subcategory"),
        (["123", "--subcategory", "0401"], "either a ticket NUMBER or --subcategory"),
        (["--subcategory", "9999"], "unknown subcategory code '9999'"),
        (["--subcategory", "0401", "--at", "yesterday"], "not an ISO date-time"),
    ],
)
def test_explain_refuses_bad_input(
    hotline: click.Group, env: dict[str, str], args: list[str], message: str
) -> None:
    result = invoke(hotline, env, "routing", "explain", *args)
    assert result.exit_code != 0
    assert message in result.output


def test_check_validates_the_routing_files(hotline: click.Group, tmp_path: Path) -> None:
    ok = CliRunner().invoke(hotline, ["routing", "check"])
    assert ok.exit_code == 0, ok.output
    assert "rules, 38 units, calendar override years none: ok" in ok.output
    bad = tmp_path / "rules.yml"
    bad.write_text("rules:\n  - {description: 兜底, unit: LJ-NOPE}\n", encoding="utf-8")
    result = CliRunner().invoke(hotline, ["routing", "check", "--rules", str(bad)])
    assert result.exit_code == 1
    assert "rules[0].unit: unknown unit code 'LJ-NOPE'" in result.output
