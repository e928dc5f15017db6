"""Snapshots of a :class:`HybridIndex` on disk, and how server processes stay consistent.

Layout of an index directory::

    manifest.json          {"format", "version", "generation", "encoder", "dim", "applied_seq", ...}
    gen-000007/            one snapshot: dense.faiss, words.npz, chars.npz, answers.npz,
                           answer_words.npz, entries.json

Consistency design (the database is the source of truth, the directory a cache of it):

* Every publish or retire appends a row to the knowledge change log in the database; its
  sequence number ``seq`` increases monotonically. The process that handles the edit applies
  it to its own index at once (``upsert(doc, seq=...)`` / ``remove(entry_id, seq=...)``).
* Every other process polls (or LISTENs for) change-log rows with ``seq > index.applied_seq``
  and applies them in order. Applying is idempotent: a change whose ``seq`` is not above
  ``applied_seq`` is skipped, so a replay after a crash is harmless.
* A snapshot records ``applied_seq``. ``save_index`` writes a new generation directory, then
  atomically replaces ``manifest.json`` (``os.replace``) with ``version`` + 1; readers never
  see a half-written snapshot, and concurrent writers are serialised by an ``flock``. The
  previous generation is kept so a reader that read the old manifest can still finish.
* At start-up a process loads the newest snapshot (no re-encoding) and replays the change log
  after its ``applied_seq``. ``snapshot_version`` lets a long-running process notice a full
  rebuild (``version`` above the one it loaded) and swap in the new index.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from hotline.encoders.base import Encoder
from hotline.errors import ModelError
from hotline.knowledge.retrieval.answers import AnswerEvidence
from hotline.knowledge.retrieval.calibration import Calibration
from hotline.knowledge.retrieval.dense import DenseIndex
from hotline.knowledge.retrieval.documents import KnowledgeDocument
from hotline.knowledge.retrieval.sparse import InvertedIndex
from hotline.knowledge.retrieval.text import TextAnalyzer

if TYPE_CHECKING:
    from hotline.knowledge.retrieval.index import HybridIndex

FORMAT = 1
MANIFEST = "manifest.json"


def snapshot_version(directory: Path) -> int:
    """Version of the newest snapshot in ``directory``; 0 when there is none."""
    path = directory / MANIFEST
    if not path.exists():
        return 0
    return int(_read_manifest(path)["version"])


def save_index(index: HybridIndex, directory: Path) -> int:
    """Write ``index`` as the next generation; returns the new version."""
    directory.mkdir(parents=True, exist_ok=True)
    with _exclusive(directory):
        version = snapshot_version(directory) + 1
        generation = f"gen-{version:06d}"
        staging = directory / f".{generation}.tmp"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir()
        _write_generation(index, staging)
        staging.rename(directory / generation)
        manifest = {
            "format": FORMAT,
            "version": version,
            "generation": generation,
            "encoder": index.encoder.name,
            "dim": index.encoder.dim,
            "applied_seq": index.state.applied_seq,
            "entries": len(index),
        }
        tmp = directory / f".{MANIFEST}.tmp"
        tmp.write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        os.replace(tmp, directory / MANIFEST)
        _prune(directory, keep={generation, f"gen-{version - 1:06d}"})
    return version


def load_index(
    directory: Path, *, encoder: Encoder, analyzer: TextAnalyzer | None = None
) -> HybridIndex:
    """Load the snapshot the manifest points at; ModelError when it is unusable."""
    from hotline.knowledge.retrieval.index import FusionSettings, HybridIndex, IndexState

    manifest = _read_manifest(directory / MANIFEST)
    if manifest.get("format") != FORMAT:
        raise ModelError(f"{directory}: index format {manifest.get('format')}, expected {FORMAT}")
    if manifest.get("encoder") != encoder.name or manifest.get("dim") != encoder.dim:
        raise ModelError(
            f"{directory}: index built with encoder {manifest.get('encoder')!r} "
            f"(dim {manifest.get('dim')}), but the configured encoder is {encoder.name!r} "
            f"(dim {encoder.dim}); rebuild the index"
        )
    generation = directory / str(manifest["generation"])
    try:
        meta = json.loads((generation / "entries.json").read_text(encoding="utf-8"))
        state = IndexState(
            dense=DenseIndex.load(generation / "dense.faiss", encoder.dim),
            answers=_load_answers(generation, encoder.dim),
            words=_load_sparse(generation / "words.npz"),
            chars=_load_sparse(generation / "chars.npz"),
            docs={e["entry_id"]: _doc(e) for e in meta["entries"]},
            entry_slots={e["entry_id"]: tuple(e["slots"]) for e in meta["entries"]},
            next_slot=int(meta["next_slot"]),
            applied_seq=int(manifest["applied_seq"]),
            calibration=Calibration(**meta["calibration"]),
            settings=FusionSettings(**meta["settings"]),
        )
        return HybridIndex(encoder=encoder, state=state, analyzer=analyzer)
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as e:
        raise ModelError(f"{generation}: corrupt knowledge index snapshot: {e}") from e


def _write_generation(index: HybridIndex, path: Path) -> None:
    state = index.state
    state.dense.save(path / "dense.faiss")
    np.savez(path / "answers.npz", **state.answers.arrays())
    sparse_indexes = (
        ("words", state.words),
        ("chars", state.chars),
        ("answer_words", state.answers.words),
    )
    for name, sparse in sparse_indexes:
        arrays: dict[str, Any] = dict(sparse.state())
        np.savez(path / f"{name}.npz", **arrays)
    entries = [
        {**asdict(doc), "slots": list(state.entry_slots[entry_id])}
        for entry_id, doc in state.docs.items()
    ]
    meta = {
        "entries": entries,
        "next_slot": state.next_slot,
        "calibration": state.calibration.to_dict(),
        "settings": asdict(state.settings),
    }
    (path / "entries.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")


def _doc(raw: dict[str, Any]) -> KnowledgeDocument:
    return KnowledgeDocument(
        entry_id=int(raw["entry_id"]),
        questions=tuple(raw["questions"]),
        keywords=tuple(raw["keywords"]),
        version=int(raw["version"]),
        answer=str(raw.get("answer", "")),
    )


def _load_answers(generation: Path, dim: int) -> AnswerEvidence:
    with np.load(generation / "answers.npz", allow_pickle=False) as data:
        vectors, present = data["vectors"], data["present"]
    if vectors.ndim != 2 or vectors.shape[1] != dim or len(present) != len(vectors):
        raise ValueError(f"answer vectors have shape {vectors.shape}, expected (n, {dim})")
    return AnswerEvidence(dim, vectors, present, _load_sparse(generation / "answer_words.npz"))


def _load_sparse(path: Path) -> InvertedIndex:
    with np.load(path, allow_pickle=False) as data:
        return InvertedIndex.from_state({key: data[key] for key in data.files})


def _read_manifest(path: Path) -> dict[str, Any]:
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ModelError(f"{path}: cannot read the knowledge index manifest: {e}") from e
    if not isinstance(manifest, dict) or "version" not in manifest:
        raise ModelError(f"{path}: not a knowledge index manifest")
    return manifest


@contextlib.contextmanager
def _exclusive(directory: Path) -> Iterator[None]:
    with (directory / ".lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _prune(directory: Path, keep: set[str]) -> None:
    for child in directory.glob("gen-*"):
        if child.name not in keep:
            shutil.rmtree(child, ignore_errors=True)
