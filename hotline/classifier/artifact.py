"""The on-disk classifier artifact: a directory with ``manifest.json`` and ``arrays.npz``.

Trust model: nothing is unpickled. The manifest is JSON, the arrays are read with
``allow_pickle=False``, and the manifest pins the SHA-256 of the arrays file, so a corrupt or
swapped file is refused. Loading a hostile artifact therefore cannot run code, but it can
still make the classifier suggest wrong categories: load artifacts only from places whose
writers you trust (the training job's output directory).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from hotline.classifier.emergency_head import LINES, EmergencyHead
from hotline.classifier.features import FeatureConfig, LexicalFeaturizer
from hotline.classifier.heads import Blend, LinearHead
from hotline.classifier.model import ModelInfo, TextClassifier
from hotline.classifier.training import FittedParts
from hotline.encoders.base import Encoder
from hotline.errors import ModelError

FORMAT = "hotline-text-classifier"
#: 2: the emergency head (``emergency_coef``, ``emergency_intercept``) joined the arrays
FORMAT_VERSION = 2
MANIFEST = "manifest.json"
ARRAYS = "arrays.npz"


def write_artifact(model: TextClassifier, path: Path) -> None:
    """Write ``model`` to the directory ``path``, replacing it atomically."""
    parts = model.parts
    arrays: dict[str, npt.NDArray[Any]] = {
        **parts.featurizer.to_arrays(),
        "lexical_coef": parts.lexical.coef,
        "lexical_intercept": parts.lexical.intercept,
        "blend_weights": parts.blend.weights,
        "blend_bias": parts.blend.bias,
    }
    if parts.embedding is not None:
        arrays["embedding_coef"] = parts.embedding.coef
        arrays["embedding_intercept"] = parts.embedding.intercept
    if parts.emergency is not None:
        arrays["emergency_coef"] = parts.emergency.head.coef
        arrays["emergency_intercept"] = parts.emergency.head.intercept
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        np.savez_compressed(staging / ARRAYS, allow_pickle=False, **arrays)
        manifest = _manifest(model, _sha256(staging / ARRAYS))
        (staging / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2))
        if path.exists():
            shutil.rmtree(path)
        staging.rename(path)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _manifest(model: TextClassifier, arrays_sha256: str) -> dict[str, Any]:
    info = model.info
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "labels": list(model.labels),
        "threshold": model.threshold,
        "features": model.parts.featurizer.config.to_json(),
        "encoder": None
        if info.encoder_name is None
        else {
            "name": info.encoder_name,
            "dim": info.encoder_dim,
            "max_chars": model.parts.encoder_max_chars,
        },
        "emergency": None if model.parts.emergency is None else {"lines": list(LINES)},
        "taxonomy_version": info.taxonomy_version,
        "data_hash": info.data_hash,
        "created_at": info.created_at,
        "metrics": info.metrics,
        "arrays_sha256": arrays_sha256,
    }


def artifact_version(path: Path) -> str:
    """A short identifier of a saved artifact (its arrays digest)."""
    return str(read_manifest(path)["arrays_sha256"])[:12]


def read_manifest(path: Path) -> dict[str, Any]:
    """The parsed manifest; ``ModelError`` if absent, unreadable or of another format."""
    manifest_path = path / MANIFEST
    if not manifest_path.is_file():
        raise ModelError(f"no classifier artifact at {path} (missing {MANIFEST}); train one first")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ModelError(f"classifier manifest {manifest_path} is unreadable: {e}") from e
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ModelError(f"{manifest_path} is not a {FORMAT} manifest")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ModelError(
            f"classifier artifact {path} has format version {manifest.get('format_version')!r}, "
            f"this code reads version {FORMAT_VERSION}; retrain the model"
        )
    return manifest


def read_artifact(
    path: Path, *, encoder: Encoder | None, expected_taxonomy_version: str | None
) -> TextClassifier:
    """Load and check an artifact written by :func:`write_artifact`."""
    manifest = read_manifest(path)
    _check_encoder(path, manifest.get("encoder"), encoder)
    found_taxonomy = manifest.get("taxonomy_version")
    if expected_taxonomy_version is not None and found_taxonomy != expected_taxonomy_version:
        raise ModelError(
            f"classifier artifact {path} was trained on taxonomy version {found_taxonomy!r}, "
            f"the running taxonomy is {expected_taxonomy_version!r}; retrain the model"
        )
    arrays = _read_arrays(path, str(manifest.get("arrays_sha256")))
    try:
        parts = _parts(manifest, arrays)
        info = ModelInfo(
            encoder_name=None if encoder is None else encoder.name,
            encoder_dim=None if encoder is None else encoder.dim,
            data_hash=str(manifest["data_hash"]),
            created_at=str(manifest["created_at"]),
            taxonomy_version=found_taxonomy,
            metrics=manifest.get("metrics"),
        )
        return TextClassifier(
            parts, encoder=encoder, info=info, threshold=float(manifest["threshold"])
        )
    except (KeyError, ValueError, TypeError, IndexError) as e:
        raise ModelError(f"classifier artifact {path} is inconsistent: {e!r}") from e


def _check_encoder(path: Path, recorded: Any, encoder: Encoder | None) -> None:
    if recorded is None and encoder is None:
        return
    if recorded is None:
        given = getattr(encoder, "name", "?")
        raise ModelError(
            f"classifier artifact {path} was trained without an encoder, but {given!r} "
            "was given; load it with encoder=None"
        )
    name, dim = recorded.get("name"), recorded.get("dim")
    if encoder is None:
        raise ModelError(f"classifier artifact {path} needs the encoder {name!r} (dim {dim})")
    if encoder.name != name or encoder.dim != dim:
        raise ModelError(
            f"classifier artifact {path} was trained with encoder {name!r} (dim {dim}), "
            f"not {encoder.name!r} (dim {encoder.dim}); use that encoder or retrain"
        )


def _read_arrays(path: Path, expected_sha256: str) -> dict[str, npt.NDArray[Any]]:
    arrays_path = path / ARRAYS
    try:
        actual = _sha256(arrays_path)
    except OSError as e:
        raise ModelError(f"classifier arrays {arrays_path} are unreadable: {e}") from e
    if actual != expected_sha256:
        raise ModelError(
            f"classifier arrays {arrays_path} do not match the manifest checksum "
            "(corrupt or modified file); retrain or restore the artifact"
        )
    try:
        with np.load(arrays_path, allow_pickle=False) as data:
            return {key: data[key] for key in data.files}
    except (OSError, ValueError, zipfile.BadZipFile) as e:
        raise ModelError(f"classifier arrays {arrays_path} are corrupt: {e}") from e


def _parts(manifest: dict[str, Any], arrays: dict[str, npt.NDArray[Any]]) -> FittedParts:
    labels = tuple(str(label) for label in manifest["labels"])
    featurizer = LexicalFeaturizer.from_arrays(
        FeatureConfig.from_json(manifest["features"]), arrays
    )
    lexical = LinearHead(arrays["lexical_coef"], arrays["lexical_intercept"])
    embedding = None
    embedding_dim = None
    if manifest.get("encoder") is not None:
        embedding = LinearHead(arrays["embedding_coef"], arrays["embedding_intercept"])
        embedding_dim = embedding.coef.shape[1]
    blend = Blend(arrays["blend_weights"], arrays["blend_bias"])
    expected = (len(labels), featurizer.n_features)
    if lexical.coef.shape != expected or blend.bias.shape != (len(labels),):
        raise ValueError(f"lexical head shape {lexical.coef.shape}, expected {expected}")
    max_chars = 0
    if manifest.get("encoder") is not None:
        max_chars = int(manifest["encoder"]["max_chars"])
    emergency = _emergency_head(manifest, arrays, featurizer.n_features + (embedding_dim or 0))
    return FittedParts(labels, featurizer, lexical, embedding, blend, max_chars, emergency)


def _emergency_head(
    manifest: dict[str, Any], arrays: dict[str, npt.NDArray[Any]], n_inputs: int
) -> EmergencyHead | None:
    recorded = manifest.get("emergency")
    if recorded is None:
        return None
    if list(recorded["lines"]) != list(LINES):
        raise ValueError(f"emergency lines {recorded['lines']}, this code knows {list(LINES)}")
    head = LinearHead(arrays["emergency_coef"], arrays["emergency_intercept"])
    if head.coef.shape != (len(LINES), n_inputs):
        raise ValueError(
            f"emergency head shape {head.coef.shape}, expected {(len(LINES), n_inputs)}"
        )
    return EmergencyHead(head)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
