"""Deadlines and their reminders.

A deadline gets its reminders when it is created (before and on the due date, then one
escalation), each a card in the outbox at 09:00 on a working day, sent in working hours only
(bot.delivery). Closing and snoozing are compare-and-set transitions on the deadline's version;
every sent reminder is a live card, redrawn when the deadline moves on. Nothing here commits.
"""

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from bot import plaintext
from bot.calendar.workdays import WORK_START
from bot.db import Person, utc
from bot.deadlines.models import Deadline
from bot.deadlines.rules import DeadlineRule, EscalateTo, rules
from bot.errors import InvalidInput, NotFound, PermissionDenied
from bot.roster import Position, holder
from bot.workflow import outbox
from bot.workflow.context import WorkContext
from bot.workflow.models import CardRole, Subject
from bot.workflow.transitions import log, transition
from knowledge import chinese_to_int

SNOOZE = timedelta(hours=2)


class DeadlineStatus(StrEnum):
    OPEN = "open"
    DONE = "done"
    CANCELLED = "cancelled"


class Purpose(StrEnum):
    """Why a reminder goes out."""

    BEFORE = "before"
    DUE = "due"
    AFTER = "after"
    SNOOZE = "snooze"
    ESCALATION = "escalation"


@dataclass(frozen=True)
class Audience:
    """Where reminders go: the responsible side's chats, and the escalation chat (recipients)."""

    chats: tuple[outbox.Recipient, ...]
    escalation_chat: outbox.Recipient | None


def _at_nine(day: date, like: datetime) -> datetime:
    return datetime.combine(day, WORK_START, tzinfo=like.tzinfo)


def audience(
    session: Session,
    rule: DeadlineRule,
    groups: frozenset[str],
    department: str | None,
    responsible: Person | None,
    requester: Person | None,
    approver: Person | None,
) -> Audience:
    """The department's group (a [groups] entry named like it) and the responsible person; then
    the escalation target the rule names."""
    chats: list[outbox.Recipient] = []
    if department and department in groups and (group := outbox.group_recipient(department)):
        chats.append(group)
    if responsible is None and department:
        responsible = holder(session, Position.DEPARTMENT_HEAD, department)
    if (own := outbox.person_recipient(session, responsible)) is not None:
        chats.append(own)
    if not chats and (asker := outbox.person_recipient(session, requester)) is not None:
        chats.append(asker)
    target = {EscalateTo.APPROVER: approver, EscalateTo.REQUESTER: requester}.get(rule.escalate_to)
    escalation: outbox.Recipient | None = None
    if rule.escalate_to == EscalateTo.OFFICE:
        office = outbox.group_recipient("office") if "office" in groups else None
        escalation = office or outbox.person_recipient(session, holder(session, Position.OFFICE_DIRECTOR))
    elif target is not None:
        escalation = outbox.person_recipient(session, target)
    return Audience(tuple(dict.fromkeys(chats)), escalation)


def create_deadline(
    session: Session,
    rule_key: str,
    start: date,
    context: WorkContext,
    *,
    title: str | None = None,
    due: date | None = None,
    workdays: int | None = None,
    department: str | None = None,
    responsible: Person | None = None,
    requester: Person | None = None,
    approver: Person | None = None,
    source: str | None = None,
) -> Deadline:
    """Create a deadline, schedule its reminders and, if the rule says so, tell the responsible side."""
    rule = rules()[rule_key]
    calendar = context.calendar
    period = workdays or rule.workdays
    warning = None
    if due is None:
        if period < 1:
            raise InvalidInput("请写明期限，例如“3个工作日”。")
        counted = calendar.add_workdays(start, period)
        due, warning = counted.due, counted.warning
    elif calendar.day(due).source.is_fallback:
        warning = calendar.add_workdays(calendar.previous_workday(due).date, 1).warning
    deadline = Deadline(
        rule_key=rule.key,
        title=title or rule.title,
        article=rule.article or None,
        status=DeadlineStatus.OPEN,
        source=source,
        start_date=start,
        due_date=due,
        workdays=period or None,
        calendar_warning=warning,
        department=department,
        responsible=responsible,
        requester=requester,
        approver=approver,
    )
    session.add(deadline)
    session.flush()
    to = audience(session, rule, context.groups, department, responsible, requester, approver)
    _schedule(session, deadline, rule, to, context)
    log(session, Subject.DEADLINE, deadline.id, requester.id if requester else None, "created")
    if rule.announce:
        for chat in to.chats:
            outbox.send_card(session, Subject.DEADLINE, deadline.id, CardRole.NEW_DEADLINE, None, context.now, to=chat)
    return deadline


