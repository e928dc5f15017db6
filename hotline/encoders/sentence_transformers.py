"""Any sentence-transformers model, by hub name or local path (e.g. BAAI/bge-small-zh-v1.5).

Sites with internet access usually prefer these; the import stays inside this module so the
default install does not need PyTorch.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from hotline.encoders.base import Vectors, normalise_rows
from hotline.errors import ConfigError


class SentenceTransformerEncoder:
    """Wraps ``sentence_transformers.SentenceTransformer`` behind the :class:`Encoder` interface."""

    def __init__(self, model: str, device: str = "cpu") -> None:
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as e:
            raise ConfigError(
                "encoder.backend: 'sentence-transformers' needs the optional dependency "
                "(pip install 'hotline[sentence-transformers]')"
            ) from e
        try:
            self._model: Any = SentenceTransformer(model, device=device)
        except OSError as e:
            raise ConfigError(
                f"encoder.model: cannot load sentence-transformers model {model!r}: {e}"
            ) from e
        self.name = f"sentence-transformers:{model}"
        # sentence-transformers 6 renamed the method; keep working with both.
        measure = (
            getattr(self._model, "get_embedding_dimension", None)
            or self._model.get_sentence_embedding_dimension
        )
        dim = measure()
        if dim is None:
            raise ConfigError(f"encoder.model: {model!r} does not report an embedding dimension")
        self.dim = int(dim)
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> Vectors:
        """Encode ``texts`` in batches of ``batch_size``."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            vectors = self._model.encode(
                list(texts), batch_size=batch_size, convert_to_numpy=True, show_progress_bar=False
            )
        return normalise_rows(vectors)
