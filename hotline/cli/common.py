"""Shared pieces of the command line: loading config, running coroutines, clean errors."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from functools import wraps
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import click

from hotline.config import Config, load_config
from hotline.errors import HotlineError

P = ParamSpec("P")
T = TypeVar("T")

DEFAULT_CONFIG = Path("config.yml")


def config_path(given: Path | None) -> Path | None:
    """``--config``, else ``$HOTLINE_CONFIG``, else ``./config.yml`` when present."""
    if given is not None:
        return given
    if env := os.environ.get("HOTLINE_CONFIG"):
        return Path(env)
    return DEFAULT_CONFIG if DEFAULT_CONFIG.is_file() else None


def get_config(ctx: click.Context) -> Config:
    """Load the configuration once per invocation; a bad file stops here with its message."""
    obj: dict[str, Any] = ctx.ensure_object(dict)
    if "config" not in obj:
        try:
            obj["config"] = load_config(config_path(obj.get("config_path")))
        except HotlineError as e:
            raise click.ClickException(f"configuration error: {e.message}") from e
    config: Config = obj["config"]
    return config


def run_async(func: Callable[P, Awaitable[T]]) -> Callable[P, T]:
    """Run an async command body, turning our errors into a one-line message and exit 1."""

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return asyncio.run(func(*args, **kwargs))  # type: ignore[arg-type]
        except HotlineError as e:
            raise click.ClickException(e.message) from e

    return wrapper
