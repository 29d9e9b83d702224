"""Meeting topics as a state machine stored in the database.

    draft ──submit──> in_review (stage 0 … n-1 of the Art. 49 chain) ──last 通过──> accepted
      ^                  │ 退回修改                │ 不予上会                        │ outcome recorded
      └──revise──── returned                 rejected                        concluded

A review or decision is legal once, at its stage, from that stage's person, in one transaction.
"""

from datetime import date
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot import forms, inputs
from bot.context import WorkContext
from bot.db import Person, Topic, TopicEvent
from bot.deadlines import service as deadlines
from bot.errors import InvalidInput, NotFound, PermissionDenied
from bot.leave.dates import parse_day
from bot.topics.materials import MATTER_KINDS, checklist_for, item
from bot.topics.routing import MEETING_TYPES, chain, deputy_for
from knowledge import article_label

MAX_TITLE, MAX_TEXT = 100, 1000
INPUT_PURPOSE = "topic:field"
OUTCOMES = {"p": "通过", "a": "原则通过", "d": "暂缓", "n": "不通过"}
STATUS_LABEL = {
    "draft": "填写中",
    "in_review": "审核中",
    "accepted": "已确定上会",
    "returned": "已退回修改",
    "rejected": "不予上会",
    "withdrawn": "已撤回",
    "concluded": "已上会",
}
AGENDA_MANAGERS = ("区长", "办公室主任", "办公室副主任")


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


TYPED = {Step.TITLE, Step.SUMMARY, Step.DEPARTMENT, Step.CONSULTED, Step.DATE, "reason"}


def steps_for(topic: Topic) -> list[str]:
    """The fields in order; each checklist item is a step `check:<key>`."""
    fixed = [
        Step.MEETING,
        Step.TITLE,
        Step.SUMMARY,
        Step.DEPARTMENT,
        Step.DEPUTY,
        Step.MATTER,
        Step.CONSULTED,
        Step.DATE,
    ]
    items = [f"check:{i.key}" for i in checklist_for(topic.matter_kind)] if topic.matter_kind else []
    return [*fixed, *items]


def _advance(session: Session, topic: Topic) -> None:
    forms.advance(session, topic, steps_for(topic), topic.requester_id, INPUT_PURPOSE, TYPED)


def _log(session: Session, topic: Topic, actor: Person | None, action: str, note: str | None = None) -> None:
    session.add(TopicEvent(topic_id=topic.id, actor=actor, action=action, note=note))


def _own(session: Session, person: Person, topic_id: int, status: str, refusal: str) -> Topic:
    return forms.owned(session, Topic, topic_id, person, status, STATUS_LABEL, "找不到这个议题。", refusal)


def _draft(session: Session, person: Person, topic_id: int) -> Topic:
    return _own(session, person, topic_id, "draft", "这个议题{status}，不能再修改。")


def _commit_advance(session: Session, topic: Topic, step: str) -> Topic:
    forms.fill(topic, step)
    _advance(session, topic)
    session.commit()
    return topic


# ----- the form ----------------------------------------------------------------------------------


def open_form(session: Session, person: Person) -> Topic:
    """Resume the person's unfinished topic or start a new one."""
    topic = session.scalar(select(Topic).where(Topic.requester_id == person.id, Topic.status == "draft"))
    if topic is None:
        topic = Topic(
            requester=person, status="draft", step=Step.MEETING, filled=[], checklist={}, department=person.department
        )
        session.add(topic)
        session.flush()
        _log(session, topic, person, "created")
    forms.await_if_typed(session, topic, person.id, INPUT_PURPOSE, TYPED)
    session.commit()
    return topic


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
    return _commit_advance(session, topic, step)


def _one_of(value: str, allowed: tuple[str, ...], what: str) -> str:
    if value not in allowed:
        raise InvalidInput(f"没有这种{what}：{value!r}")
    return value


def _check(session: Session, topic: Topic, key: str, status: str) -> Topic:
    material = item(key)
    if status == "done":
        topic.checklist = {**topic.checklist, key: {"status": "done"}}
        return _commit_advance(session, topic, f"check:{key}")
    if material.mandatory:
        raise InvalidInput(f"{material.label}不能免除：{material.why}（{article_label(material.article)}）")
    topic.step = f"reason:{key}"
    inputs.expect_text(session, topic.requester_id, INPUT_PURPOSE, topic.id)
    session.commit()
    return topic


