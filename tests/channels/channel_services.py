"""Services with a channel enabled (and no knowledge base), shared by the channel tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from hotline.services import Services, build_services
from tests.conftest import API_KEY, make_config


@asynccontextmanager
async def channel_services(
    tmp_path: Path, database_url: str, analyzer: Any, encoder: Any, **channels: Any
) -> AsyncIterator[Services]:
    config = make_config(
        tmp_path,
        database_url,
        channels={"app": {"api_key": API_KEY}, **channels},
        knowledge={"enabled": False},
    )
    built = build_services(config, analyzer=analyzer, encoder=encoder)
    try:
        yield built
    finally:
        await built.database.dispose()
