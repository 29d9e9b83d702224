"""From an answer to its workflow: which articles lead where, and what a question fills in."""

import pytest

from bot.qa.actions import Action, LeaveHints, actions_for, leave_hints
from retrieval.answer import Answer, Citation, Quote

SHIPPED = "kundulun_government_work_rules_2019"


def _answer(*numbers: int, declined: bool = False, book: str = SHIPPED) -> Answer:
    quotes = tuple(Quote(Citation(book, "工作规则", 1, "章", n, f"第{n}条", 1.0), ("……",), False) for n in numbers)
    return Answer("问题", quotes, declined)


@pytest.mark.parametrize(
    ("numbers", "expected"),
    [
        ((79,), (Action.LEAVE,)),
        ((51, 79), (Action.LEAVE,)),
        ((49, 50), (Action.TOPIC, Action.DEADLINE)),
        ((60,), (Action.DEADLINE,)),
        ((4,), ()),
    ],
)
def test_cited_articles_lead_to_their_workflow(numbers: tuple[int, ...], expected: tuple[Action, ...]) -> None:
    assert actions_for(_answer(*numbers)) == expected


def test_a_declined_answer_or_another_rulebook_leads_nowhere() -> None:
    assert actions_for(_answer(79, declined=True)) == ()
    assert actions_for(_answer(79, book="office_own_rules")) == ()


@pytest.mark.parametrize(
    ("question", "hints"),
    [
        (
            "我下周一到周三要去北京参加部里的会，走之前要先跟谁说？",
            LeaveHints("离包外出", None, "下周一", "下周三", "北京"),
        ),
        ("12月7日上午到12月9日去呼和浩特出差找谁批", LeaveHints("离包外出", None, "12月7日上午", "12月9日", "呼和浩特")),
        ("明天请病假，找谁批？", LeaveHints("病假", None, "明天", None, None)),
        ("下周的常务会议我来不了，要跟谁请假？", LeaveHints("会议请假", "常务会议", None, None, None)),
        ("请假要找谁？", LeaveHints(None, None, None, None, None)),
    ],
)
def test_a_question_says_what_it_can_of_the_leave(question: str, hints: LeaveHints) -> None:
    assert leave_hints(question) == hints
