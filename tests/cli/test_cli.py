"""The command line: init, db upgrade, chat to a ticket, tickets show, users add."""

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from hotline.cli.main import cli
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


def run(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    result = CliRunner().invoke(cli, list(args), env=env, input=stdin, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_init_is_idempotent_and_writes_passwords_once(env: dict[str, str]) -> None:
    first = run(env, "init")
    assert "admin:" in first
    assert re.search(r"\d+ units, [1-9]\d* sample knowledge entries loaded", first)
    second = run(env, "init")
    assert "admin:" not in second
    assert re.search(r"\d+ units, 0 sample knowledge entries loaded", second)
    passwords = Path(env["HOTLINE_DATA_DIR"]) / "initial-passwords.txt"
    assert passwords.stat().st_mode & 0o777 == 0o600
    assert run(env, "db", "upgrade").startswith("database at revision")


def test_chat_ends_with_a_ticket_that_tickets_show_finds(env: dict[str, str]) -> None:
    conversation = "\n".join(
        [
            "你好",
            "我要投诉，解放路上有个井盖没了，很危险",
            "江北区解放路和胜利路路口",
            "13800138000",
            "确认",
            "",
        ]
    )
    output = run(env, "chat", stdin=conversation)
    match = re.search(r"编号 (\d{13})", output)
    assert match, output
    number = match.group(1)
    shown = json.loads(run(env, "tickets", "show", number, "--json").strip().splitlines()[-1])
    assert shown["ticket"]["number"] == number
    assert "井盖" in shown["ticket"]["description"]
    assert shown["history"][0]["action"] == "created"
    assert number in run(env, "tickets", "list")


def test_unknown_ticket_and_bad_config_are_clear_errors(
    env: dict[str, str], tmp_path: Path
) -> None:
    result = CliRunner().invoke(cli, ["tickets", "show", "2000010100001"], env=env)
    assert result.exit_code == 1
    assert "ticket 2000010100001 does not exist" in result.output
    bad = tmp_path / "bad.yml"
    bad.write_text("server:\n  port: eighty\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["--config", str(bad), "db", "upgrade"], env=env)
    assert result.exit_code == 1
    assert "server.port" in result.output


def test_users_add_hashes_the_password(env: dict[str, str]) -> None:
    run(env, "init")
    out = run(
        env,
        "users",
        "add",
        "zhao",
        "--role",
        "unit",
        "--unit",
        "LJ-CG",
        "--password",
        "s3cret-pass",
    )
    assert "created unit user zhao" in out
    result = CliRunner().invoke(
        cli, ["users", "add", "zhao", "--role", "agent", "--password", "s3cret-pass"], env=env
    )
    assert result.exit_code == 1
    assert "already exists" in result.output
    short = CliRunner().invoke(
        cli, ["users", "add", "qian", "--role", "agent", "--password", "short"], env=env
    )
    assert short.exit_code == 1


def test_agents_corrections_are_exported_for_training(
    env: dict[str, str], tmp_path: Path, database_url: str
) -> None:
    import asyncio

    from sqlalchemy import select

    from hotline.storage.db import Database
    from hotline.storage.models import ClassificationFeedback, StaffUser, Ticket

    run(env, "init")
    run(env, "chat", stdin="你好\n路灯坏了\n人民路\n13800138000\n确认\n\n")

    async def correct() -> None:
        database = Database(database_url)
        async with database.session() as session:
            ticket = (await session.execute(select(Ticket))).scalar_one()
            user = (await session.execute(select(StaffUser))).scalars().first()
            assert user is not None
            for code in ("0401", "0503"):  # the agent changed their mind: the latest counts
                session.add(
                    ClassificationFeedback(
                        ticket_id=ticket.id or 0,
                        text=ticket.description,
                        category_code=code[:2],
                        subcategory_code=code,
                        user_id=user.id or 0,
                    )
                )
        await database.dispose()

    asyncio.run(correct())
    out = tmp_path / "corrections.csv"
    assert "1 corrections written" in run(env, "classifier", "feedback-export", str(out))
    assert out.read_text(encoding="utf-8").splitlines() == ["text,subcategory", "路灯坏了,0503"]
