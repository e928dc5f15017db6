"""The conversation policy: a small explicit state machine, free of I/O.

    idle ──request──▶ (awaiting_place) ──▶ (awaiting_contact) ──▶ confirming ──yes──▶ ticket, idle
      │   ▲                                                            │
      │   └──────────────────── cancel (from any state) ◀──────────────┘
      ├──knowledge answer──▶ answered ──"没解决"──▶ (the ticket path above)
      └──several close ones──▶ choosing ──number──▶ answered;  "都不是" ──▶ ticket path

    any ──"转人工"──▶ waiting_agent ──an agent takes it──▶ with_agent ──released──▶ idle
                          └──cancel──▶ idle            (the agents' desk: hotline.web.live_api)

At any point: an emergency is referred at once, and "what is the status of ticket N" is
answered without losing the place in the conversation. With an agent the bot stays quiet.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hotline.intake.handoff import HANDOFF, HANDOFF_CANCELLED, HANDOFF_SPOKEN
from hotline.intake.intents import Cues
from hotline.intake.messages import OutboundReply
from hotline.intake.steps import KnowledgeAnswer
from hotline.nlu.masking import mask_phone
from hotline.storage.models import ConversationState

State = ConversationState

GREETING = "您好，这里是12345政务服务便民热线。请问有什么可以帮您？请直接描述您的诉求。"
ASK_PLACE = "请问事情发生的具体地点在哪里？请说明区、街道、小区或道路门牌号。不清楚可回复“不清楚”。"
ASK_CONTACT = "请留下您的联系电话，便于承办单位联系您和回访。不方便留的请回复“匿名”。"
ASK_CONTACT_AGAIN = "没有识别到有效的电话号码，请输入11位手机号或带区号的固定电话，或回复“匿名”。"
CANCELLED = "好的，已取消本次诉求登记。如有需要，欢迎随时再联系我们。"
NOTHING_TO_CANCEL = "好的。如有其他需要，请直接告诉我。"
AMEND = "好的，请直接补充或更正您的诉求内容，我会重新为您确认。"
REFERRALS = {
    "110": "您反映的情况可能危及人身财产安全，请立即拨打110报警！",
    "119": "您反映的情况可能是火灾或需要紧急救援，请立即拨打119！",
    "120": "您反映的情况可能需要紧急医疗救助，请立即拨打120急救电话！",
    "122": "您反映的是交通事故，请立即拨打122交通事故报警电话，有人员受伤请同时拨打120！",
}
ASK_SOLVED = (
    "以上答复是否解决了您的问题？请回复“解决了”或“没解决”；没解决的我们为您登记工单转交办理。"
)
SOLVED = "很高兴能帮到您。如有其他问题，欢迎随时咨询12345。"
NONE_OF_THEM = {"都不是", "都不对", "没有", "不是", "0"}
UNSOLVED = {"没解决", "没有解决", "未解决", "不行", "没用", "没有用", "不是这个"}
SOLVED_WORDS = {"解决了", "已解决", "明白了", "知道了", "清楚了", "好的谢谢", "谢谢"}
#: request types the knowledge base can settle; complaints and reports always become tickets
_ANSWERABLE_TYPES = {"咨询", "求助", "建议", "其他"}
#: request types that concern a place in the city unless the classifier says otherwise
_PLACE_BOUND_TYPES = {"投诉", "举报", "求助"}


@dataclass(frozen=True)
class Turn:
    """Everything the policy needs to know about one inbound message."""

    text: str
    cues: Cues
    request_type: str = "其他"
    urgency: str = "normal"
    emergency: str = "none"
    place: str | None = None
    phones: tuple[str, ...] = ()
    #: a phone number already known for this citizen or given by the channel
    known_phone: str | None = None
    #: the classifier's view when it is confident, else ``None`` (then the request type decides)
    needs_place: bool | None = None
    #: the answer to a ticket-status question, prepared by the pipeline
    status_reply: str | None = None
    #: knowledge-base candidates for this text, best first (only looked up when idle)
    knowledge: tuple[KnowledgeAnswer, ...] = ()


@dataclass(frozen=True)
class PolicySettings:
    #: calibrated confidence at which the knowledge base answers directly
    answer_threshold: float = 0.70
    #: at or above this (and below the answer threshold) the citizen chooses among candidates
    suggest_threshold: float = 0.30
    max_choices: int = 3


@dataclass
class Step:
    state: State
    draft: dict[str, Any]
    replies: list[OutboundReply] = field(default_factory=list)
    create_ticket: bool = False
    emergency: str | None = None
    #: an answer given from the knowledge base, to be logged with its entry and version
    answered: KnowledgeAnswer | None = None
    #: the question got no answer that settled it: keep it for the editors
    gap: str | None = None
    #: the citizen asked for a person: the conversation joins the agents' live queue
    handoff: bool = False


def step(
    state: State, draft: dict[str, Any], turn: Turn, settings: PolicySettings | None = None
) -> Step:
    """Decide what to do with one message; returns the new state, draft and replies."""
    if turn.emergency in REFERRALS:
        return _refer(state, draft, turn.emergency)
    if state in (State.WAITING_AGENT, State.WITH_AGENT):
        return _with_people(state, draft, turn)
    if turn.cues.agent:
        asked = OutboundReply(HANDOFF, spoken=HANDOFF_SPOKEN, action="handoff")
        return Step(State.WAITING_AGENT, draft, [asked], handoff=True)
    if turn.status_reply:
        return _answer_status(state, draft, turn.status_reply)
    if turn.cues.cancel:
        reply = NOTHING_TO_CANCEL if state == State.IDLE else CANCELLED
        return Step(State.IDLE, {}, [OutboundReply(reply)])
    settings = settings or PolicySettings()
    if state == State.ANSWERED:
        return _on_answered(dict(draft), turn, settings)
    if state == State.CHOOSING:
        return _on_choosing(dict(draft), turn, settings)
    if state == State.IDLE:
        return _on_idle(turn, settings)
    return _HANDLERS[State(state)](dict(draft), turn)


def _with_people(state: State, draft: dict[str, Any], turn: Turn) -> Step:
    """Waiting for or talking to an agent: the bot is quiet; a waiting citizen may cancel."""
    if state == State.WAITING_AGENT and turn.cues.cancel:
        return Step(State.IDLE, draft, [OutboundReply(HANDOFF_CANCELLED)])
    return Step(state, draft, [])


def _refer(state: State, draft: dict[str, Any], service: str) -> Step:
    text = REFERRALS[service]
    reply = OutboundReply(text, spoken=text, action=f"transfer:{service}")
    return Step(state, draft, [reply], emergency=service)


def _answer_status(state: State, draft: dict[str, Any], status_reply: str) -> Step:
    replies = [OutboundReply(status_reply)]
    pending = _prompt_for(state, draft)
    if pending is not None:
        replies.append(pending)
    return Step(state, draft, replies)


def _on_idle(turn: Turn, settings: PolicySettings) -> Step:
    if turn.cues.greeting or not turn.text.strip():
        return Step(State.IDLE, {}, [OutboundReply(GREETING)])
    if turn.cues.yes or turn.cues.no or turn.cues.skip:
        return Step(State.IDLE, {}, [OutboundReply("请直接描述您要反映或咨询的事情。")])
    request = _request_draft(turn)
    if turn.request_type not in _ANSWERABLE_TYPES:
        return _ask_next(request)
    if not turn.knowledge:
        return _to_ticket(request, gap=turn.text)
    best = turn.knowledge[0]
    if best.confidence >= settings.answer_threshold:
        return _answer(request, best)
    close = [k for k in turn.knowledge if k.confidence >= settings.suggest_threshold]
    if close:
        return _offer_choices(request, close[: settings.max_choices])
    return _to_ticket(request, gap=turn.text)


def _request_draft(turn: Turn) -> dict[str, Any]:
    needs_place = turn.needs_place
    if needs_place is None:
        needs_place = turn.request_type in _PLACE_BOUND_TYPES
    return {
        "description": turn.text,
        "request_type": turn.request_type,
        "urgency": turn.urgency,
        "needs_place": needs_place,
        "place": turn.place,
        "phone": turn.phones[0] if turn.phones else turn.known_phone,
    }


def _answer(request: dict[str, Any], answer: KnowledgeAnswer) -> Step:
    reply = OutboundReply(answer.answer, spoken=answer.spoken or answer.answer)
    ask = OutboundReply(ASK_SOLVED, choices=("解决了", "没解决"))
    draft = {"request": request, "entry_id": answer.entry_id}
    return Step(State.ANSWERED, draft, [reply, ask], answered=answer)


def _offer_choices(request: dict[str, Any], close: list[KnowledgeAnswer]) -> Step:
    lines = ["您想咨询的是以下哪个问题？请回复序号："]
    lines += [f"{i}. {k.question}" for i, k in enumerate(close, start=1)]
    lines.append("都不是请回复“都不是”，我们为您登记工单。")
    choices = (*(str(i) for i in range(1, len(close) + 1)), "都不是")
    draft = {"request": request, "choices": [_answer_dict(k) for k in close]}
    return Step(State.CHOOSING, draft, [OutboundReply("\n".join(lines), choices=choices)])


def _on_answered(draft: dict[str, Any], turn: Turn, settings: PolicySettings) -> Step:
    bare = turn.text.strip().rstrip("。！!.")
    if bare in SOLVED_WORDS or turn.cues.yes:
        return Step(State.IDLE, {}, [OutboundReply(SOLVED)])
    if bare in UNSOLVED or turn.cues.no:
        request = draft.get("request", {})
        return _to_ticket(request, gap=str(request.get("description", "")))
    return _on_idle(turn, settings)  # a new question


def _on_choosing(draft: dict[str, Any], turn: Turn, settings: PolicySettings) -> Step:
    bare = turn.text.strip().rstrip("。！!.")
    choices = draft.get("choices", [])
    if bare.isdigit() and 1 <= int(bare) <= len(choices):
        return _answer(draft.get("request", {}), _answer_from(choices[int(bare) - 1]))
    if bare in NONE_OF_THEM or turn.cues.no:
        request = draft.get("request", {})
        return _to_ticket(request, gap=str(request.get("description", "")))
    return _on_idle(turn, settings)


def _to_ticket(request: dict[str, Any], *, gap: str) -> Step:
    result = _ask_next(dict(request))
    result.gap = gap
    return result


def _answer_dict(answer: KnowledgeAnswer) -> dict[str, Any]:
    return {
        "entry_id": answer.entry_id,
        "version": answer.version,
        "question": answer.question,
        "answer": answer.answer,
        "spoken": answer.spoken,
        "confidence": answer.confidence,
    }


def _answer_from(data: dict[str, Any]) -> KnowledgeAnswer:
    return KnowledgeAnswer(
        entry_id=int(data["entry_id"]),
        version=int(data["version"]),
        question=str(data["question"]),
        answer=str(data["answer"]),
        spoken=data.get("spoken"),
        confidence=float(data["confidence"]),
    )


def _on_awaiting_place(draft: dict[str, Any], turn: Turn) -> Step:
    if turn.cues.skip:
        draft["place_unknown"] = True
    else:
        draft["place"] = turn.place or turn.text.strip()[:200]
    if turn.phones and not draft.get("phone"):
        draft["phone"] = turn.phones[0]
    return _ask_next(draft)


def _on_awaiting_contact(draft: dict[str, Any], turn: Turn) -> Step:
    if turn.phones:
        draft["phone"] = turn.phones[0]
    elif turn.cues.skip:
        draft["anonymous"] = True
    else:
        return Step(State.AWAITING_CONTACT, draft, [OutboundReply(ASK_CONTACT_AGAIN)])
    return _ask_next(draft)


def _on_confirming(draft: dict[str, Any], turn: Turn) -> Step:
    if turn.cues.yes:
        return Step(State.IDLE, draft, create_ticket=True)
    if turn.cues.no:
        return Step(State.CONFIRMING, draft, [OutboundReply(AMEND)])
    draft["description"] = f"{draft.get('description', '')}\n补充：{turn.text}".strip()
    if turn.place and not draft.get("place"):
        draft["place"] = turn.place
    if turn.phones:
        draft["phone"] = turn.phones[0]
    return _ask_next(draft)


def _ask_next(draft: dict[str, Any]) -> Step:
    state = _missing(draft)
    prompt = _prompt_for(state, draft)
    return Step(state, draft, [prompt] if prompt else [])


def _missing(draft: dict[str, Any]) -> State:
    if draft.get("needs_place") and not draft.get("place") and not draft.get("place_unknown"):
        return State.AWAITING_PLACE
    if not draft.get("phone") and not draft.get("anonymous"):
        return State.AWAITING_CONTACT
    return State.CONFIRMING


def _prompt_for(state: State, draft: dict[str, Any]) -> OutboundReply | None:
    if state == State.AWAITING_PLACE:
        return OutboundReply(ASK_PLACE)
    if state == State.AWAITING_CONTACT:
        return OutboundReply(ASK_CONTACT)
    if state == State.CONFIRMING:
        return OutboundReply(confirmation(draft), choices=("确认", "取消"))
    return None


def confirmation(draft: dict[str, Any]) -> str:
    """The summary read back to the citizen before the ticket is created."""
    lines = [f"请确认您的诉求：{draft.get('description', '')}"]
    if draft.get("place"):
        lines.append(f"地点：{draft['place']}")
    phone = draft.get("phone")
    lines.append(f"联系电话：{mask_phone(phone)}" if phone else "联系电话：匿名")
    lines.append("确认提交请回复“确认”，需要修改请直接补充，放弃请回复“取消”。")
    return "\n".join(lines)


def ticket_created(number: str, *, note: str | None = None) -> OutboundReply:
    """What the citizen hears once the ticket exists."""
    text = f"已为您登记工单，编号 {number}。我们会尽快转交承办单位办理，您可随时凭编号查询进度。"
    if note:
        text = f"{text}{note}"
    spoken = f"已为您登记工单，编号{' '.join(number)}。"
    return OutboundReply(text, spoken=spoken)


def ticket_merged(
    number: str, *, original: str, status: str, due: str | None = None
) -> OutboundReply:
    """What the citizen hears when the same matter at the same place is already being handled.

    They are told to follow their own number: it answers with the original's progress, while
    the original's number belongs to another citizen and a chat only answers for one's own.
    """
    handling = f"当前状态：{status}" + (f"，办理时限：{due}前" if due else "")
    text = (
        f"您反映的问题已有市民反映，相关工单 {original} 正在办理（{handling}）。"
        f"您的反映已登记为工单 {number}，并入该工单合并办理，"
        f"您可随时凭编号 {number} 查询进度。"
    )
    spoken = f"您反映的问题已有工单正在办理，已为您合并登记，编号{' '.join(number)}。"
    return OutboundReply(text, spoken=spoken)


_HANDLERS = {
    State.AWAITING_PLACE: _on_awaiting_place,
    State.AWAITING_CONTACT: _on_awaiting_contact,
    State.CONFIRMING: _on_confirming,
}

__all__ = ["Step", "Turn", "confirmation", "step", "ticket_created", "ticket_merged"]


_REQUEST_STATES = {State.IDLE, State.ANSWERED, State.CHOOSING}


def may_be_a_request(state: str, cues: Cues, text: str) -> bool:
    """Whether this message may be a new request (worth classifying and looking up)."""
    if state not in _REQUEST_STATES or cues.status_query or cues.cancel or cues.agent:
        return False
    if cues.greeting or cues.yes or cues.no or cues.skip:
        return False
    bare = text.strip().rstrip("。！!.")
    return not bare.isdigit() and bare not in UNSOLVED | SOLVED_WORDS | NONE_OF_THEM
