"""Meeting topics as a state machine stored in the database.

    draft ──submit──> in_review (stage 0 … n-1 of the Art. 49 chain) ──last 通过──> accepted
      ^                  │ 退回修改                │ 不予上会                        │ outcome recorded
      └──revise──── returned                 rejected                        concluded

Leave is the one-stage case of the same review chain. Every move is a compare-and-set on the
topic's version (bot.workflow.transitions): a review or decision is legal once, at its stage, from
that stage's person. The messages it causes go into the outbox in the same transaction; nothing
here commits.
"""

from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from enum import StrEnum
from typing import Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot import spreadsheet
from bot.calendar.dates import parse_day
from bot.db import Person
from bot.deadlines import service as deadlines
from bot.errors import InvalidInput, NotFound, PermissionDenied
from bot.roster import Position, departments
from bot.topics.materials import MATTER_KINDS, checklist_for, item
from bot.topics.models import Topic
from bot.topics.routing import MEETING_TYPES, chain, deputy_for
from bot.workflow import forms, inputs, outbox, review, transitions
from bot.workflow.context import WorkContext
from bot.workflow.models import CardRole, Subject, WorkflowEvent  # noqa: F401
from bot.workflow.review import Verdict
from bot.workflow.transitions import HISTORY_COLUMNS, HistoryRow, log, transition
from knowledge import article_label

MAX_TITLE, MAX_TEXT = 100, 1000
PREFIX = Subject.TOPIC  # prompts of this workflow are "topic:<purpose>"
INPUT_PURPOSE = "topic:field"
MEETING_DATE_PURPOSE = "topic:meeting_date"


class TopicStatus(StrEnum):
    DRAFT = "draft"
    IN_REVIEW = "in_review"
    ACCEPTED = "accepted"
    RETURNED = "returned"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    CONCLUDED = "concluded"


class Outcome(StrEnum):
    """What the meeting decided (code letters go into callback data)."""

    PASSED = "通过"
    PASSED_IN_PRINCIPLE = "原则通过"
    DEFERRED = "暂缓"
    NOT_PASSED = "不通过"


OUTCOMES = {"p": Outcome.PASSED, "a": Outcome.PASSED_IN_PRINCIPLE, "d": Outcome.DEFERRED, "n": Outcome.NOT_PASSED}
STATUS_LABEL = {
    TopicStatus.DRAFT: "填写中",
    TopicStatus.IN_REVIEW: "审核中",
    TopicStatus.ACCEPTED: "已确定上会",
    TopicStatus.RETURNED: "已退回修改",
    TopicStatus.REJECTED: "不予上会",
    TopicStatus.WITHDRAWN: "已撤回",
    TopicStatus.CONCLUDED: "已上会",
}
AGENDA_MANAGERS = (Position.HEAD, Position.OFFICE_DIRECTOR, Position.OFFICE_VICE_DIRECTOR)


class Step(StrEnum):
    MEETING = "meeting"
    TITLE = "title"
    SUMMARY = "summary"
    DEPARTMENT = "department"
    DEPUTY = "deputy"
    MATTER = "matter"
    CONSULTED = "consulted"
    DATE = "date"
    CONFIRM = "confirm"


def _read_title(session: Session, topic: Topic, text: str, today: date) -> None:
    topic.title = forms.bounded(text, MAX_TITLE, "议题名称")


def _read_summary(session: Session, topic: Topic, text: str, today: date) -> None:
    topic.summary = forms.bounded(text, MAX_TEXT, "议题概要")


def _read_department(session: Session, topic: Topic, text: str, today: date) -> None:
    department = forms.bounded(text, 64, "汇报部门")
    known = departments(session)
    if department not in known:
        raise InvalidInput(f"花名册中没有部门 {department!r}。可选：{'、'.join(known)}")
    topic.department = department
    topic.deputy = deputy_for(session, department)


def _read_consulted(session: Session, topic: Topic, text: str, today: date) -> None:
    topic.consulted = forms.bounded(text, MAX_TEXT, "征求意见的部门")


