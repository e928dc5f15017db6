"""``hotline chat``: talk to the intake as a citizen, in the terminal."""

from __future__ import annotations

import asyncio
import sys
import uuid

import click

from hotline.cli.common import get_config, run_async
from hotline.errors import HotlineError
from hotline.intake.messages import InboundMessage
from hotline.observability import configure_logging
from hotline.services import Services, build_services, running_services
from hotline.storage.migrate import upgrade


@click.command()
@click.option(
    "--sender", default=None, help="who you are on the 'cli' channel (default: a new citizen)"
)
@click.option(
    "--phone", default=None, help="a contact phone the channel knows, as a phone call would"
)
@click.pass_context
@run_async
async def chat(ctx: click.Context, sender: str | None, phone: str | None) -> None:
    """Hold a conversation with the hotline; an empty line or Ctrl-D ends it."""
    config = get_config(ctx)
    configure_logging("WARNING", "text")  # the conversation is the output here
    config.data_dir.mkdir(parents=True, exist_ok=True)
    services = build_services(config)
    sender = sender or f"cli-{uuid.uuid4().hex[:8]}"
    interactive = sys.stdin.isatty()
    await upgrade(services.database, country_code=config.callbacks.country_code)
    async with running_services(services):
        click.echo("12345 热线（输入空行或 Ctrl-D 结束）")
        while line := await asyncio.to_thread(_read_line, interactive):
            await _say(
                services, InboundMessage("cli", sender, uuid.uuid4().hex, line, contact_phone=phone)
            )


async def _say(services: Services, message: InboundMessage) -> None:
    try:
        result = await services.pipeline.submit(message)
    except HotlineError as e:
        click.echo(f"[错误] {e.message}", err=True)
        return
    for reply in result.replies:
        click.echo(f"热线：{reply.text}")


def _read_line(interactive: bool) -> str:
    try:
        line = input("您：" if interactive else "")
    except EOFError:
        return ""
    if not interactive:
        click.echo(f"您：{line}")
    return line.strip()
