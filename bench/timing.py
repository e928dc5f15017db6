"""Running work a number of tasks at a time, and its latency percentiles."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import numpy as np


async def in_parallel(
    items: Iterable[Any], work: Callable[[Any], Awaitable[None]], concurrency: int
) -> tuple[list[float], float]:
    """Run ``work`` on every item, ``concurrency`` at a time: (latencies in ms, seconds)."""
    queue: asyncio.Queue[Any] = asyncio.Queue()
    for item in items:
        queue.put_nowait(item)
    latencies: list[float] = []

    async def loop() -> None:
        while not queue.empty():
            item = queue.get_nowait()
            start = time.perf_counter()
            await work(item)
            latencies.append((time.perf_counter() - start) * 1000)

    start = time.perf_counter()
    await asyncio.gather(*(loop() for _ in range(concurrency)))
    return latencies, time.perf_counter() - start


def percentiles(values: list[float], label: str) -> dict[str, float]:
    """``<label>_p50_ms`` and ``<label>_p99_ms`` of ``values`` (milliseconds)."""
    if not values:
        return {}
    return {
        f"{label}_p50_ms": round(float(np.percentile(values, 50)), 1),
        f"{label}_p99_ms": round(float(np.percentile(values, 99)), 1),
    }