def _remind(
    session: Session, deadline: Deadline, purpose: Purpose, chat: outbox.Recipient, at: datetime, now: datetime
) -> None:
    outbox.send_card(
        session,
        Subject.DEADLINE,
        deadline.id,
        CardRole.REMINDER,
        None,
        now,
        to=chat,
        send_at=at,
        working_hours_only=True,
        purpose=purpose,
        key=f"deadline:{deadline.id}:{purpose}:{chat}:{utc(at):%Y%m%d%H%M}",
    )


def _schedule(session: Session, deadline: Deadline, rule: DeadlineRule, to: Audience, context: WorkContext) -> None:
    now, calendar = context.now, context.calendar
    slots = [
        (
            Purpose.BEFORE if o < 0 else Purpose.DUE if o == 0 else Purpose.AFTER,
            _at_nine(calendar.shift(deadline.due_date, o), now),
        )
        for o in rule.remind
    ]
    upcoming = [(purpose, at) for purpose, at in slots if at >= now]
    if not upcoming and deadline.due_date >= now.date():
        upcoming = [(Purpose.DUE, calendar.next_working_moment(now))]
    for purpose, at in upcoming:
        for chat in to.chats:
            _remind(session, deadline, purpose, chat, at, now)
    if rule.escalate_after and to.escalation_chat is not None:
        at = _at_nine(calendar.shift(deadline.due_date, rule.escalate_after), now)
        _remind(
            session, deadline, Purpose.ESCALATION, to.escalation_chat, max(at, calendar.next_working_moment(now)), now
        )


# ----- user actions ------------------------------------------------------------------------------


def may_act_on(deadline: Deadline, person: Person) -> bool:
    return (
        person.is_admin
        or person.position == Position.OFFICE_DIRECTOR
        or person.id in {deadline.responsible_id, deadline.requester_id, deadline.approver_id}
        or (deadline.department is not None and person.department == deadline.department)
    )


def _handled(deadline: Deadline) -> str:
    state = {DeadlineStatus.DONE: "已经办结", DeadlineStatus.CANCELLED: "已经取消"}.get(
        DeadlineStatus(deadline.status), "已经处理过"
    )
    return f"这个事项{state}了。"


def _claim(session: Session, deadline_id: int, version: int, person: Person, refusal: str) -> Deadline:
    deadline = session.get(Deadline, deadline_id)
    if deadline is None:
        raise NotFound("找不到这个期限事项。")
    if not may_act_on(deadline, person):
        raise PermissionDenied(refusal)
    if deadline.status != DeadlineStatus.OPEN:
        raise InvalidInput(_handled(deadline))
    return transition(session, deadline, version, _handled)


def close(session: Session, deadline_id: int, version: int, person: Person, context: WorkContext) -> Deadline:
    """已办结: legal once, by someone responsible for the item; its reminders stop and redraw."""
    deadline = _claim(session, deadline_id, version, person, "只有承办部门、交办人或办公室可以标记办结。")
    _close(session, deadline, person, context)
    return deadline


def _close(session: Session, deadline: Deadline, person: Person | None, context: WorkContext) -> None:
    deadline.status, deadline.closed_at, deadline.closed_by = DeadlineStatus.DONE, utc(context.now), person
    log(session, Subject.DEADLINE, deadline.id, person.id if person else None, "done")
    outbox.redraw_cards(session, Subject.DEADLINE, deadline.id, context.now)


