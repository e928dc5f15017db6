"""``hotline worker``: deliver the dispatch outbox and watch deadlines until stopped."""

from __future__ import annotations

import asyncio
import logging
import signal

import click

from hotline.channels.push import PushWorker
from hotline.cli.common import get_config, run_async
from hotline.observability import configure_logging
from hotline.routing.sweep import DeadlineSweeper
from hotline.routing.worker import DispatchWorker, Worker
from hotline.storage.db import Database

log = logging.getLogger(__name__)


@click.command()
@click.option("--once", is_flag=True, help="deliver what is due and sweep once, then exit")
@click.option("--no-sweep", is_flag=True, help="deliver only; leave deadlines to other workers")
@click.pass_context
@run_async
async def worker(ctx: click.Context, once: bool, no_sweep: bool) -> None:
    """Deliver dispatches (webhook, e-mail), warn about / escalate overdue tickets, and push
    later messages to citizens on WeChat (when that channel is enabled).

    Run as many as needed beside the servers on PostgreSQL; each row is sent by one worker at a
    time. SIGTERM or SIGINT lets the batch in flight finish, then exits.
    """
    from hotline.services import build_pusher, build_worker

    config = get_config(ctx)
    configure_logging(config.logging.level, config.logging.format)
    database = Database(config.database_url, pool_size=config.database.pool_size)
    runner = build_worker(config, database)
    pusher = build_pusher(config, database)
    if no_sweep:
        runner.sweeper = None
    try:
        if once:
            await _drain(runner.dispatcher, runner.sweeper)
            if pusher is not None:
                await _drain_pushes(pusher)
        else:
            await _run_until_signalled(runner, pusher)
    finally:
        await database.dispose()


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


async def _run_until_signalled(runner: Worker, pusher: PushWorker | None) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    runner.start()
    if pusher is not None:
        pusher.start()
    click.echo(f"worker {runner.dispatcher.name} running; SIGTERM to stop", err=True)
    try:
        await stop.wait()
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
        await runner.stop()
        if pusher is not None:
            await pusher.stop()