def _read_date(session: Session, topic: Topic, text: str, today: date) -> None:
    day = parse_day(text, today)
    if day.day < today:
        raise InvalidInput(f"{day.label(today)} 已经过去了，请输入今后的日期。")
    topic.desired_date = day.day


def _checklist_steps(topic: Topic) -> list[str]:
    """Each item of the materials checklist is a step `check:<key>`."""
    return [f"check:{i.key}" for i in checklist_for(topic.matter_kind)] if topic.matter_kind else []


FORM = forms.FormSpec[Topic](
    INPUT_PURPOSE,
    (
        forms.Field(Step.MEETING, "会议", "请选择会议类型："),
        forms.Field(Step.TITLE, "名称", "请输入议题名称：", True, read=_read_title),
        forms.Field(Step.SUMMARY, "概要", "请输入议题概要（需要会议研究决定什么）：", True, read=_read_summary),
        forms.Field(Step.DEPARTMENT, "部门", "汇报部门是哪个？点按钮，或输入部门名称：", True, read=_read_department),
        forms.Field(Step.DEPUTY, "分管领导", "分管副区长（按部门推定，可改）："),
        forms.Field(Step.MATTER, "类型", "事项类型（决定需要哪些材料）："),
        forms.Field(Step.CONSULTED, "征求意见", "已征求哪些部门的意见？（没有请写“无”）", True, read=_read_consulted),
        forms.Field(Step.DATE, "日期", "希望上会的日期，如 12月10日、下周三：", True, read=_read_date),
    ),
    extra_steps=_checklist_steps,
    typed_prefixes=frozenset({"reason"}),  # reason:<key>: why a checklist item is not needed
)


def _advance(session: Session, topic: Topic) -> None:
    forms.advance(session, FORM, topic)


def _log(session: Session, topic: Topic, actor: Person | None, action: str, note: str | None = None) -> None:
    log(session, Subject.TOPIC, topic.id, actor.id if actor else None, action, note)


def _own(
    session: Session, person: Person, topic_id: int, status: str, refusal: str, version: int | None = None
) -> Topic:
    return forms.owned(session, Topic, topic_id, person, status, STATUS_LABEL, "找不到这个议题。", refusal, version)


def _handled(topic: Topic) -> str:
    return f"这一步已经处理过了（议题现在{STATUS_LABEL[TopicStatus(topic.status)]}）。"


def _draft(session: Session, person: Person, topic_id: int) -> Topic:
    return _own(session, person, topic_id, "draft", "这个议题已经处理过（{status}），不能再修改。")


def _fill_and_advance(session: Session, topic: Topic, step: str) -> Topic:
    forms.fill(topic, step)
    _advance(session, topic)
    return topic


# ----- the form ----------------------------------------------------------------------------------


def open_draft(session: Session, person: Person) -> int | None:
    return session.scalar(select(Topic.id).where(Topic.requester_id == person.id, Topic.status == TopicStatus.DRAFT))


def open_form(session: Session, person: Person) -> int:
    """Resume the person's unfinished topic or start a new one; returns its id."""
    topic_id = open_draft(session, person)
    topic = session.get(Topic, topic_id) if topic_id else None
    if topic is None:
        topic = Topic(
            requester=person,
            status=TopicStatus.DRAFT,
            step=Step.MEETING,
            filled=[],
            checklist={},
            # The requester's own department (and its 分管副区长) until another is chosen.
            department=person.department,
            deputy=deputy_for(session, person.department) if person.department else None,
        )
        session.add(topic)
        session.flush()
        _log(session, topic, person, "created")
    forms.await_if_typed(session, FORM, topic)
    return topic.id