def close_by_source(session: Session, source: str, person: Person | None, context: WorkContext) -> None:
    """Close the open deadline a workflow created (e.g. 销假 closes the leave's return deadline)."""
    for deadline in session.scalars(
        select(Deadline).where(Deadline.source == source, Deadline.status == DeadlineStatus.OPEN)
    ):
        transition(session, deadline, deadline.version, _handled)
        _close(session, deadline, person, context)


def snooze(
    session: Session, deadline_id: int, version: int, person: Person, chat: outbox.Recipient, context: WorkContext
) -> datetime:
    """延后: one extra reminder to `chat` (where it was pressed) two working hours later; the schedule
    stays as it was."""
    deadline = _claim(session, deadline_id, version, person, "只有承办部门、交办人或办公室可以延后提醒。")
    later = context.now + SNOOZE
    at = context.calendar.next_working_moment(later)
    _remind(session, deadline, Purpose.SNOOZE, chat, at, context.now)
    log(session, Subject.DEADLINE, deadline.id, person.id, "snoozed", f"{at.month}月{at.day}日 {at:%H:%M}")
    outbox.redraw_cards(session, Subject.DEADLINE, deadline.id, context.now)
    return at


def open_for(session: Session, person: Person) -> list[Deadline]:
    """Open deadlines the person or their department answers for, or that they set."""
    conditions = [Deadline.responsible_id == person.id, Deadline.requester_id == person.id]
    if person.department:
        conditions.append(Deadline.department == person.department)
    return list(
        session.scalars(
            select(Deadline)
            .where(Deadline.status == DeadlineStatus.OPEN, or_(*conditions))
            .order_by(Deadline.due_date, Deadline.id)
        ).unique()
    )


def get(session: Session, deadline_id: int) -> Deadline:
    deadline = session.get(Deadline, deadline_id)
    if deadline is None:
        raise NotFound("找不到这个期限事项。")
    return deadline


# ----- parsing what users type -------------------------------------------------------------------

# A sign before the number is read with it, so "-3个工作日" is refused instead of leaving "-" in the title.
_PERIOD = re.compile(r"([-－−﹣]?)\s*(\d{1,3}|[一二两三四五六七八九十]{1,3})\s*个?\s*工作日")
MAX_ADHOC_TEXT = 300
_MENTION = re.compile(r"@\s*([^\s，,。；;、]+)")


@dataclass(frozen=True)
class AdhocRequest:
    title: str
    workdays: int
    department: str | None


def parse_adhoc(text: str, departments: set[str]) -> AdhocRequest:
    """“报送材料，3个工作日，@区财政局” -> title, period, department."""
    text = plaintext.clean(text)
    if len(text) > MAX_ADHOC_TEXT:
        raise InvalidInput(f"事项说明最多 {MAX_ADHOC_TEXT} 个字，现在有 {len(text)} 个字，请精简后重新发送。")
    period = _PERIOD.search(text)
    if period is None:
        raise InvalidInput("请写明期限，例如：/deadline 报送年度总结，3个工作日，@区财政局")
    sign, number = period.groups()
    workdays = -chinese_to_int(number) if sign else chinese_to_int(number)
    if not 1 <= workdays <= 60:
        raise InvalidInput(f"期限 {workdays} 个工作日不合理，请写 1 到 60 个工作日。")
    mention = _MENTION.search(text)
    department = mention.group(1) if mention else None
    if department is not None and department not in departments:
        raise InvalidInput(f"花名册中没有部门 {department!r}。可选：{'、'.join(sorted(departments))}")
    title = _PERIOD.sub("", _MENTION.sub("", text)).strip(" ，,。；;")
    if not title:
        raise InvalidInput("请写明事项，例如：/deadline 报送年度总结，3个工作日，@区财政局")
    return AdhocRequest(title[:200], workdays, department)
