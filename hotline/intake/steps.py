"""The pluggable steps of the intake: understanding, classification, knowledge and routing.

Each step is a small protocol. Where a component is not configured, its ``No…`` stand-in
does the honest thing: nothing is classified, nothing is answered from the knowledge base and
nothing is routed, so the ticket waits in the agents' triage queue.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from hotline.intake.messages import OutboundReply
from hotline.storage.models import Ticket


@dataclass(frozen=True)
class Suggestion:
    category_code: str
    subcategory_code: str
    score: float


@dataclass(frozen=True)
class ClassificationResult:
    """Ranked suggestions; ``confident`` means the top one may be applied without an agent."""

    suggestions: tuple[Suggestion, ...]
    confident: bool
    model_version: str
    needs_place: bool | None = None
    #: "110", "119", "120" or "122" when the request reads like an emergency to the model
    emergency: str | None = None

    @property
    def top(self) -> Suggestion | None:
        return self.suggestions[0] if self.suggestions else None


def model_emergency(result: ClassificationResult | None) -> str | None:
    """The line the model alone refers a message to (the intake's second signal), or None.

    Not gated by request type: the classifier's emergency head learnt enquiries and complaints
    *about* emergency services ("救护车收费太贵") as hard negatives, and a gate on the rules'
    request type cost recall (``bench/emergency_head_loso.py``).
    """
    return None if result is None else result.emergency


def referral(rules: str | None, result: ClassificationResult | None) -> str | None:
    """The line the intake refers a message to, or None: either signal refers.

    When both refer and name different lines (a mixed event: a crash with a fire, an assault
    with a wounded victim), the model's line is taken. Its emergency head learnt the lines from
    labelled sets the rules were never fitted to: on the four sets held out from the rules,
    with the head trained without the set in question, it put 393 of 420 emergencies on the
    right line against the rules' 377 (``bench/emergency_head_loso.py``, "as the intake
    decides"), and on the first run of a blind set 4 of its 6 disagreements with the rules.
    """
    return model_emergency(result) or (rules if rules and rules != "none" else None)


class ClassifierStep(Protocol):
    async def classify(self, text: str) -> ClassificationResult | None:
        """Suggest categories for ``text``; ``None`` when no classifier is available."""
        ...


@dataclass(frozen=True)
class KnowledgeAnswer:
    entry_id: int
    version: int
    question: str
    answer: str
    spoken: str | None
    confidence: float


class KnowledgeStep(Protocol):
    async def answer(self, text: str) -> Sequence[KnowledgeAnswer]:
        """Candidate answers, best first; empty when the knowledge base cannot settle it."""
        ...

    async def record_answer(
        self,
        session: AsyncSession,
        *,
        conversation_id: str,
        message_id: int,
        answer: KnowledgeAnswer,
    ) -> None:
        """Log which entry and version answered the citizen."""
        ...

    async def record_gap(self, session: AsyncSession, *, question: str) -> None:
        """Keep a question nothing answered, for the editors' "unanswered questions" list."""
        ...


@dataclass(frozen=True)
class RoutingDecision:
    unit_id: int
    due_at: datetime | None
    reason: str
    #: when to warn the unit that the due time is near
    warn_at: datetime | None = None


class RouterStep(Protocol):
    async def route(self, session: AsyncSession, ticket: Ticket) -> RoutingDecision | None:
        """Choose the responsible unit and deadline; ``None`` leaves the ticket to triage."""
        ...


class CallbackStep(Protocol):
    async def capture(
        self, session: AsyncSession, *, channel: str, address: str, text: str, state: str
    ) -> OutboundReply | None:
        """The reply when ``text`` answers a satisfaction callback (回访) open at this
        address, stored in the caller's transaction; None lets the intake go on as usual."""
        ...


class NoCallbacks:
    """Callbacks switched off: every message goes to the conversation as usual."""

    async def capture(
        self, session: AsyncSession, *, channel: str, address: str, text: str, state: str
    ) -> OutboundReply | None:
        return None


class NoClassifier:
    """No trained model configured: tickets go unclassified to agent triage."""

    async def classify(self, text: str) -> ClassificationResult | None:
        return None


class NoKnowledge:
    """No knowledge base configured: every request goes on to a ticket."""

    async def answer(self, text: str) -> Sequence[KnowledgeAnswer]:
        return ()

    async def record_answer(
        self,
        session: AsyncSession,
        *,
        conversation_id: str,
        message_id: int,
        answer: KnowledgeAnswer,
    ) -> None:
        return None

    async def record_gap(self, session: AsyncSession, *, question: str) -> None:
        return None


class NoRouter:
    """No routing rules configured: agents route from the triage queue."""

    async def route(self, session: AsyncSession, ticket: Ticket) -> RoutingDecision | None:
        return None