def choose(session: Session, person: Person, topic_id: int, step: str, value: str) -> Topic:
    """A button answer: meeting type, department, 分管副区长, kind of matter, or a checklist status."""
    topic = _draft(session, person, topic_id)
    if step == Step.MEETING:
        topic.meeting_type = _one_of(value, MEETING_TYPES, "会议类型")
    elif step == Step.DEPARTMENT:
        topic.department = value
        topic.deputy = deputy_for(session, value)
    elif step == Step.DEPUTY:
        deputy = session.get(Person, int(value))
        if deputy is None or deputy.position not in ("常务副区长", "副区长") or not deputy.active:
            raise InvalidInput("请选择一位副区长。")
        topic.deputy = deputy
    elif step == Step.MATTER:
        topic.matter_kind = _one_of(value, MATTER_KINDS, "事项类型")
        keep = {i.key for i in checklist_for(topic.matter_kind)}
        topic.checklist = {k: v for k, v in topic.checklist.items() if k in keep}
        topic.filled = [s for s in topic.filled if not s.startswith("check:") or s.split(":")[1] in keep]
    elif step.startswith("check:"):
        return _check(session, topic, step.split(":")[1], value)
    else:
        raise InvalidInput("这一项需要输入文字。")
    return _fill_and_advance(session, topic, step)


def _one_of(value: str, allowed: tuple[str, ...], what: str) -> str:
    if value not in allowed:
        raise InvalidInput(f"没有这种{what}：{value!r}")
    return value


def _check(session: Session, topic: Topic, key: str, status: str) -> Topic:
    material = item(key)
    if status == "done":
        topic.checklist = {**topic.checklist, key: {"status": "done"}}
        return _fill_and_advance(session, topic, f"check:{key}")
    if material.mandatory:
        raise InvalidInput(f"{material.label}不能免除：{material.why}（{article_label(material.article)}）")
    topic.step = f"reason:{key}"
    inputs.expect_text(session, topic.requester_id, INPUT_PURPOSE, topic.id, topic.version)
    return topic


def enter_text(session: Session, person: Person, topic_id: int, text: str, today: date) -> Topic:
    """Fill the typed field the form awaits; bad input raises InvalidInput and changes nothing."""
    topic = _draft(session, person, topic_id)
    step = topic.step or ""
    if step.startswith("reason:"):
        key = step.split(":")[1]
        topic.checklist = {**topic.checklist, key: {"status": "not_needed", "reason": forms.bounded(text, 200, "理由")}}
        return _fill_and_advance(session, topic, f"check:{key}")
    forms.enter_text(session, FORM, topic, text, today)
    return topic


def edit_field(session: Session, person: Person, topic_id: int, step: str) -> Topic:
    topic = _draft(session, person, topic_id)
    if step not in FORM.steps_for(topic):
        raise InvalidInput("这一项不需要填写。")
    forms.unfill(topic, step)
    topic.step = step
    forms.await_if_typed(session, FORM, topic)
    return topic


def cancel(session: Session, person: Person, topic_id: int) -> None:
    topic = _draft(session, person, topic_id)
    topic.status = TopicStatus.WITHDRAWN
    inputs.clear(session, person.id, "topic:")
    _log(session, topic, person, "cancelled")


def missing_materials(topic: Topic) -> list[str]:
    """Why the topic cannot go forward yet: each required item not done, with its article."""
    problems = []
    for material in checklist_for(topic.matter_kind or ""):
        state = topic.checklist.get(material.key, {})
        if state.get("status") == "done" or (state.get("status") == "not_needed" and not material.mandatory):
            continue
        problems.append(f"缺少{material.label}：{material.why}（{article_label(material.article)}）")
    return problems


@dataclass(frozen=True)
class Submitted:
    topic_id: int
    role: str
    action: str
    person_name: str
    reached: bool
    route: str


def route_text(topic: Topic) -> str:
    return " → ".join(f"{s['role']}{s['action']}" for s in topic.chain)


