"""Knowledge gaps: what citizens ask that the knowledge base could not answer.

Each unanswered question is masked (phone, ID and bank-card numbers, e-mail) *before* it is
stored or encoded, then joins the open group whose representative it is most similar to
(cosine ≥ :data:`GROUP_THRESHOLD`) or starts a new group. Editors see the groups by frequency
and mark a group handled, linked to the entry written for it.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.encoders.base import Encoder, encode_async
from hotline.errors import Conflict
from hotline.nlu.masking import mask_personal_data
from hotline.storage.models import GapStatus, KnowledgeGap, StaffUser
from hotline.storage.repos import knowledge as repo
from hotline.storage.types import utcnow

log = logging.getLogger(__name__)

GROUP_THRESHOLD = 0.8
MAX_EXAMPLES = 5
MAX_TEXT = 1000


class GapRecorder:
    """Records unanswered questions into similarity groups."""

    def __init__(
        self, encoder: Encoder, *, threshold: float = GROUP_THRESHOLD, max_groups: int = 2000
    ) -> None:
        self.encoder = encoder
        self.threshold = threshold
        # Only the most recently seen open groups are candidates, which bounds the work per
        # question; an old group that is asked again simply starts a fresh one.
        self.max_groups = max_groups

    async def record(
        self, session: AsyncSession, *, text: str, confidence: float | None = None
    ) -> KnowledgeGap | None:
        """Add ``text`` to its group (in the caller's transaction); ``None`` for empty text."""
        masked = mask_personal_data(text).strip()[:MAX_TEXT]
        if not masked:
            return None
        vector = (await encode_async(self.encoder, [masked]))[0]
        groups = await repo.open_gaps(session, limit=self.max_groups)
        match = _nearest(groups, vector, self.threshold)
        if match is None:
            gap = KnowledgeGap(
                representative=masked,
                vector=[round(float(v), 6) for v in vector],
                examples=[masked],
                best_confidence=confidence,
            )
            log.info("kb.gap.new")
        else:
            gap = await repo.get_gap(session, gap_id=match.id or 0, for_update=True)
            _join(gap, masked, confidence)
        session.add(gap)
        await session.flush()
        return gap


def _nearest(
    groups: list[KnowledgeGap], vector: np.ndarray[Any, Any], threshold: float
) -> KnowledgeGap | None:
    usable = [g for g in groups if len(g.vector) == len(vector)]
    if not usable:
        return None
    matrix = np.asarray([g.vector for g in usable], dtype=np.float32)
    similarities = matrix @ vector
    best = int(np.argmax(similarities))
    return usable[best] if similarities[best] >= threshold else None


def _join(gap: KnowledgeGap, text: str, confidence: float | None) -> None:
    gap.count += 1
    gap.last_seen = utcnow()
    gap.examples = [*[e for e in gap.examples if e != text], text][-MAX_EXAMPLES:]
    if confidence is not None:
        gap.best_confidence = max(confidence, gap.best_confidence or 0.0)


async def mark_handled(
    session: AsyncSession, *, actor: StaffUser, gap_id: int, entry_id: int | None
) -> KnowledgeGap:
    """Close an open group, linked to the entry that now answers it (checked to exist)."""
    gap = await repo.get_gap(session, gap_id=gap_id, for_update=True)
    if gap.status != GapStatus.OPEN:
        raise Conflict(f"knowledge gap {gap_id} is already handled")
    if entry_id is not None:
        await repo.get(session, entry_id=entry_id)
    gap.status, gap.entry_id = GapStatus.HANDLED, entry_id
    gap.handled_by, gap.handled_at = actor.id, utcnow()
    session.add(gap)
    await session.flush()
    return gap


def gap_view(gap: KnowledgeGap) -> dict[str, Any]:
    """How a gap group looks in the API and the CLI (no vector)."""
    return {
        "id": gap.id,
        "representative": gap.representative,
        "count": gap.count,
        "examples": gap.examples,
        "best_confidence": gap.best_confidence,
        "status": gap.status,
        "entry_id": gap.entry_id,
        "first_seen": gap.first_seen.isoformat(),
        "last_seen": gap.last_seen.isoformat(),
        "handled_at": gap.handled_at.isoformat() if gap.handled_at else None,
    }
