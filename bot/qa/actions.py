"""From an answer to the workflow it is about.

A question answered from Art. 79 or 51 is often the first step of a leave report, one answered
from Art. 49 of a meeting topic, one answered from Art. 50 or 60 of a deadline. The answer offers
that workflow, and what the question already says (dates, destination, meeting type) fills the
form where it can: "我下周一到周三去北京开会，要跟谁报备？" opens a 离包外出 form with the dates and
北京 filled in. A field the question does not settle, or settles in a way the form refuses (a
start in the past for 离包外出), is left for the person to fill, as when the form is opened by
/leave.
"""

import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

import jieba.posseg
from sqlalchemy.orm import Session

from bot.db import Person
from bot.errors import InvalidInput
from bot.leave import service as leave
from bot.leave.models import LeaveRequest
from bot.leave.routing import KINDS, MEETINGS
from bot.topics import service as topics
from bot.topics.models import Topic
from bot.topics.routing import MEETING_TYPES
from knowledge.library import SHIPPED_DIR
from retrieval.answer import Answer

# The workflows are those of the shipped rulebook; an office's own book numbers its articles otherwise.
WORKFLOW_RULEBOOK = next(SHIPPED_DIR.glob("*.txt")).stem


class Action(StrEnum):
    LEAVE = "leave"
    TOPIC = "topic"
    DEADLINE = "deadline"


ACTION_OF_ARTICLE = {79: Action.LEAVE, 51: Action.LEAVE, 49: Action.TOPIC, 50: Action.DEADLINE, 60: Action.DEADLINE}
LABEL = {Action.LEAVE: "📝 填写请假报备", Action.TOPIC: "📋 申报议题", Action.DEADLINE: "⏰ 登记期限"}
DEADLINE_HOW = (
    "登记期限：发送 /deadline 事项，N个工作日，@部门（例如：/deadline 报送会议纪要，5个工作日，@区财政局）；"
    "征求意见（第六十条，5个工作日）：发送 /consult 事项，@部门。"
)


def actions_for(answer: Answer) -> tuple[Action, ...]:
    """The workflows an answer's articles lead to (a declined answer leads nowhere)."""
    if answer.declined:
        return ()
    found: list[Action] = []
    for citation in answer.citations:
        action = ACTION_OF_ARTICLE.get(citation.article_number)
        if citation.rulebook_key == WORKFLOW_RULEBOOK and action is not None and action not in found:
            found.append(action)
    return tuple(found)


@dataclass(frozen=True)
class LeaveHints:
    """What a question says of the leave it is about; None where it says nothing."""

    kind: str | None
    meeting: str | None
    start: str | None
    end: str | None
    destination: str | None


_DATE = re.compile(
    r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|(?:\d{1,2}月)?\d{1,2}[日号]|\d{1,2}月|(?:下|本|这|下个)?(?:周|星期|礼拜)[一二三四五六日天]"
    r"|大后天|后天|明天|今天"
)
_HALF = re.compile(r"上午|下午")
# Places that are home: going there is not 离包外出.
_HOME = ("昆都仑", "包头", "本地", "区里")
_KIND_WORDS = (
    ("出国（境）", re.compile(r"出国|出境|国外|境外|港澳台")),
    ("会议请假", re.compile(r"不能(参加|出席|列席)|来不了|参加不了|缺席")),
    ("病假", re.compile(r"病|住院|看医生|身体不舒服")),
    ("休假", re.compile(r"休假|年假|休息几天")),
    ("事假", re.compile(r"事假|家里有事|私事")),
    ("离包外出", re.compile(r"出差|外出|离包|开会|培训|学习|考察|调研|去外地")),
)


def leave_hints(question: str) -> LeaveHints:
    kind = next((kind for kind, pattern in _KIND_WORDS if pattern.search(question)), None)
    meeting = next((m for m in MEETINGS if m in question), None) if kind == "会议请假" else None
    days = [m.group() for m in _DATE.finditer(question)]
    half = [m.group() for m in _HALF.finditer(question)]
    places = [
        pair.word for pair in jieba.posseg.cut(question) if pair.flag == "ns" and not pair.word.startswith(_HOME)
    ]
    if kind is None and places:
        kind = "离包外出"
    if len(days) > 1 and days[0].startswith(("下周", "下星期", "下礼拜")) and days[1][0] in "周星礼":
        days[1] = "下" + days[1]  # "下周一到周三": the Wednesday of next week too
    start = days[0] + (half[0] if half else "") if days else None
    end = days[1] + (half[1] if len(half) > 1 else "") if len(days) > 1 else None
    return LeaveHints(kind, meeting, start, end, places[0] if places else None)


def _try(session: Session, fill: object) -> None:
    """Fill one field in a savepoint: a value the form refuses leaves the field for the person."""
    savepoint = session.begin_nested()
    try:
        fill()  # type: ignore[operator]
    except InvalidInput:
        savepoint.rollback()
    else:
        savepoint.commit()


def open_leave_form(session: Session, person: Person, question: str, today: date) -> int:
    """The person's leave form (their unfinished one, or a new one), filled from the question
    where the form is at a field the question settles."""
    request_id = leave.open_form(session, person)
    hints = leave_hints(question)
    request = session.get(LeaveRequest, request_id)
    assert request is not None
    if request.step == leave.Step.KIND and hints.kind in KINDS:
        _try(session, lambda: leave.choose_kind(session, person, request_id, hints.kind))
    if request.step == leave.Step.MEETING and hints.meeting:
        _try(session, lambda: leave.choose_meeting(session, person, request_id, hints.meeting))
    for step, value in (
        (leave.Step.START, hints.start),
        (leave.Step.END, hints.end),
        (leave.Step.DESTINATION, hints.destination),
    ):
        if request.step == step and value:
            _try(session, lambda value=value: leave.enter_text(session, person, request_id, value, today))
    return request_id


def open_topic_form(session: Session, person: Person, question: str) -> int:
    """The person's topic form, with the meeting type the question names chosen."""
    topic_id = topics.open_form(session, person)
    meeting = next((m for m in sorted(MEETING_TYPES, key=len, reverse=True) if m in question), None)
    topic = session.get(Topic, topic_id)
    assert topic is not None
    if meeting is not None and topic.step == topics.Step.MEETING:
        _try(session, lambda: topics.choose(session, person, topic_id, topics.Step.MEETING, meeting))
    return topic_id