def enter_text(session: Session, person: Person, topic_id: int, text: str, today: date) -> Topic:
    """Fill the typed field the form awaits; bad input raises InvalidInput and changes nothing."""
    topic = _draft(session, person, topic_id)
    step = topic.step or ""
    if step == Step.TITLE:
        topic.title = forms.bounded(text, MAX_TITLE, "议题名称")
    elif step == Step.SUMMARY:
        topic.summary = forms.bounded(text, MAX_TEXT, "议题概要")
    elif step == Step.DEPARTMENT:
        department = forms.bounded(text, 64, "汇报部门")
        known = set(session.scalars(select(Person.department).where(Person.department.is_not(None))))
        if department not in known:
            raise InvalidInput(f"花名册中没有部门 {department!r}。可选：{'、'.join(sorted(known))}")
        topic.department = department
        topic.deputy = deputy_for(session, department)
    elif step == Step.CONSULTED:
        topic.consulted = forms.bounded(text, MAX_TEXT, "征求意见的部门")
    elif step == Step.DATE:
        day = parse_day(text, today)
        if day.day < today:
            raise InvalidInput(f"{day.label()} 已经过去了，请输入今后的日期。")
        topic.desired_date = day.day
    elif step.startswith("reason:"):
        key = step.split(":")[1]
        topic.checklist = {**topic.checklist, key: {"status": "not_needed", "reason": forms.bounded(text, 200, "理由")}}
        return _commit_advance(session, topic, f"check:{key}")
    else:
        raise InvalidInput("现在请点选按钮，不需要输入文字。")
    return _commit_advance(session, topic, step)


def edit_field(session: Session, person: Person, topic_id: int, step: str) -> Topic:
    topic = _draft(session, person, topic_id)
    if step not in steps_for(topic):
        raise InvalidInput("这一项不需要填写。")
    forms.unfill(topic, step)
    topic.step = step
    forms.await_if_typed(session, topic, person.id, INPUT_PURPOSE, TYPED)
    session.commit()
    return topic


def cancel(session: Session, person: Person, topic_id: int) -> None:
    topic = _draft(session, person, topic_id)
    topic.status = "withdrawn"
    inputs.clear(session, person.id, "topic:")
    _log(session, topic, person, "cancelled")
    session.commit()


def missing_materials(topic: Topic) -> list[str]:
    """Why the topic cannot go forward yet: each required item not done, with its article."""
    problems = []
    for material in checklist_for(topic.matter_kind or ""):
        state = topic.checklist.get(material.key, {})
        if state.get("status") == "done" or (state.get("status") == "not_needed" and not material.mandatory):
            continue
        problems.append(f"缺少{material.label}：{material.why}（{article_label(material.article)}）")
    return problems


def submit(session: Session, person: Person, topic_id: int) -> Topic:
    """Check completeness and materials, then start the Art. 49 chain at its first stage."""
    topic = _draft(session, person, topic_id)
    if any(s not in topic.filled for s in steps_for(topic)):
        raise InvalidInput("议题还没有填完，请先完成各项。")
    problems = missing_materials(topic)
    if problems:
        raise InvalidInput("不能提交：" + "；".join(problems))
    stages = chain(session, topic.meeting_type or "", topic.deputy)
    topic.chain = [
        {"role": s.role, "action": s.action, "person_id": s.person_id, "person_name": s.person_name} for s in stages
    ]
    topic.stage, topic.status, topic.step = 0, "in_review", None
    inputs.clear(session, person.id, "topic:")
    _log(session, topic, person, "submitted")
    session.commit()
    return topic


# ----- review and decision -----------------------------------------------------------------------


def current_stage(topic: Topic) -> dict[str, str | int]:
    return topic.chain[topic.stage]


def _at_stage(session: Session, topic_id: int, stage: int, actor: Person) -> Topic:
    topic = session.get(Topic, topic_id, with_for_update=True)
    if topic is None:
        raise NotFound("找不到这个议题。")
    if topic.status != "in_review" or topic.stage != stage:
        raise InvalidInput(f"这一步已经处理过了（议题现在{STATUS_LABEL[topic.status]}）。")
    if current_stage(topic)["person_id"] != actor.id:
        raise PermissionDenied(f"这一步应由{current_stage(topic)['role']} {current_stage(topic)['person_name']}处理。")
    return topic


def ask_reason(session: Session, topic_id: int, stage: int, actor: Person, decision: str) -> Topic:
    """退回修改 / 不予上会 need a reason: await it from the actor's next message."""
    topic = _at_stage(session, topic_id, stage, actor)
    inputs.expect_text(session, actor.id, f"topic:{decision}", topic.id)
    session.commit()
    return topic


def decide(session: Session, topic_id: int, stage: int, actor: Person, decision: str, note: str | None = None) -> Topic:
    """通过 moves to the next stage (the last makes the topic accepted); the others end the chain."""
    topic = _at_stage(session, topic_id, stage, actor)
    role = str(current_stage(topic)["role"])
    if decision == "pass":
        _log(session, topic, actor, f"{role}{current_stage(topic)['action']}通过")
        topic.stage += 1
        if topic.stage == len(topic.chain):
            topic.status = "accepted"
            last = session.scalar(
                select(func.max(Topic.agenda_order)).where(
                    Topic.status == "accepted", Topic.meeting_type == topic.meeting_type
                )
            )
            topic.agenda_order = (last or 0) + 1
    else:
        reason = forms.bounded(note or "", 500, "理由")
        topic.status = "returned" if decision == "return" else "rejected"
        _log(session, topic, actor, f"{role}{'退回修改' if decision == 'return' else '不予上会'}", reason)
    inputs.clear(session, actor.id, "topic:")
    session.commit()
    return topic


