"""The encoder interface every retrieval and classification component uses."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Protocol

import numpy as np
import numpy.typing as npt

Vectors = npt.NDArray[np.float32]


class Encoder(Protocol):
    """Turns sentences into L2-normalised float32 vectors of a fixed dimension."""

    name: str
    dim: int

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> Vectors:
        """Encode ``texts`` in batches; returns an array of shape (len(texts), dim)."""
        ...


def normalise_rows(vectors: npt.NDArray[np.floating]) -> Vectors:
    """L2-normalise each row; zero rows stay zero."""
    out = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return (out / norms).astype(np.float32, copy=False)


async def encode_async(encoder: Encoder, texts: Sequence[str], batch_size: int = 64) -> Vectors:
    """Encode off the event loop so a long batch never blocks request handling."""
    return await asyncio.to_thread(encoder.encode, list(texts), batch_size)
