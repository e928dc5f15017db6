"""The conversation state machine, without any I/O."""

from typing import Any

from hotline.intake import policy
from hotline.intake.intents import read_cues
from hotline.intake.policy import State, Turn
from hotline.intake.steps import KnowledgeAnswer


def turn(text: str, **kwargs: Any) -> Turn:
    return Turn(text=text, cues=read_cues(text), **kwargs)


def test_greeting_gets_a_greeting_and_stays_idle() -> None:
    step = policy.step(State.IDLE, {}, turn("你好"))
    assert step.state == State.IDLE
    assert step.replies[0].text == policy.GREETING


def test_complaint_without_place_asks_for_place_then_contact_then_confirms() -> None:
    step = policy.step(State.IDLE, {}, turn("楼下烧烤店油烟太大了", request_type="投诉"))
    assert step.state == State.AWAITING_PLACE
    step = policy.step(step.state, step.draft, turn("江北区望江路18号", place="江北区望江路18号"))
    assert step.state == State.AWAITING_CONTACT
    assert step.replies[0].text == policy.ASK_CONTACT
    step = policy.step(step.state, step.draft, turn("13800138000", phones=("13800138000",)))
    assert step.state == State.CONFIRMING
    assert "138****8000" in step.replies[0].text
    assert "13800138000" not in step.replies[0].text
    step = policy.step(step.state, step.draft, turn("确认"))
    assert step.create_ticket
    assert step.state == State.IDLE
    assert step.draft["place"] == "江北区望江路18号"
    assert step.draft["description"] == "楼下烧烤店油烟太大了"


def test_enquiry_with_known_phone_goes_straight_to_confirmation() -> None:
    step = policy.step(
        State.IDLE, {}, turn("社保卡丢了怎么补办", request_type="咨询", known_phone="13912345678")
    )
    assert step.state == State.CONFIRMING
    assert not step.create_ticket


def test_classifier_view_of_place_overrides_request_type() -> None:
    step = policy.step(
        State.IDLE,
        {},
        turn("想问下路灯归谁管", request_type="咨询", needs_place=True, known_phone="13912345678"),
    )
    assert step.state == State.AWAITING_PLACE


def test_place_can_be_skipped_and_contact_can_be_anonymous() -> None:
    step = policy.step(State.IDLE, {}, turn("有人偷倒建筑垃圾", request_type="举报"))
    step = policy.step(step.state, step.draft, turn("不清楚"))
    assert step.state == State.AWAITING_CONTACT
    step = policy.step(step.state, step.draft, turn("我不知道写啥"))
    assert step.state == State.AWAITING_CONTACT
    assert step.replies[0].text == policy.ASK_CONTACT_AGAIN
    step = policy.step(step.state, step.draft, turn("匿名"))
    assert step.state == State.CONFIRMING
    assert "匿名" in step.replies[0].text


def test_extra_text_while_confirming_is_added_to_the_request() -> None:
    draft = {"description": "噪音扰民", "phone": "13800138000", "needs_place": False}
    step = policy.step(State.CONFIRMING, draft, turn("每天晚上十一点以后最吵"))
    assert step.state == State.CONFIRMING
    assert "补充：每天晚上十一点以后最吵" in step.draft["description"]
    assert not step.create_ticket


def test_cancel_from_any_state_clears_the_draft() -> None:
    for state in (State.AWAITING_PLACE, State.AWAITING_CONTACT, State.CONFIRMING):
        step = policy.step(state, {"description": "x"}, turn("取消"))
        assert step.state == State.IDLE
        assert step.draft == {}
        assert step.replies[0].text == policy.CANCELLED


def test_status_query_answers_and_repeats_the_pending_question() -> None:
    draft = {"description": "x", "needs_place": True}
    step = policy.step(
        State.AWAITING_PLACE,
        draft,
        turn("查询工单2026112200001进度", status_reply="工单 2026112200001 当前状态：已办结。"),
    )
    assert step.state == State.AWAITING_PLACE
    assert [r.text for r in step.replies] == [
        "工单 2026112200001 当前状态：已办结。",
        policy.ASK_PLACE,
    ]


def test_emergency_is_referred_at_once_whatever_the_state() -> None:
    for state in State:
        step = policy.step(state, {"description": "x"}, turn("着火了", emergency="119"))
        assert step.emergency == "119"
        assert step.replies[0].action == "transfer:119"
        assert "119" in step.replies[0].text
        assert not step.create_ticket