def submit(
    session: Session, person: Person, topic_id: int, context: WorkContext, origin: tuple[int, int] | None = None
) -> Submitted:
    """Check completeness and materials, then start the Art. 49 chain at its first stage.
    `origin` (chat id, message id) is the form message, which becomes the requester's card."""
    topic = _draft(session, person, topic_id)
    if any(s not in topic.filled for s in FORM.steps_for(topic)):
        raise InvalidInput("议题还没有填完，请先完成各项。")
    problems = missing_materials(topic)
    if problems:
        raise InvalidInput("不能提交：" + "；".join(problems))
    stages = chain(session, topic.meeting_type or "", topic.deputy)
    topic.chain = [
        {"role": s.role, "action": s.action, "person_id": s.person_id, "person_name": s.person_name} for s in stages
    ]
    topic.stage, topic.status, topic.step = 0, TopicStatus.IN_REVIEW, None
    inputs.clear(session, person.id, "topic:")
    _log(session, topic, person, "submitted")
    outbox.retire_cards(session, Subject.TOPIC, topic.id, CardRole.APPROVAL, context.now)
    if origin is not None:
        outbox.adopt_card(session, Subject.TOPIC, topic.id, CardRole.REQUESTER, person, *origin, context.now)
    reached = _send_to_stage(session, topic, context)
    stage = current_stage(topic)
    return Submitted(
        topic.id, str(stage["role"]), str(stage["action"]), str(stage["person_name"]), reached, route_text(topic)
    )


def _send_to_stage(session: Session, topic: Topic, context: WorkContext) -> bool:
    return send_review_card(session, topic, context.now)


def send_review_card(session: Session, topic: Topic, now: datetime) -> bool:
    """A card for the person at the topic's current stage, with that stage's buttons."""
    person = session.get(Person, int(current_stage(topic)["person_id"]))
    return outbox.send_card(session, Subject.TOPIC, topic.id, CardRole.APPROVAL, person, now, stage=topic.stage)


# ----- review and decision -----------------------------------------------------------------------


def current_stage(topic: Topic) -> dict[str, str | int]:
    return topic.chain[topic.stage]


def _at_stage(session: Session, topic_id: int, stage: int, version: int, actor: Person) -> Topic:
    """The topic if it waits for `actor` at `stage`, as the card drawn for `version` showed it."""
    topic = session.get(Topic, topic_id)
    if topic is None:
        raise NotFound("找不到这个议题。")
    turn = None
    if topic.status == TopicStatus.IN_REVIEW:
        at = current_stage(topic)
        turn = review.Turn(topic.stage, int(at["person_id"]), f"这一步应由{at['role']} {at['person_name']}处理。")
    return review.awaiting(topic, turn, stage, version, actor, _handled)


def ask_reason(session: Session, topic_id: int, stage: int, version: int, actor: Person, verdict: Verdict) -> None:
    """退回修改 / 不予上会 need a reason: await it from the actor's next message."""
    topic = _at_stage(session, topic_id, stage, version, actor)
    review.ask_reason(session, Subject.TOPIC, topic, version, actor, verdict, _handled)


def decide(
    session: Session,
    topic_id: int,
    stage: int,
    version: int,
    actor: Person,
    verdict: Verdict,
    context: WorkContext,
    note: str | None = None,
) -> TopicStatus:
    """通过 moves to the next stage (the last makes the topic accepted); the others end the chain."""
    topic = _at_stage(session, topic_id, stage, version, actor)
    reason = review.conclude(session, Subject.TOPIC, topic, version, verdict, note, _handled)
    role = str(current_stage(topic)["role"])
    if verdict == Verdict.PASS:
        _log(session, topic, actor, f"{role}{current_stage(topic)['action']}通过")
        topic.stage += 1
        if topic.stage == len(topic.chain):
            topic.status = TopicStatus.ACCEPTED
            topic.agenda_order = _next_order(session, topic)
    else:
        topic.status = TopicStatus.RETURNED if verdict == Verdict.RETURN else TopicStatus.REJECTED
        _log(session, topic, actor, f"{role}{'退回修改' if verdict == Verdict.RETURN else '不予上会'}", reason)
    outbox.redraw_cards(session, Subject.TOPIC, topic.id, context.now)
    if topic.status == TopicStatus.IN_REVIEW:
        _send_to_stage(session, topic, context)
    outbox.send_card(session, Subject.TOPIC, topic.id, CardRole.REQUESTER, topic.requester, context.now)
    return TopicStatus(topic.status)


