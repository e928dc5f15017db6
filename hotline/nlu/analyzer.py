"""The NLU facade used by the intake pipeline: one call from raw text to an ``Analysis``."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from hotline.nlu.emergency import detect_emergency
from hotline.nlu.entities import EntityExtractor
from hotline.nlu.gazetteer import Gazetteer, load_gazetteer
from hotline.nlu.masking import mask_personal_data
from hotline.nlu.normalize import Normalizer
from hotline.nlu.request_type import classify_request_type, detect_sentiment, detect_urgency
from hotline.nlu.timeexpr import CHINA_TZ
from hotline.nlu.tokenizer import CityTokenizer
from hotline.nlu.types import (
    PHONE_KINDS,
    PLACE_KINDS,
    Emergency,
    Entity,
    RequestType,
    Sentiment,
    Urgency,
)

__all__ = [
    "Analysis",
    "Analyzer",
    "Emergency",
    "Entity",
    "RequestType",
    "Sentiment",
    "Urgency",
]

logger = logging.getLogger(__name__)

# How specific a place kind is, for choosing the place of a ticket.
_PLACE_RANK = {kind: rank for rank, kind in enumerate(reversed(PLACE_KINDS))}
_PLACE_GLUE = {"", " ", "的"}


@dataclass(frozen=True)
class Analysis:
    """Everything the NLU found in one message; offsets refer to ``normalized``."""

    text: str
    normalized: str
    tokens: tuple[str, ...]
    entities: tuple[Entity, ...]
    masked: str
    request_type: RequestType
    sentiment: Sentiment
    urgency: Urgency
    emergency: Emergency
    emergency_reason: str | None

    def entities_of(self, *kinds: str) -> tuple[Entity, ...]:
        """The entities of the given kinds, in text order."""
        return tuple(e for e in self.entities if e.kind in kinds)

    @property
    def phones(self) -> tuple[str, ...]:
        """Digits of every mobile and landline number, in text order, without duplicates."""
        return tuple(dict.fromkeys(e.value for e in self.entities_of(*PHONE_KINDS)))

    @property
    def place(self) -> str | None:
        """The most specific run of adjacent place mentions (江北区望江街道临波社区), or None."""
        runs: list[tuple[int, int, int]] = []  # start, end, best rank
        for entity in sorted(self.entities_of(*PLACE_KINDS), key=lambda e: e.start):
            rank = _PLACE_RANK[entity.kind]
            if runs and (
                entity.start <= runs[-1][1]
                or self.normalized[runs[-1][1] : entity.start] in _PLACE_GLUE
            ):
                start, end, best = runs[-1]
                runs[-1] = (start, max(end, entity.end), max(best, rank))
            else:
                runs.append((entity.start, entity.end, rank))
        if not runs:
            return None
        start, end, _ = max(runs, key=lambda run: (run[2], run[1] - run[0]))
        return self.normalized[start:end]

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form (the raw input is left out: ``normalized`` carries the text)."""
        return {
            "normalized": self.normalized,
            "tokens": list(self.tokens),
            "entities": [e.to_dict() for e in self.entities],
            "masked": self.masked,
            "request_type": self.request_type.value,
            "sentiment": self.sentiment.value,
            "urgency": self.urgency.value,
            "emergency": self.emergency.value,
        }


def _china_now() -> datetime:
    return datetime.now(CHINA_TZ)


class Analyzer:
    """Normalises, segments and analyses citizen messages; safe to share between threads."""

    def __init__(
        self,
        *,
        gazetteer_path: Path | None = None,
        extra_words: Iterable[str] = (),
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self.gazetteer: Gazetteer = load_gazetteer(gazetteer_path)
        self._normalizer = Normalizer()
        self._tokenizer = CityTokenizer(gazetteer=self.gazetteer, extra_words=extra_words)
        self._extractor = EntityExtractor(self.gazetteer)
        self._now = now or _china_now

    def warm_up(self) -> None:
        """Load jieba's dictionary, the city words and the OpenCC tables now."""
        self._normalizer.warm_up()
        self._tokenizer.warm_up()
        logger.info("nlu.analyzer.warm city=%s", self.gazetteer.city)

    def analyze(self, text: str) -> Analysis:
        """Analyse one message (CPU-bound and synchronous: run it off the event loop)."""
        normalized = self._normalizer(text)
        hit = detect_emergency(normalized)
        emergency = hit.service if hit else Emergency.NONE
        request_type = classify_request_type(normalized)
        if emergency is not Emergency.NONE and request_type in {
            RequestType.OTHER,
            RequestType.CONSULT,
        }:
            request_type = RequestType.HELP  # "请问我家着火了怎么办" asks for help, not information
        return Analysis(
            text=text,
            normalized=normalized,
            tokens=self._tokenizer.tokenize(normalized),
            entities=self._extractor.extract(normalized, self._now()),
            masked=mask_personal_data(normalized),
            request_type=request_type,
            sentiment=detect_sentiment(normalized),
            urgency=detect_urgency(normalized, emergency),
            emergency=emergency,
            emergency_reason=hit.reason if hit else None,
        )
