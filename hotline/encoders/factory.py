"""Build an encoder from a backend name (config or CLI) or from the name an artifact recorded."""

from __future__ import annotations

from hotline.encoders.base import Encoder
from hotline.errors import ConfigError

USE_ONNX = "use-onnx"
SENTENCE_TRANSFORMERS = "sentence-transformers"
BACKENDS = (USE_ONNX, SENTENCE_TRANSFORMERS)
_ST_PREFIX = "sentence-transformers:"


def load_encoder(backend: str, model: str | None = None) -> Encoder:
    """``use-onnx`` (model: optional path to the ONNX file) or ``sentence-transformers``."""
    if backend == USE_ONNX:
        from pathlib import Path

        from hotline.encoders.use_onnx import UseMultilingualOnnxEncoder

        return UseMultilingualOnnxEncoder(Path(model) if model else None)
    if backend == SENTENCE_TRANSFORMERS:
        if not model:
            raise ConfigError(
                "encoder.model: the sentence-transformers backend needs a model name or path"
            )
        from hotline.encoders.sentence_transformers import SentenceTransformerEncoder

        return SentenceTransformerEncoder(model)
    raise ConfigError(f"encoder.backend: {backend!r} is not one of {', '.join(BACKENDS)}")


def encoder_for_name(name: str) -> Encoder:
    """The encoder whose ``Encoder.name`` is ``name`` (as recorded in a model artifact)."""
    from hotline.encoders.use_onnx import UseMultilingualOnnxEncoder

    if name == UseMultilingualOnnxEncoder.name:
        return load_encoder(USE_ONNX)
    if name.startswith(_ST_PREFIX):
        return load_encoder(SENTENCE_TRANSFORMERS, name.removeprefix(_ST_PREFIX))
    raise ConfigError(f"unknown encoder name {name!r}; expected one built by load_encoder")