def test_cues_are_narrow() -> None:
    assert read_cues("你好！").greeting
    assert not read_cues("你好，我要投诉楼下噪音").greeting
    assert read_cues("取消").cancel
    assert not read_cues("取消的航班怎么退票，机场大巴停运了").cancel
    assert read_cues("2026112200001").status_query
    assert read_cues("帮我查一下 2026112200001 怎么样了").ticket_number == "2026112200001"
    assert not read_cues("我的电话是13800138000").status_query
    assert read_cues("我上次反映的问题处理得怎么样了").status_query
    assert read_cues("我上次反映的问题处理得怎么样了").ticket_number is None
    assert not read_cues("楼下烧烤店油烟太大，你们管管怎么样").status_query


def kb(entry_id: int, confidence: float, question: str = "社保卡怎么补办") -> KnowledgeAnswer:
    return KnowledgeAnswer(
        entry_id=entry_id,
        version=2,
        question=question,
        answer=f"答案{entry_id}",
        spoken=f"简答{entry_id}",
        confidence=confidence,
    )


def test_confident_knowledge_answer_is_given_and_asks_whether_it_helped() -> None:
    step = policy.step(
        State.IDLE, {}, turn("社保卡丢了咋办", request_type="咨询", knowledge=(kb(7, 0.9),))
    )
    assert step.state == State.ANSWERED
    assert step.replies[0].text == "答案7"
    assert step.replies[0].spoken == "简答7"
    assert step.answered is not None
    assert step.answered.entry_id == 7
    solved = policy.step(step.state, step.draft, turn("解决了"))
    assert solved.state == State.IDLE
    assert solved.replies[0].text == policy.SOLVED
    assert solved.gap is None


def test_unhelpful_answer_continues_to_a_ticket_and_records_a_gap() -> None:
    step = policy.step(
        State.IDLE,
        {},
        turn(
            "社保卡丢了咋办",
            request_type="咨询",
            knowledge=(kb(7, 0.9),),
            known_phone="13800138000",
        ),
    )
    step = policy.step(step.state, step.draft, turn("没解决"))
    assert step.state == State.CONFIRMING
    assert step.gap == "社保卡丢了咋办"
    assert "社保卡丢了咋办" in step.replies[0].text


def test_close_candidates_are_offered_as_choices() -> None:
    candidates = (kb(1, 0.6, "社保卡补办"), kb(2, 0.5, "社保卡激活"), kb(3, 0.2, "医保报销"))
    step = policy.step(
        State.IDLE, {}, turn("社保卡的事", request_type="咨询", knowledge=candidates)
    )
    assert step.state == State.CHOOSING
    assert "1. 社保卡补办" in step.replies[0].text
    assert "2. 社保卡激活" in step.replies[0].text
    assert "医保报销" not in step.replies[0].text
    picked = policy.step(step.state, step.draft, turn("2"))
    assert picked.state == State.ANSWERED
    assert picked.replies[0].text == "答案2"
    assert picked.answered is not None
    assert picked.answered.version == 2
    none = policy.step(step.state, step.draft, turn("都不是"))
    assert none.state in (State.AWAITING_CONTACT, State.CONFIRMING)
    assert none.gap == "社保卡的事"


def test_unanswered_question_goes_on_to_a_ticket_as_a_gap() -> None:
    low = policy.step(
        State.IDLE, {}, turn("人才公寓怎么申请", request_type="咨询", knowledge=(kb(1, 0.1),))
    )
    assert low.state == State.AWAITING_CONTACT
    assert low.gap == "人才公寓怎么申请"
    empty = policy.step(State.IDLE, {}, turn("人才公寓怎么申请", request_type="咨询"))
    assert empty.gap == "人才公寓怎么申请"


def test_complaints_are_never_settled_by_the_knowledge_base() -> None:
    step = policy.step(
        State.IDLE, {}, turn("投诉烧烤油烟", request_type="投诉", knowledge=(kb(1, 0.99),))
    )
    assert step.state == State.AWAITING_PLACE
    assert step.answered is None
    assert step.gap is None


def test_urgency_travels_with_the_request() -> None:
    step = policy.step(
        State.IDLE,
        {},
        turn(
            "家里停水两天了老人孩子没水喝", request_type="求助", urgency="urgent", known_phone="1"
        ),
    )
    assert step.draft["urgency"] == "urgent"
