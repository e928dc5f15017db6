"""The intake's knowledge step: answer a citizen's question from the published knowledge base.

The lead's intake policy compares the top candidate's ``confidence`` with two thresholds:
at or above :data:`ANSWER_THRESHOLD` it answers directly; between :data:`SUGGEST_THRESHOLD` and
that it offers "did you mean …"; below it opens a ticket (and records a gap). The defaults
come from the retrieval calibration (:mod:`hotline.knowledge.retrieval.calibration`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from hotline.intake.steps import KnowledgeAnswer
from hotline.knowledge.gaps import GapRecorder
from hotline.knowledge.retrieval.calibration import ANSWER_THRESHOLD, SUGGEST_THRESHOLD
from hotline.knowledge.sync import KnowledgeIndex
from hotline.knowledge.workflow import is_valid_at
from hotline.storage.db import Database
from hotline.storage.models import KnowledgeAnswerLog
from hotline.storage.repos import knowledge as repo
from hotline.storage.types import utcnow

__all__ = ["ANSWER_THRESHOLD", "SUGGEST_THRESHOLD", "KnowledgeAnswerer", "log_answer"]


class KnowledgeAnswerer:
    """Implements the intake's ``KnowledgeStep``: search, keep what is live now, best first."""

    def __init__(
        self,
        index: KnowledgeIndex,
        database: Database,
        *,
        limit: int = 3,
        gaps: GapRecorder | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.index = index
        self.database = database
        self.limit = limit
        self.gaps = gaps or GapRecorder(index.encoder)
        self.clock = clock

    async def answer(self, text: str) -> Sequence[KnowledgeAnswer]:
        """Up to ``limit`` candidates with calibrated confidences; empty when nothing matches."""
        if not text.strip():
            return ()
        # Ask for a few more than needed: some hits may have expired or been retired since
        # this process's index last caught up.
        hits = await self.index.search(text, k=self.limit + 5)
        if not hits:
            return ()
        async with self.database.read() as session:
            entries = {e.id: e for e in await repo.live(session, ids=[h.entry_id for h in hits])}
        now = self.clock()
        answers = []
        for hit in hits:
            entry = entries.get(hit.entry_id)
            live = entry.published if entry is not None else None
            if entry is None or live is None or not is_valid_at(live, now):
                continue
            answers.append(
                KnowledgeAnswer(
                    entry_id=hit.entry_id,
                    version=entry.published_version or 0,
                    question=hit.matched_question,
                    answer=live["answer"],
                    spoken=live.get("spoken_answer"),
                    confidence=hit.score,
                )
            )
        return answers[: self.limit]

    async def record_answer(
        self,
        session: AsyncSession,
        *,
        conversation_id: str,
        message_id: int | None,
        answer: KnowledgeAnswer,
    ) -> None:
        """Log which entry and version answered the citizen (in the caller's transaction)."""
        await log_answer(
            session, conversation_id=conversation_id, message_id=message_id, answer=answer
        )

    async def record_gap(self, session: AsyncSession, *, question: str) -> None:
        """Keep a question nothing answered (masked, grouped) for the editors."""
        await self.gaps.record(session, text=question)


async def log_answer(
    session: AsyncSession,
    *,
    conversation_id: str,
    message_id: int | None,
    answer: KnowledgeAnswer,
) -> KnowledgeAnswerLog:
    """Record that ``answer`` was given in a conversation (in the caller's transaction)."""
    row = KnowledgeAnswerLog(
        conversation_id=conversation_id,
        message_id=message_id,
        entry_id=answer.entry_id,
        version=answer.version,
        confidence=answer.confidence,
    )
    return await repo.log_answer(session, row)
