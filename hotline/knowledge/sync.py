"""One search index per process, kept in step with the database through the change log.

The database is the source of truth; ``<data_dir>/knowledge-index`` is a cache of it.

* **Start-up** (:meth:`KnowledgeIndex.open`): load the newest snapshot, then replay the change
  log after its ``applied_seq``. A missing, corrupt or incompatible snapshot (another encoder)
  is rebuilt from the published entries.
* **Running** (:meth:`KnowledgeIndex.start`): a background task polls the change log every
  ``poll_seconds`` and applies new rows in ``seq`` order: *upsert* loads the entry's current
  published questions (or drops the entry when it is no longer live), *remove* drops it. A
  publish in any process is answerable in every process within about ``poll_seconds`` plus
  the encoding time. Applying is idempotent, so replays after a crash are harmless.
* **Persisting**: every ``save_seconds`` (when something changed) and at :meth:`stop`. Many
  processes may save into the same directory: the snapshot store writes a new generation
  directory under an ``flock`` and swaps ``manifest.json`` atomically (``os.replace``), so
  readers never see half a snapshot. A process whose index is *behind* the snapshot on disk
  does not save over it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path

from hotline.encoders.base import Encoder
from hotline.errors import ModelError
from hotline.knowledge.retrieval.documents import Hit, KnowledgeDocument
from hotline.knowledge.retrieval.index import HybridIndex
from hotline.knowledge.retrieval.text import TextAnalyzer
from hotline.storage.db import Database
from hotline.storage.models import ChangeAction, KnowledgeChange, KnowledgeEntry
from hotline.storage.repos import knowledge as repo

log = logging.getLogger(__name__)

INDEX_DIRECTORY = "knowledge-index"


def index_directory(data_dir: Path) -> Path:
    """Where the persisted index lives under the configured ``data_dir``."""
    return data_dir / INDEX_DIRECTORY


def document_for(entry: KnowledgeEntry) -> KnowledgeDocument | None:
    """What the index holds for an entry: its published questions, or ``None`` if not live."""
    live = entry.published
    if live is None or entry.id is None:
        return None
    questions = (live["question"], *live.get("similar_questions", []))
    return KnowledgeDocument(
        entry_id=entry.id,
        questions=tuple(questions),
        keywords=tuple(live.get("keywords", [])),
        version=entry.published_version or 0,
        # The answer is weak extra evidence that measurably helps colloquial queries.
        answer=str(live.get("answer", "")),
    )


async def build_from_database(
    database: Database, encoder: Encoder, analyzer: TextAnalyzer | None = None
) -> HybridIndex:
    """A fresh index of every published entry, at the change log's current ``seq``."""
    # The seq is read before the entries: changes committed in between are replayed later,
    # which is harmless because applying a change is idempotent.
    async with database.read() as session:
        seq = await repo.last_seq(session)
    async with database.read() as session:
        entries = await repo.live(session)
    docs = [doc for doc in map(document_for, entries) if doc is not None]
    index = await asyncio.to_thread(HybridIndex.build, docs, encoder=encoder, analyzer=analyzer)
    index.state.applied_seq = seq
    log.info("kb.index.built entries=%d seq=%d", len(docs), seq)
    return index