def revise(session: Session, person: Person, topic_id: int) -> Topic:
    """A returned topic goes back to the form's confirmation screen for revision."""
    topic = _own(session, person, topic_id, "returned", "这个议题{status}，不能修改后重新提交。")
    if session.scalar(select(Topic.id).where(Topic.requester_id == person.id, Topic.status == "draft")):
        raise InvalidInput("您还有一个正在填写的议题，请先提交或取消它。")
    topic.status = "draft"
    _advance(session, topic)
    _log(session, topic, person, "revising")
    session.commit()
    return topic


# ----- agenda and outcome ------------------------------------------------------------------------


def _manager(person: Person) -> None:
    if person.position not in AGENDA_MANAGERS and not person.is_admin:
        raise PermissionDenied("只有区长或区政府办公室可以安排会议议程、记录会议结果。")


def agenda(session: Session) -> list[Topic]:
    """Accepted topics by meeting type, meeting date (undated last) and order."""
    return list(
        session.scalars(
            select(Topic)
            .where(Topic.status == "accepted")
            .order_by(Topic.meeting_type, Topic.meeting_date.is_(None), Topic.meeting_date, Topic.agenda_order)
        ).unique()
    )


def _accepted(session: Session, topic_id: int) -> Topic:
    topic = session.get(Topic, topic_id, with_for_update=True)
    if topic is None:
        raise NotFound("找不到这个议题。")
    if topic.status != "accepted":
        raise InvalidInput(f"这个议题{STATUS_LABEL[topic.status]}，不在待开会议程中。")
    return topic


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
    topic.agenda_order, neighbour.agenda_order = neighbour.agenda_order, topic.agenda_order
    _log(session, topic, actor, "reordered", f"{'上移' if direction < 0 else '下移'}")
    session.commit()
    return topic


def await_meeting_date(session: Session, actor: Person, topic_id: int) -> Topic:
    _manager(actor)
    topic = _accepted(session, topic_id)
    inputs.expect_text(session, actor.id, "topic:meeting_date", topic.id)
    session.commit()
    return topic


def set_meeting_date(session: Session, actor: Person, topic_id: int, text: str, today: date) -> Topic:
    _manager(actor)
    topic = _accepted(session, topic_id)
    day = parse_day(text, today).day
    topic.meeting_date = day
    inputs.clear(session, actor.id, "topic:")
    _log(session, topic, actor, "meeting_date", day.isoformat())
    session.commit()
    return topic


def record_outcome(
    session: Session, actor: Person, topic_id: int, code: str, needs_document: bool, context: WorkContext
) -> Topic:
    """The meeting's decision on a topic; a decision to issue a document starts the Art. 50 deadline."""
    _manager(actor)
    topic = _accepted(session, topic_id)
    if code not in OUTCOMES:
        raise InvalidInput(f"没有这种会议结果：{code!r}")
    outcome = OUTCOMES[code]
    topic.outcome, topic.status = outcome, "concluded"
    _log(session, topic, actor, "outcome", outcome + ("，需印发文件" if needs_document else ""))
    if needs_document and outcome in ("通过", "原则通过"):
        meeting_day = min(topic.meeting_date or context.now.date(), context.now.date())
        deadlines.create_deadline(
            session,
            "meeting_documents",
            meeting_day,
            context.now,
            context.calendar,
            context.groups,
            title=f"印发议题文件：{topic.title}",
            department=topic.department,
            requester=actor,
            source=f"topic:{topic.id}",
        )
    session.commit()
    return topic


def history(session: Session, topic_id: int) -> tuple[Topic, list[TopicEvent]]:
    topic = session.get(Topic, topic_id)
    if topic is None:
        raise NotFound("找不到这个议题。")
    events = list(
        session.scalars(select(TopicEvent).where(TopicEvent.topic_id == topic_id).order_by(TopicEvent.id)).unique()
    )
    return topic, events


def my_topics(session: Session, person: Person, limit: int = 10) -> list[Topic]:
    return list(
        session.scalars(
            select(Topic)
            .where(Topic.requester_id == person.id, Topic.status != "draft")
            .order_by(Topic.id.desc())
            .limit(limit)
        ).unique()
    )


def awaiting(session: Session, person: Person) -> list[Topic]:
    """Topics whose current stage is this person's."""
    return [
        t
        for t in session.scalars(select(Topic).where(Topic.status == "in_review")).unique()
        if current_stage(t)["person_id"] == person.id
    ]


inputs.FORM_CANCELLERS[INPUT_PURPOSE] = cancel
