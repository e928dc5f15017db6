"""What the intake pipeline is configured with, and what it needs from the text analyser."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Protocol

from hotline.intake import policy
from hotline.phones import DEFAULT_COUNTRY


class Analysis(Protocol):
    """What the intake reads from ``hotline.nlu.analyzer.Analysis``."""

    @property
    def normalized(self) -> str: ...
    @property
    def request_type(self) -> str: ...
    @property
    def emergency(self) -> str: ...
    @property
    def urgency(self) -> str: ...
    @property
    def phones(self) -> tuple[str, ...]: ...
    @property
    def place(self) -> str | None: ...


class TextAnalyzer(Protocol):
    def analyze(self, text: str) -> Analysis: ...


@dataclass(frozen=True)
class IntakeSettings:
    timezone: str = "Asia/Shanghai"
    sequence_digits: int = 5
    max_text_chars: int = 4000
    conversation_idle: timedelta = timedelta(hours=24)
    #: a report of an open matter within this window is linked to it; zero disables
    duplicate_window: timedelta = timedelta(hours=72)
    policy: policy.PolicySettings = field(default_factory=policy.PolicySettings)
    #: channels whose later messages are pushed through their API (a ``citizen_push`` row)
    push_channels: frozenset[str] = frozenset()
    #: channels with no response to answer in (e-mail): the direct replies are queued for push
    #: too, in the transaction that stores them
    reply_push_channels: frozenset[str] = frozenset()
    #: phones are stored as E.164 under this country code (:mod:`hotline.phones`)
    country_code: str = DEFAULT_COUNTRY