class KnowledgeIndex:
    """The process's :class:`HybridIndex`, loaded, followed and saved as described above."""

    def __init__(
        self,
        database: Database,
        encoder: Encoder,
        directory: Path,
        *,
        poll_seconds: float = 0.5,
        save_seconds: float = 300.0,
        analyzer: TextAnalyzer | None = None,
    ) -> None:
        self.database = database
        self.encoder = encoder
        #: one jieba tokenizer per process: building one costs about a second
        self.analyzer = analyzer or TextAnalyzer()
        self.directory = directory
        self.poll_seconds = poll_seconds
        self.save_seconds = save_seconds
        self._index: HybridIndex | None = None
        self._task: asyncio.Task[None] | None = None
        self._refresh_lock = asyncio.Lock()
        self._saved_seq = -1

    @property
    def index(self) -> HybridIndex:
        if self._index is None:
            raise ModelError("the knowledge index is not open; call open() or start() first")
        return self._index

    @property
    def applied_seq(self) -> int:
        return self.index.applied_seq

    async def open(self) -> None:
        """Load the snapshot (or rebuild it) and catch up with the change log."""
        if not (self.directory / "manifest.json").exists():
            log.info("kb.index.building reason=no snapshot in %s", self.directory)
            self._index = await build_from_database(self.database, self.encoder, self.analyzer)
            await self.refresh()
            return
        try:
            self._index = await asyncio.to_thread(
                HybridIndex.load, self.directory, encoder=self.encoder, analyzer=self.analyzer
            )
            self._saved_seq = self._index.applied_seq
            log.info("kb.index.loaded entries=%d seq=%d", len(self._index), self.applied_seq)
        except ModelError as e:
            log.warning("kb.index.rebuilding reason=%s", e.message)
            self._index = await build_from_database(self.database, self.encoder, self.analyzer)
        await self.refresh()

    async def start(self) -> None:
        """:meth:`open`, then follow the change log in the background until :meth:`stop`."""
        await self.open()
        self._task = asyncio.create_task(self._follow(), name="kb-index-follow")

    async def stop(self, *, save: bool = True) -> None:
        """Stop following and (by default) persist the index."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        if save and self._index is not None:
            await self.save()

    async def rebuild(self) -> None:
        """Replace the index with one built from the database (``kb reindex``)."""
        async with self._refresh_lock:
            self._index = await build_from_database(self.database, self.encoder, self.analyzer)

    async def refresh(self) -> int:
        """Apply every change-log row after ``applied_seq``; returns how many were applied."""
        async with self._refresh_lock:
            applied = 0
            while True:
                async with self.database.read() as session:
                    changes = await repo.changes_after(session, seq=self.applied_seq, limit=500)
                    ids = {c.entry_id for c in changes if c.action == ChangeAction.UPSERT}
                    live = {e.id: e for e in await repo.live(session, ids=ids)} if ids else {}
                if not changes:
                    return applied
                for change in changes:
                    await self._apply(change, live.get(change.entry_id))
                applied += len(changes)

    async def search(self, text: str, *, k: int = 5) -> list[Hit]:
        """The best ``k`` entries for ``text`` (searched off the event loop)."""
        return await asyncio.to_thread(self.index.search, text, k=k)

    async def save(self) -> int | None:
        """Persist the index unless the snapshot on disk is newer; returns the snapshot version."""
        index = self.index
        on_disk = _saved_applied_seq(self.directory)
        if on_disk is not None and on_disk > index.applied_seq:
            log.info("kb.index.save_skipped disk_seq=%d seq=%d", on_disk, index.applied_seq)
            return None
        version = await asyncio.to_thread(index.save, self.directory)
        self._saved_seq = index.applied_seq
        log.info("kb.index.saved version=%d seq=%d", version, index.applied_seq)
        return version

    async def _apply(self, change: KnowledgeChange, entry: KnowledgeEntry | None) -> None:
        index, seq = self.index, change.seq or 0
        doc = document_for(entry) if entry is not None else None
        if change.action == ChangeAction.UPSERT and doc is not None:
            await asyncio.to_thread(index.upsert, doc, seq=seq)
        elif change.entry_id in index:
            # Off the loop: the write lock waits for searches running in threads.
            await asyncio.to_thread(index.remove, change.entry_id, seq=seq)
        elif seq > index.applied_seq:
            # Nothing to drop (already gone in a rebuilt index); only the position moves.
            index.state.applied_seq = seq
        log.debug("kb.index.applied seq=%d action=%s entry=%d", seq, change.action, change.entry_id)

    async def _follow(self) -> None:
        last_save, failures = time.monotonic(), 0
        while True:
            # Back off while the database is unreachable instead of logging twice a second.
            await asyncio.sleep(min(self.poll_seconds * 2**failures, 30.0))
            try:
                await self.refresh()
                failures = 0
                if time.monotonic() - last_save >= self.save_seconds:
                    last_save = time.monotonic()
                    if self.applied_seq != self._saved_seq:
                        await self.save()
            except asyncio.CancelledError:
                raise
            except Exception:
                # The loop must outlive a database blip; the next poll retries from applied_seq.
                failures = min(failures + 1, 10)
                log.exception("kb.index.follow_failed seq=%d", self.applied_seq)


@contextlib.asynccontextmanager
async def running(index: KnowledgeIndex) -> AsyncIterator[KnowledgeIndex]:
    """Start following on entry, stop and save on exit (for an aiohttp ``cleanup_ctx``)."""
    await index.start()
    try:
        yield index
    finally:
        await index.stop()


def _saved_applied_seq(directory: Path) -> int | None:
    manifest = directory / "manifest.json"
    if not manifest.exists():
        return None
    try:
        return int(json.loads(manifest.read_text(encoding="utf-8"))["applied_seq"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
