"""Typed keys for what the application keeps (aiohttp ``web.AppKey``), no globals."""

from __future__ import annotations

import asyncio

from aiohttp import web

from hotline.config import Config
from hotline.intake.hub import ReplyHub
from hotline.intake.pipeline import IntakePipeline
from hotline.intake.queries import CitizenQueries
from hotline.observability import Metrics
from hotline.storage.db import Database

CONFIG = web.AppKey("config", Config)
DATABASE = web.AppKey("database", Database)
PIPELINE = web.AppKey("pipeline", IntakePipeline)
QUERIES = web.AppKey("queries", CitizenQueries)
METRICS = web.AppKey("metrics", Metrics)
HUB = web.AppKey("hub", ReplyHub)
BACKGROUND = web.AppKey("background", set[asyncio.Task[None]])
