"""SQLModel tables, one module per aggregate; importing this package registers them all."""

from hotline.storage.models.callbacks import CallbackStatus, Rating, SatisfactionCallback
from hotline.storage.models.citizens import Citizen, ContactKind, ContactPoint
from hotline.storage.models.conversations import (
    Conversation,
    ConversationState,
    Direction,
    Message,
)
from hotline.storage.models.dispatch import (
    DeliveryMethod,
    Dispatch,
    DispatchKind,
    DispatchStatus,
)
from hotline.storage.models.knowledge import (
    ChangeAction,
    EntryStatus,
    GapStatus,
    KnowledgeAnswerLog,
    KnowledgeChange,
    KnowledgeEntry,
    KnowledgeGap,
    KnowledgeVersion,
)
from hotline.storage.models.open311 import Open311Key
from hotline.storage.models.phone_codes import PhoneCode
from hotline.storage.models.push import CitizenPush, HeldNotice, PushStatus
from hotline.storage.models.routing import RoutingRuleSet
from hotline.storage.models.staff import AuthToken, Role, StaffUser
from hotline.storage.models.tickets import (
    ClassificationFeedback,
    Ticket,
    TicketCounter,
    TicketEvent,
    TicketStatus,
)
from hotline.storage.models.units import Unit, UnitLevel

__all__ = [
    "AuthToken",
    "CallbackStatus",
    "ChangeAction",
    "Citizen",
    "CitizenPush",
    "ClassificationFeedback",
    "ContactKind",
    "ContactPoint",
    "Conversation",
    "ConversationState",
    "DeliveryMethod",
    "Direction",
    "Dispatch",
    "DispatchKind",
    "DispatchStatus",
    "EntryStatus",
    "GapStatus",
    "HeldNotice",
    "KnowledgeAnswerLog",
    "KnowledgeChange",
    "KnowledgeEntry",
    "KnowledgeGap",
    "KnowledgeVersion",
    "Message",
    "Open311Key",
    "PhoneCode",
    "PushStatus",
    "Rating",
    "Role",
    "RoutingRuleSet",
    "SatisfactionCallback",
    "StaffUser",
    "Ticket",
    "TicketCounter",
    "TicketEvent",
    "TicketStatus",
    "Unit",
    "UnitLevel",
]
