"""Value types shared by the NLU modules and re-exported by ``hotline.nlu.analyzer``."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "PHONE_KINDS",
    "PLACE_KINDS",
    "Emergency",
    "Entity",
    "RequestType",
    "Sentiment",
    "Urgency",
]


class RequestType(StrEnum):
    """What the citizen wants; values are the Chinese words used on tickets."""

    CONSULT = "咨询"
    HELP = "求助"
    COMPLAINT = "投诉"
    REPORT = "举报"
    SUGGESTION = "建议"
    PRAISE = "表扬"
    OTHER = "其他"


class Emergency(StrEnum):
    """The emergency line a message must be handed to, or NONE."""

    POLICE = "110"
    FIRE = "119"
    AMBULANCE = "120"
    TRAFFIC = "122"
    NONE = "none"


class Urgency(StrEnum):
    """How fast the request needs handling."""

    NORMAL = "normal"
    URGENT = "urgent"
    CRITICAL = "critical"


class Sentiment(StrEnum):
    """The citizen's tone."""

    POSITIVE = "positive"
    NEUTRAL = "neutral"
    NEGATIVE = "negative"
    ANGRY = "angry"


PHONE_KINDS = ("mobile", "landline")
PLACE_KINDS = ("address", "landmark", "community", "road", "street", "district")


@dataclass(frozen=True)
class Entity:
    """One extracted span of the normalized text.

    ``kind`` is one of mobile, landline, id_card, plate, address, district, street, community,
    road, landmark, datetime, money, email. ``value`` is normalized: digits-only phone, ISO
    date or datetime, decimal amount, canonical place name, upper-case plate without separator.
    """

    kind: str
    text: str
    start: int
    end: int
    value: str

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "kind": self.kind,
            "text": self.text,
            "start": self.start,
            "end": self.end,
            "value": self.value,
        }