def _next_order(session: Session, topic: Topic) -> int:
    last = session.scalar(
        select(func.max(Topic.agenda_order)).where(
            Topic.status == TopicStatus.ACCEPTED, Topic.meeting_type == topic.meeting_type, Topic.id != topic.id
        )
    )
    return (last or 0) + 1


def revise(session: Session, person: Person, topic_id: int, version: int, context: WorkContext) -> int:
    """A returned topic goes back to the form's confirmation screen for revision."""
    topic = _own(
        session, person, topic_id, TopicStatus.RETURNED, "这个议题已经处理过（{status}），不能修改后重新提交。", version
    )
    if open_draft(session, person):
        raise InvalidInput("您还有一个正在填写的议题，请先提交或取消它。")
    topic.status = TopicStatus.DRAFT
    _advance(session, topic)
    _log(session, topic, person, "revising")
    outbox.redraw_cards(session, Subject.TOPIC, topic.id, context.now)
    return topic.id


# ----- agenda and outcome ------------------------------------------------------------------------


def _manager(person: Person) -> None:
    if person.position not in AGENDA_MANAGERS and not person.is_admin:
        raise PermissionDenied("只有区长或区政府办公室可以安排会议议程、记录会议结果。")


def agenda(session: Session) -> list[Topic]:
    """Accepted topics by meeting type, meeting date (undated last) and order."""
    return list(
        session.scalars(
            select(Topic)
            .where(Topic.status == TopicStatus.ACCEPTED)
            .order_by(Topic.meeting_type, Topic.meeting_date.is_(None), Topic.meeting_date, Topic.agenda_order)
        ).unique()
    )


def _accepted(session: Session, topic_id: int, version: int | None = None) -> Topic:
    """An accepted topic, claimed for this unit of work (at `version`, when a button names one)."""
    topic = session.get(Topic, topic_id)
    if topic is None:
        raise NotFound("找不到这个议题。")

    def handled(current: Topic) -> str:
        return f"这个议题已经处理过（现在{STATUS_LABEL[TopicStatus(current.status)]}），不在待开会议程中。"

    if topic.status != TopicStatus.ACCEPTED:
        raise InvalidInput(handled(topic))
    return transition(session, topic, topic.version if version is None else version, handled)


def move(session: Session, actor: Person, topic_id: int, direction: int) -> Topic:
    """Swap a topic with its neighbour in the same meeting's order."""
    _manager(actor)
    topic = _accepted(session, topic_id)
    same_meeting = [
        t for t in agenda(session) if t.meeting_type == topic.meeting_type and t.meeting_date == topic.meeting_date
    ]
    index = next(i for i, t in enumerate(same_meeting) if t.id == topic.id)
    other = index + direction
    if not 0 <= other < len(same_meeting):
        raise InvalidInput("已经在最前（或最后）了。")
    neighbour = same_meeting[other]
    transition(session, neighbour, neighbour.version, lambda _: "议程刚刚有变动，请重新发送 /agenda 查看。")
    topic.agenda_order, neighbour.agenda_order = neighbour.agenda_order, topic.agenda_order
    _log(session, topic, actor, "reordered", f"{'上移' if direction < 0 else '下移'}")
    return topic


def await_meeting_date(session: Session, actor: Person, topic_id: int) -> Topic:
    _manager(actor)
    topic = session.get(Topic, topic_id)
    if topic is None or topic.status != TopicStatus.ACCEPTED:
        raise InvalidInput("这个议题不在待开会议程中。")
    inputs.expect_text(session, actor.id, MEETING_DATE_PURPOSE, topic.id, topic.version)
    return topic


