"""The adapter contract every channel follows, and the registry of built-in channels.

An adapter is built from its own typed config section and a narrow port into the intake
(never the whole application), and returns the routes it serves.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from aiohttp import web

from hotline.callbacks.service import Callbacks
from hotline.classifier.taxonomy import Taxonomy
from hotline.intake.hub import ReplyHub
from hotline.intake.pipeline import IntakePipeline
from hotline.intake.queries import CitizenQueries
from hotline.storage.db import Database


@dataclass(frozen=True)
class IntakePort:
    """What a channel may use: submit messages, read conversations, wait for replies."""

    pipeline: IntakePipeline
    queries: CitizenQueries
    hub: ReplyHub
    data_dir: Path
    #: for channels that answer reads themselves (Open311's GET requests)
    database: Database
    taxonomy: Taxonomy
    #: satisfaction callbacks (回访), for the channels that ask by phone; None when off
    callbacks: Callbacks | None = None


class ChannelAdapter(Protocol):
    name: str

    def routes(self) -> Sequence[web.RouteDef]:
        """The aiohttp routes this channel serves."""
        ...
