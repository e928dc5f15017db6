"""The value types that cross the retrieval API."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class KnowledgeDocument:
    """One published knowledge entry as the index sees it.

    ``questions[0]`` is the standard question, the rest are similar questions (paraphrases);
    every question is searched on its own and points back at ``entry_id``. ``keywords`` add
    keyword evidence to every question of the entry; ``answer`` (optional) is weak evidence
    that re-ranks the entry's questions (see :mod:`hotline.knowledge.retrieval.answers`).
    """

    entry_id: int
    questions: tuple[str, ...]
    keywords: tuple[str, ...] = ()
    version: int = 1
    answer: str = ""

    def __post_init__(self) -> None:
        if not self.questions or not all(q.strip() for q in self.questions):
            raise ValueError(f"entry {self.entry_id}: needs at least one non-empty question")


@dataclass(frozen=True)
class Hit:
    """One retrieved entry: calibrated ``score`` in [0, 1] plus the raw evidence behind it."""

    entry_id: int
    score: float
    matched_question: str
    dense: float
    sparse: float