def set_meeting_date(session: Session, actor: Person, topic_id: int, version: int, text: str, today: date) -> Topic:
    _manager(actor)
    day = parse_day(text, today).day
    if day < today:
        raise InvalidInput(f"{day.month}月{day.day}日 已经过去了，会期请输入今天或以后的日期。")
    topic = _accepted(session, topic_id, version)
    topic.meeting_date = day
    inputs.clear(session, actor.id, "topic:")
    _log(session, topic, actor, "meeting_date", f"{day.month}月{day.day}日")
    return topic


def record_outcome(
    session: Session, actor: Person, topic_id: int, version: int, code: str, needs_document: bool, context: WorkContext
) -> Topic:
    """The meeting's decision on a topic. 通过 / 原则通过 conclude it (a decision to issue a document
    starts the Art. 50 deadline); 暂缓 puts it back on the agenda without a date; 不通过 returns it
    to the requester, who may revise and submit it again."""
    _manager(actor)
    if code not in OUTCOMES:
        raise InvalidInput(f"没有这种会议结果：{code!r}")
    topic = _accepted(session, topic_id, version)
    outcome = OUTCOMES[code]
    held_on, today = topic.meeting_date, context.now.date()
    if held_on is not None and held_on > today:
        raise InvalidInput(f"会期是 {held_on.month}月{held_on.day}日，会议召开后才能记录结果。")
    if needs_document and held_on is None:
        raise InvalidInput("请先设定会期：第五十条的印发期限从会议之日起算。")
    topic.outcome = outcome
    _log(session, topic, actor, "outcome", outcome + ("，需印发文件" if needs_document else ""))
    if outcome == Outcome.DEFERRED:
        topic.meeting_date = None
        topic.agenda_order = _next_order(session, topic)
    elif outcome == Outcome.NOT_PASSED:
        topic.status, topic.meeting_date, topic.agenda_order = TopicStatus.RETURNED, None, None
        outbox.send_card(session, Subject.TOPIC, topic.id, CardRole.REQUESTER, topic.requester, context.now)
    else:
        topic.status = TopicStatus.CONCLUDED
        if needs_document and held_on is not None:
            # Art. 50: "会议结束后5个工作日内", counted from the meeting, not from when it is recorded.
            deadlines.create_deadline(
                session,
                "meeting_documents",
                held_on,
                context,
                title=f"印发议题文件：{topic.title}",
                department=topic.department,
                requester=actor,
                source=f"topic:{topic.id}",
            )
    outbox.redraw_cards(session, Subject.TOPIC, topic.id, context.now)
    return topic


def history(session: Session, topic_id: int, zone: tzinfo) -> tuple[Topic, list[HistoryRow]]:
    topic = session.get(Topic, topic_id)
    if topic is None:
        raise NotFound("找不到这个议题。")
    return topic, transitions.history(session, Subject.TOPIC, topic_id, zone)


def history_file(topic: Topic, rows: list[HistoryRow]) -> tuple[bytes, str]:
    """A topic's history as CSV, and its file name."""
    return spreadsheet.to_csv(HISTORY_COLUMNS, rows), f"议题{topic.id}记录.csv"


class OnChain(Protocol):
    """A topic, or a row of its columns: enough to say who is on it."""

    requester_id: int
    chain: list[dict[str, str | int]]


def involved(topic: OnChain) -> set[int]:
    """The people on a topic: its requester and everyone its chain names."""
    return {topic.requester_id, *(int(stage["person_id"]) for stage in topic.chain)}


def my_topics(session: Session, person: Person, limit: int = 10) -> list[Topic]:
    return list(
        session.scalars(
            select(Topic)
            .where(Topic.requester_id == person.id, Topic.status != TopicStatus.DRAFT)
            .order_by(Topic.id.desc())
            .limit(limit)
        ).unique()
    )


def awaiting(session: Session, person: Person) -> list[Topic]:
    """Topics whose current stage is this person's."""
    return [
        t
        for t in session.scalars(select(Topic).where(Topic.status == TopicStatus.IN_REVIEW)).unique()
        if current_stage(t)["person_id"] == person.id
    ]
