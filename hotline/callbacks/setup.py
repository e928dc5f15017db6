"""Building the callbacks from configuration (for ``hotline serve`` and ``hotline worker``)."""

from __future__ import annotations

from datetime import timedelta

from hotline.callbacks.answers import DeadlineSource
from hotline.callbacks.links import RatingLinks
from hotline.callbacks.plan import Reach
from hotline.callbacks.service import Callbacks
from hotline.callbacks.settings import CallbackSettings
from hotline.callbacks.worker import CallbackWorker, Caller, CitizenWriter
from hotline.config import Config
from hotline.storage.db import Database


def settings_from(config: Config) -> CallbackSettings:
    c = config.callbacks
    return CallbackSettings(
        delay=timedelta(minutes=c.delay_minutes),
        first_hour=c.first_hour,
        last_hour=c.last_hour,
        timezone=config.intake.timezone,
        answer_window=timedelta(hours=c.answer_window_hours),
        call_window=timedelta(minutes=c.call_window_minutes),
        retry_after=timedelta(minutes=c.retry_after_minutes),
        max_attempts=c.max_attempts,
        close_when_content=c.close_when_content,
        reopen_when_unsatisfied=c.reopen_when_unsatisfied,
        max_reopens=c.max_reopens,
        reopen_days=c.reopen_days,
        reason_window=timedelta(hours=c.reason_window_hours),
        country_code=c.country_code,
    )


def reach_of(config: Config, push_channels: frozenset[str]) -> Reach:
    """What can reach citizens: chats that push or that the app reads, SMS, outbound calls.

    A caller's own conversation ("phone") is not a chat: callers are called back or sent SMS.
    """
    twilio = config.channels.twilio
    read_in_app = {"app"} if config.channels.app.enabled else set()
    return Reach(
        message_channels=frozenset((push_channels - {"phone"}) | read_in_app),
        sms=twilio.enabled and bool(twilio.sms_from),
        calls=twilio.enabled and bool(twilio.voice_from),
    )


def links_of(config: Config) -> RatingLinks | None:
    """The rating page's links, when ``callbacks.link.base_url`` is set (the config has
    already refused to load without a secret for them)."""
    link = config.callbacks.link
    if not link.base_url:
        return None
    return RatingLinks(link.base_url, link.secret.encode())


def build_callbacks(
    config: Config,
    database: Database,
    push_channels: frozenset[str],
    deadlines: DeadlineSource | None,
) -> Callbacks | None:
    if not config.callbacks.enabled:
        return None
    return Callbacks(
        database,
        settings_from(config),
        reach_of(config, push_channels),
        deadlines=deadlines,
        links=links_of(config),
    )


def build_callback_worker(
    config: Config, callbacks: Callbacks, writer: CitizenWriter, *, name: str
) -> CallbackWorker:
    return CallbackWorker(
        callbacks.database,
        callbacks.settings,
        writer=writer,
        caller=_caller(config),
        answering=callbacks.answering,
        links=callbacks.links,
        name=name,
        batch_size=config.callbacks.batch_size,
        lease_seconds=config.dispatch.lease_seconds,
        poll_seconds=config.callbacks.poll_seconds,
    )


def _caller(config: Config) -> Caller | None:
    twilio = config.channels.twilio
    if not (twilio.enabled and twilio.voice_from):
        return None
    from hotline.channels.twilio.caller import TwilioCaller

    return TwilioCaller(
        account_sid=twilio.account_sid,
        auth_token=twilio.auth_token,
        voice_from=twilio.voice_from,
        public_base_url=twilio.public_base_url,
        api_base_url=twilio.api_base_url,
    )
