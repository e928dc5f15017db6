"""Reading citizens' answers to the satisfaction question, and when they may be asked."""

from datetime import UTC, datetime

import pytest

from hotline.callbacks.ratings import read_answer
from hotline.callbacks.settings import CallbackSettings
from hotline.storage.models import Rating

S, B, U = Rating.SATISFIED, Rating.BASIC, Rating.UNSATISFIED


@pytest.mark.parametrize(
    ("text", "rating", "reason"),
    [
        ("1", S, None),
        ("１", S, None),  # full-width, as phone keyboards send it
        ("满意", S, None),
        ("非常满意！", S, None),
        ("满意的，谢谢", S, None),
        ("我很满意", S, None),
        ("2", B, None),
        ("2分", B, None),
        ("基本满意", B, None),
        ("还行吧", B, None),
        ("3", U, None),
        ("3 路灯没修", U, "路灯没修"),
        ("不满意，路灯还是不亮", U, "路灯还是不亮"),
        ("不满意路灯还没修", U, "路灯还没修"),
        ("很不满意!!", U, None),
        ("不太满意 处理太慢了", U, "处理太慢了"),
    ],
)
def test_answers_are_read_with_their_reason(text: str, rating: Rating, reason: str | None) -> None:
    answer = read_answer(text)
    assert answer is not None
    assert (answer.rating, answer.reason) == (rating, reason)


@pytest.mark.parametrize(
    "text",
    [
        "路灯还是不亮",  # a new message, not an answer
        "满意度怎么查",
        "一般来说不会这样",
        "不满足条件怎么办",
        "4",
        "12",
        "",
        "  ，。 ",
    ],
)
def test_other_messages_are_not_answers(text: str) -> None:
    assert read_answer(text) is None


def test_a_bare_key_is_not_an_answer_where_it_may_pick_a_choice() -> None:
    assert read_answer("2", keys=False) is None
    assert read_answer("基本满意", keys=False) == read_answer("基本满意")


@pytest.mark.parametrize(
    ("utc", "expected"),
    [
        (datetime(2026, 12, 7, 2, 0, tzinfo=UTC), datetime(2026, 12, 7, 2, 0, tzinfo=UTC)),
        # 23:30 in Shanghai: the next morning at 09:00 (01:00 UTC)
        (datetime(2026, 12, 7, 15, 30, tzinfo=UTC), datetime(2026, 12, 8, 1, 0, tzinfo=UTC)),
        # 07:00 in Shanghai: 09:00 the same day
        (datetime(2026, 12, 6, 23, 0, tzinfo=UTC), datetime(2026, 12, 7, 1, 0, tzinfo=UTC)),
        # 20:00 sharp is already closed
        (datetime(2026, 12, 7, 12, 0, tzinfo=UTC), datetime(2026, 12, 8, 1, 0, tzinfo=UTC)),
    ],
)
def test_citizens_are_asked_only_in_daytime(utc: datetime, expected: datetime) -> None:
    assert CallbackSettings().next_window(utc) == expected
