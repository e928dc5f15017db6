"""Assembling the background workers and the clients that reach citizens and units.

The dispatch worker and deadline sweep, the live queue's wait limit, the citizen push worker with
one pusher per channel that pushes, the mailbox poller, and the bridge that connects callers to
agents; :mod:`hotline.services` puts them beside the pipeline, ``hotline worker`` runs them on
their own.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from hotline.callbacks.setup import links_of
from hotline.callbacks.setup import settings_from as callback_settings
from hotline.channels.held import HoldPolicy
from hotline.channels.phone_codes import key_of
from hotline.channels.push import Pusher, PushWorker
from hotline.config import Config, SmtpConfig
from hotline.intake.handoff import CallBridge
from hotline.intake.outgoing import Outgoing
from hotline.intake.pipeline import IntakePipeline
from hotline.intake.steps import CallbackStep
from hotline.intake.wait_limit import WaitLimitSweeper
from hotline.routing.delivery import EmailSender, Sender, SmtpSettings, WebhookSender
from hotline.routing.sweep import DeadlineSweeper
from hotline.routing.worker import DispatchWorker, Worker, WorkerSettings
from hotline.storage.db import Database
from hotline.storage.models import DeliveryMethod

if TYPE_CHECKING:
    from hotline.channels.email.config import EmailSmtpConfig
    from hotline.channels.email.outgoing import Postman
    from hotline.channels.email.poller import EmailPoller


def call_bridge(config: Config) -> CallBridge | None:
    """Bridges callers waiting for a person to the agent who takes them (Twilio)."""
    twilio = config.channels.twilio
    if not twilio.enabled:
        return None
    from hotline.channels.twilio.agents import TwilioCallBridge

    return TwilioCallBridge(
        account_sid=twilio.account_sid,
        auth_token=twilio.auth_token,
        public_base_url=twilio.public_base_url,
        api_base_url=twilio.api_base_url,
    )


def build_wait_sweeper(config: Config, database: Database, writer: Outgoing) -> WaitLimitSweeper:
    """Written citizens waiting too long for a person go back to the bot (each deadline sweep)."""
    return WaitLimitSweeper(
        database,
        writer,
        max_wait=timedelta(minutes=config.intake.agent_max_wait_minutes),
        poll_seconds=config.dispatch.sweep_seconds,
    )


def embeds_worker(config: Config, database: Database) -> bool:
    """Whether ``hotline serve`` delivers dispatches itself (the SQLite default)."""
    embedded = config.dispatch.embedded
    return embedded == "always" or (embedded == "auto" and database.dialect == "sqlite")


def build_worker(config: Config, database: Database) -> Worker:
    """Outbox delivery (webhook, e-mail) and the deadline sweep, as configured."""
    d = config.dispatch
    settings = worker_settings(config)
    smtp = _smtp_settings(d.smtp, sender=d.smtp.sender, key="dispatch.smtp")
    senders: dict[DeliveryMethod, Sender] = {
        DeliveryMethod.WEBHOOK: WebhookSender(timeout_seconds=d.webhook_timeout_seconds),
        DeliveryMethod.EMAIL: EmailSender(smtp),
    }
    sweeper = DeadlineSweeper(database, batch=settings.sweep_batch)
    return Worker(DispatchWorker(database, senders, settings), sweeper)


def build_pusher(config: Config, database: Database) -> PushWorker | None:
    """Pushes to citizens on channels with an API (WeChat, Telegram), when one is enabled."""
    pushers: dict[str, Pusher] = {}
    wechat, telegram = config.channels.wechat, config.channels.telegram
    if wechat.enabled:
        from hotline.channels.wechat.api import NoticeTemplate, WeChatApi

        notice = (
            NoticeTemplate(wechat.notice_template_id, wechat.notice_template_data)
            if wechat.notice_template_id
            else None
        )
        pushers["wechat"] = WeChatApi(
            app_id=wechat.app_id,
            app_secret=wechat.app_secret,
            base_url=wechat.api_base_url,
            notice=notice,
        )
    if telegram.enabled:
        from hotline.channels.telegram.pusher import TelegramPusher

        pushers["telegram"] = TelegramPusher(
            bot_token=telegram.bot_token, api_base_url=telegram.api_base_url
        )
    twilio = config.channels.twilio
    if twilio.enabled and twilio.sms_from:
        from hotline.channels.twilio.pusher import TwilioSmsPusher

        sms = TwilioSmsPusher(
            account_sid=twilio.account_sid,
            auth_token=twilio.auth_token,
            sms_from=twilio.sms_from,
            api_base_url=twilio.api_base_url,
        )
        pushers["sms"] = pushers["phone"] = sms  # a caller is told by SMS
    if config.channels.email.enabled:
        from hotline.channels.email.outgoing import EmailPusher

        pushers["email"] = EmailPusher(database, _postman(config))
    if not pushers:
        return None
    hold = HoldPolicy(
        max_hold=timedelta(days=wechat.max_hold_days), reach=callback_settings(config)
    )
    return PushWorker(
        database,
        pushers,
        worker_settings(config),
        hold=hold,
        links=links_of(config),
        codes=key_of(config),
    )


def push_channels(config: Config) -> frozenset[str]:
    """The channels whose later messages are pushed (see :func:`build_pusher`)."""
    channels = config.channels
    sms = channels.twilio.enabled and bool(channels.twilio.sms_from)
    return frozenset(
        name
        for name, enabled in (
            ("wechat", channels.wechat.enabled),
            ("telegram", channels.telegram.enabled),
            ("sms", sms),
            ("phone", sms),
            ("email", channels.email.enabled),
        )
        if enabled
    )


# -- the e-mail channel: a mailbox poller beside the workers (SQLite: in ``hotline serve``) ------


def build_mail_poller(
    config: Config,
    pipeline: IntakePipeline,
    database: Database,
    callbacks: CallbackStep | None = None,
) -> EmailPoller | None:
    """The citizens' mailbox poller, when ``channels.email`` is enabled."""
    if not config.channels.email.enabled:
        return None
    from hotline.channels.email.poller import mail_poller

    return mail_poller(config, pipeline, database, _postman(config), callbacks)


def _postman(config: Config) -> Postman:
    from hotline.channels.email.outgoing import Postman

    email = config.channels.email
    own = bool(email.smtp.host)
    server = email.smtp if own else config.dispatch.smtp
    key = "channels.email.smtp" if own else "dispatch.smtp"
    settings = _smtp_settings(server, sender=email.address, key=key)
    return Postman(settings, display_name=email.display_name)


def _smtp_settings(server: SmtpConfig | EmailSmtpConfig, *, sender: str, key: str) -> SmtpSettings:
    return SmtpSettings(
        host=server.host,
        port=server.port,
        sender=sender,
        username=server.username,
        password=server.password,
        security=server.security,
        ca_file=server.ca_file,
        timeout_seconds=server.timeout_seconds,
        config_key=key,
    )


def worker_settings(config: Config) -> WorkerSettings:
    d = config.dispatch
    return WorkerSettings(
        batch_size=d.batch_size,
        concurrency=d.concurrency,
        lease_seconds=d.lease_seconds,
        max_attempts=d.max_attempts,
        backoff_base_seconds=d.backoff_base_seconds,
        backoff_max_seconds=d.backoff_max_seconds,
        poll_seconds=d.poll_seconds,
        sweep_seconds=d.sweep_seconds,
    )
