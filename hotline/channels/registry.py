"""Built-in channels by name; each is built from its own config section and the intake port."""

from __future__ import annotations

from collections.abc import Callable

from hotline.channels.app import AppChannel
from hotline.channels.base import ChannelAdapter, IntakePort
from hotline.channels.letters import LettersChannel
from hotline.channels.phone_codes import PhoneCodes, key_of, rules_of
from hotline.config import Config

ChannelFactory = Callable[[Config, IntakePort], ChannelAdapter]


def _app(config: Config, port: IntakePort) -> ChannelAdapter:
    return AppChannel(config.channels.app, port)


def _letters(config: Config, port: IntakePort) -> ChannelAdapter:
    codes = None
    key = key_of(config)
    if config.letters_verify_phone and key is not None:
        codes = PhoneCodes(port.database, port.pipeline.outgoing, key, rules_of(config))
    return LettersChannel(
        config.channels.letters,
        config.channels.app,
        port,
        codes=codes,
        country_code=config.callbacks.country_code,
    )


def _open311(config: Config, port: IntakePort) -> ChannelAdapter:
    from hotline.channels.open311.adapter import Open311Adapter

    return Open311Adapter(
        config.channels.open311,
        port,
        database=port.database,
        taxonomy=port.taxonomy,
        timezone=config.intake.timezone,
    )


def _wechat(config: Config, port: IntakePort) -> ChannelAdapter:
    from hotline.channels.wechat.adapter import WeChatAdapter

    return WeChatAdapter(config.channels.wechat, port)


def _telegram(config: Config, port: IntakePort) -> ChannelAdapter:
    from hotline.channels.telegram.adapter import TelegramAdapter

    return TelegramAdapter(config.channels.telegram, port)


def _twilio(config: Config, port: IntakePort) -> ChannelAdapter:
    from hotline.channels.twilio.adapter import TwilioAdapter

    return TwilioAdapter(config.channels.twilio, port)


BUILTIN_CHANNELS: dict[str, tuple[Callable[[Config], bool], ChannelFactory]] = {
    "app": (lambda c: c.channels.app.enabled, _app),
    "letters": (lambda c: c.channels.letters.enabled, _letters),
    "open311": (lambda c: c.channels.open311.enabled, _open311),
    "wechat": (lambda c: c.channels.wechat.enabled, _wechat),
    "telegram": (lambda c: c.channels.telegram.enabled, _telegram),
    "twilio": (lambda c: c.channels.twilio.enabled, _twilio),
}


def enabled_channels(config: Config, port: IntakePort) -> list[ChannelAdapter]:
    """Adapters for every channel the configuration enables."""
    return [
        factory(config, port) for enabled, factory in BUILTIN_CHANNELS.values() if enabled(config)
    ]
