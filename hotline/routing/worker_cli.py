"""``hotline worker``: deliver the dispatch outbox and watch deadlines until stopped."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Protocol

import click

from hotline.callbacks.worker import CallbackWorker
from hotline.channels.push import PushWorker
from hotline.cli.common import get_config, run_async
from hotline.config import Config
from hotline.errors import ChannelError, StorageUnavailable
from hotline.intake.outgoing import Outgoing
from hotline.nlu.masking import mask_personal_data
from hotline.observability import configure_logging
from hotline.routing.sweep import DeadlineSweeper
from hotline.routing.worker import DispatchWorker, Worker
from hotline.storage.db import Database

if TYPE_CHECKING:
    from hotline.channels.email.poller import EmailPoller

log = logging.getLogger(__name__)


@click.command()
@click.option("--once", is_flag=True, help="deliver what is due and sweep once, then exit")
@click.option(
    "--no-sweep", is_flag=True, help="deliver only; leave deadlines and wait limits to others"
)
@click.pass_context
@run_async
async def worker(ctx: click.Context, once: bool, no_sweep: bool) -> None:
    """Deliver dispatches (webhook, e-mail), warn about / escalate overdue tickets, give written
    citizens who waited too long for a person back to the bot, push later
    messages to citizens on WeChat, Telegram, SMS and e-mail (when enabled), ask the
    satisfaction callbacks (回访) and, with ``channels.email`` enabled, poll the citizens'
    mailbox into the intake.

    Run as many as needed beside the servers on PostgreSQL; each row is sent by one worker at a
    time. SIGTERM or SIGINT lets the batch in flight finish, then exits.
    """
    from hotline.workers import build_pusher, build_wait_sweeper, build_worker, push_channels

    config = get_config(ctx)
    configure_logging(config.logging.level, config.logging.format)
    database = Database(config.database_url, pool_size=config.database.pool_size)
    runner = build_worker(config, database)
    pusher = build_pusher(config, database)
    asker = _callback_worker(config, database, runner.dispatcher.name)
    writer = Outgoing(push_channels=push_channels(config))
    waits = None if no_sweep else build_wait_sweeper(config, database, writer)
    if no_sweep:
        runner.sweeper = None
    try:
        async with _mail_intake(config) as mail:
            if once:
                if mail is not None:
                    await _poll_once(mail)
                if waits is not None:
                    returned = await waits.run_once()
                    click.echo(f"returned {len(returned)} long waits for a person to the bot")
                await _drain(runner.dispatcher, runner.sweeper)
                if pusher is not None:
                    await _drain_pushes(pusher)
                if asker is not None:
                    await _ask_once(asker)
            else:
                beside = [b for b in (pusher, asker, waits) if b is not None]
                await _run_until_signalled(runner, beside, mail)
    finally:
        await database.dispose()


def _callback_worker(config: Config, database: Database, name: str) -> CallbackWorker | None:
    """The satisfaction callbacks' worker; messages it writes go out through the push outbox."""
    from hotline.callbacks.setup import build_callback_worker, build_callbacks
    from hotline.workers import push_channels

    channels = push_channels(config)
    # Answers (and so reopens) are handled by the servers; the worker only asks and waits.
    callbacks = build_callbacks(config, database, channels, deadlines=None)
    if callbacks is None:
        return None
    writer = Outgoing(push_channels=channels)
    return build_callback_worker(config, callbacks, writer, name=name)


async def _ask_once(asker: CallbackWorker) -> None:
    report = await asker.run_once()
    await asker.stop()
    click.echo(
        f"callbacks: asked {report.asked} by message, called {report.called}, "
        f"{report.expired} unanswered, {report.cancelled} cancelled, {report.failed} failed"
    )


@asynccontextmanager
async def _mail_intake(config: Config) -> AsyncIterator[EmailPoller | None]:
    """The mailbox poller with the intake it files tickets through (routing rules followed)."""
    if not config.channels.email.enabled:
        yield None
        return
    from hotline.services import build_services, running_services
    from hotline.workers import build_mail_poller

    # The letter intake (classifier, router) without a knowledge index or embedded workers.
    intake_only = config.model_copy(
        update={
            "knowledge": config.knowledge.model_copy(update={"enabled": False}),
            "dispatch": config.dispatch.model_copy(update={"embedded": "never"}),
        }
    )
    services = build_services(intake_only)
    async with running_services(services):
        yield build_mail_poller(config, services.pipeline, services.database, services.callbacks)


async def _poll_once(mail: EmailPoller) -> None:
    try:
        report = await mail.poll_once()
    except (ChannelError, StorageUnavailable) as e:  # the rest of the work still gets done
        click.echo(f"mail: not polled: {mask_personal_data(e.message)}", err=True)
        return
    click.echo(f"mail: {report.created} tickets, {report.supplemented} supplements, "
               f"{report.ignored} ignored, {report.rejected} rejected")  # fmt: skip


async def _drain(dispatcher: DispatchWorker, sweeper: DeadlineSweeper | None) -> None:
    if sweeper is not None:
        report = await sweeper.sweep()
        click.echo(f"warned {len(report.warned)}, escalated {len(report.escalated)}")
    delivered = failed = dead = 0
    while True:
        batch = await dispatcher.run_once()
        delivered, failed, dead = (
            delivered + batch.delivered,
            failed + batch.failed,
            dead + batch.dead,
        )
        if batch.claimed < dispatcher.settings.batch_size:
            break
    for sender in dispatcher.senders.values():
        await sender.close()
    click.echo(f"delivered {delivered}, failed {failed} (will retry), dead-lettered {dead}")


async def _drain_pushes(pusher: PushWorker) -> None:
    sent = failed = dead = 0
    while True:
        batch = await pusher.run_once()
        sent, failed, dead = sent + batch.sent, failed + batch.failed, dead + batch.dead
        if batch.claimed < pusher.batch_size:
            break
    await pusher.stop()
    click.echo(f"pushed {sent} to citizens, failed {failed} (will retry), dead-lettered {dead}")


class Background(Protocol):
    def start(self) -> None: ...
    async def stop(self) -> None: ...


async def _run_until_signalled(
    runner: Worker, beside: Sequence[Background], mail: EmailPoller | None
) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    runner.start()
    for background in beside:
        background.start()
    if mail is not None:
        mail.start()
    click.echo(f"worker {runner.dispatcher.name} running; SIGTERM to stop", err=True)
    try:
        await stop.wait()
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
        if mail is not None:
            await mail.stop()
        await runner.stop()
        for background in beside:
            await background.stop()
