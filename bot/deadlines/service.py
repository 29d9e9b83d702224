"""Deadlines and their reminders.

A deadline gets its reminder rows when it is created (before and on the due date, then one
escalation), each at 09:00 on a working day in the office's time zone. Delivery claims due rows
inside a transaction (FOR UPDATE SKIP LOCKED on PostgreSQL), so two bot processes never send the
same reminder; a row claimed by a process that died is retried after a lease expires.
"""

import os
import re
import socket
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from bot.calendar import WorkdayCalendar
from bot.db import BlockedChat, Deadline, Person, Reminder
from bot.deadlines.rules import DeadlineRule, rules
from bot.errors import InvalidInput, NotFound, PermissionDenied
from bot.roster import holder
from knowledge import chinese_to_int

WORK_START, WORK_END = time(9, 0), time(18, 0)
CLAIM_LEASE = timedelta(minutes=5)
SNOOZE = timedelta(hours=2)
WORKER = f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True)
class Audience:
    """Where reminders go: the responsible side's chats, and the escalation chat."""

    chats: tuple[int, ...]
    escalation_chat: int | None


def in_working_hours(moment: datetime, calendar: WorkdayCalendar) -> bool:
    return calendar.is_workday(moment.date()) and WORK_START <= moment.time() < WORK_END


def next_working_moment(moment: datetime, calendar: WorkdayCalendar) -> datetime:
    """`moment` if inside working hours, else 09:00 of the next working day (never at night)."""
    if in_working_hours(moment, calendar):
        return moment
    day = moment.date()
    if not (calendar.is_workday(day) and moment.time() < WORK_START):
        day = calendar.next_workday(day).date
    return datetime.combine(day, WORK_START, tzinfo=moment.tzinfo)


def _at_nine(day: date, like: datetime) -> datetime:
    return datetime.combine(day, WORK_START, tzinfo=like.tzinfo)


def utc(moment: datetime) -> datetime:
    """Times are stored in UTC (SQLite keeps no time zone, so every stored time must agree)."""
    return moment.astimezone(UTC)


def audience(
    session: Session,
    rule: DeadlineRule,
    groups: dict[str, int],
    department: str | None,
    responsible: Person | None,
    requester: Person | None,
    approver: Person | None,
) -> Audience:
    """The department's group (a [groups] entry named like it) and the responsible person; then
    the escalation target the rule names."""
    chats: list[int] = []
    if department and department in groups:
        chats.append(groups[department])
    if responsible is None and department:
        responsible = holder(session, "部门主要负责人", department)
    if responsible and responsible.telegram_user_id:
        chats.append(responsible.telegram_user_id)
    if not chats and requester and requester.telegram_user_id:
        chats.append(requester.telegram_user_id)
    target = {"approver": approver, "requester": requester}.get(rule.escalate_to)
    escalation: int | None = None
    if rule.escalate_to == "office":
        director = holder(session, "办公室主任")
        escalation = groups.get("office") or (director.telegram_user_id if director else None)
    elif target is not None:
        escalation = target.telegram_user_id
    return Audience(tuple(dict.fromkeys(chats)), escalation)


def create_deadline(
    session: Session,
    rule_key: str,
    start: date,
    now: datetime,
    calendar: WorkdayCalendar,
    groups: dict[str, int],
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
    """Create a deadline and schedule its reminders (not committed: part of the caller's unit of work)."""
    rule = rules()[rule_key]
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
        status="open",
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
    _schedule(
        session,
        deadline,
        rule,
        audience(session, rule, groups, department, responsible, requester, approver),
        now,
        calendar,
    )
    return deadline


def _schedule(
    session: Session, deadline: Deadline, rule: DeadlineRule, to: Audience, now: datetime, calendar: WorkdayCalendar
) -> None:
    slots = [
        (("before" if o < 0 else "due" if o == 0 else "after"), _at_nine(calendar.shift(deadline.due_date, o), now))
        for o in rule.remind
    ]
    upcoming = [(purpose, at) for purpose, at in slots if at >= now]
    if not upcoming and deadline.due_date >= now.date():
        upcoming = [("due", next_working_moment(now, calendar))]
    for purpose, at in upcoming:
        for chat in to.chats:
            session.add(Reminder(deadline_id=deadline.id, purpose=purpose, chat_id=chat, send_at=utc(at)))
    if rule.escalate_after and to.escalation_chat is not None:
        at = _at_nine(calendar.shift(deadline.due_date, rule.escalate_after), now)
        session.add(
            Reminder(
                deadline_id=deadline.id,
                purpose="escalation",
                chat_id=to.escalation_chat,
                send_at=utc(max(at, next_working_moment(now, calendar))),
            )
        )
    session.flush()


# ----- delivery ----------------------------------------------------------------------------------


def claim_due(session: Session, now: datetime, calendar: WorkdayCalendar, limit: int = 50) -> list[Reminder]:
    """Claim reminders due now (only inside working hours); committed before anything is sent."""
    if not in_working_hours(now, calendar):
        return []
    now = utc(now)
    query = (
        select(Reminder)
        .where(
            Reminder.send_at <= now,
            or_(
                Reminder.status == "pending", (Reminder.status == "claimed") & (Reminder.claimed_at < now - CLAIM_LEASE)
            ),
        )
        .order_by(Reminder.send_at, Reminder.id)
        .limit(limit)
        .with_for_update(skip_locked=True, of=Reminder)
    )
    claimed = []
    for reminder in session.scalars(query).unique():
        if reminder.deadline.status != "open":
            reminder.status = "cancelled"
            continue
        reminder.status, reminder.claimed_by, reminder.claimed_at = "claimed", WORKER, now
        reminder.attempts += 1
        claimed.append(reminder)
    session.commit()
    return claimed


def mark_sent(session: Session, reminder_id: int, now: datetime) -> None:
    session.execute(update(Reminder).where(Reminder.id == reminder_id).values(status="sent", sent_at=utc(now)))
    session.commit()


def retry_later(session: Session, reminder_id: int, at: datetime, error: str) -> None:
    """A transient failure (429, network): send again at `at`, never drop it."""
    session.execute(
        update(Reminder)
        .where(Reminder.id == reminder_id)
        .values(status="pending", send_at=utc(at), claimed_by=None, last_error=error)
    )
    session.commit()


def mark_blocked(session: Session, reminder_id: int, chat_id: int, error: str) -> None:
    """The chat refused the bot (403): the reminder fails and the chat is recorded for the admins."""
    session.execute(update(Reminder).where(Reminder.id == reminder_id).values(status="failed", last_error=error))
    if session.get(BlockedChat, chat_id) is None:
        session.add(BlockedChat(chat_id=chat_id, description=error))
    session.commit()


def blocked_chats_to_report(session: Session, now: datetime) -> list[BlockedChat]:
    rows = list(
        session.scalars(select(BlockedChat).where(BlockedChat.reported_at.is_(None)).with_for_update(skip_locked=True))
    )
    for row in rows:
        row.reported_at = utc(now)
    session.commit()
    return rows


# ----- user actions ------------------------------------------------------------------------------


def _open_deadline(session: Session, deadline_id: int) -> Deadline:
    deadline = session.get(Deadline, deadline_id, with_for_update=True)
    if deadline is None:
        raise NotFound("找不到这个期限事项。")
    return deadline


def may_act_on(deadline: Deadline, person: Person) -> bool:
    return (
        person.is_admin
        or person.position == "办公室主任"
        or person.id in {deadline.responsible_id, deadline.requester_id, deadline.approver_id}
        or (deadline.department is not None and person.department == deadline.department)
    )


def close(session: Session, deadline_id: int, person: Person, now: datetime) -> Deadline:
    """已办结: legal once, by someone responsible for the item; stops its reminders."""
    deadline = _open_deadline(session, deadline_id)
    if not may_act_on(deadline, person):
        raise PermissionDenied("只有承办部门、交办人或办公室可以标记办结。")
    if deadline.status != "open":
        raise InvalidInput(f"这个事项已经{'办结' if deadline.status == 'done' else '取消'}了。")
    deadline.status, deadline.closed_at, deadline.closed_by = "done", utc(now), person
    session.execute(
        update(Reminder)
        .where(Reminder.deadline_id == deadline.id, Reminder.status == "pending")
        .values(status="cancelled")
    )
    session.commit()
    return deadline


def close_by_source(session: Session, source: str, person: Person | None, now: datetime) -> None:
    """Close the open deadline a workflow created (e.g. 销假 closes the leave's return deadline)."""
    for deadline in session.scalars(select(Deadline).where(Deadline.source == source, Deadline.status == "open")):
        deadline.status, deadline.closed_at, deadline.closed_by = "done", utc(now), person
        session.execute(
            update(Reminder)
            .where(Reminder.deadline_id == deadline.id, Reminder.status == "pending")
            .values(status="cancelled")
        )


def snooze(
    session: Session, deadline_id: int, person: Person, chat_id: int, now: datetime, calendar: WorkdayCalendar
) -> datetime:
    """延后: one extra reminder to this chat two working hours later; the schedule stays as it was."""
    deadline = _open_deadline(session, deadline_id)
    if not may_act_on(deadline, person):
        raise PermissionDenied("只有承办部门、交办人或办公室可以延后提醒。")
    if deadline.status != "open":
        raise InvalidInput("这个事项已经办结，不再提醒。")
    later = now + SNOOZE
    at = later if in_working_hours(later, calendar) else next_working_moment(later, calendar)
    exists = session.scalar(
        select(Reminder.id).where(
            Reminder.deadline_id == deadline.id,
            Reminder.purpose == "snooze",
            Reminder.chat_id == chat_id,
            Reminder.send_at == utc(at),
        )
    )
    if exists is None:
        session.add(Reminder(deadline_id=deadline.id, purpose="snooze", chat_id=chat_id, send_at=utc(at)))
    session.commit()
    return at


def open_for(session: Session, person: Person) -> list[Deadline]:
    """Open deadlines the person or their department answers for, or that they set."""
    conditions = [Deadline.responsible_id == person.id, Deadline.requester_id == person.id]
    if person.department:
        conditions.append(Deadline.department == person.department)
    return list(
        session.scalars(
            select(Deadline).where(Deadline.status == "open", or_(*conditions)).order_by(Deadline.due_date, Deadline.id)
        ).unique()
    )


def get(session: Session, deadline_id: int) -> Deadline:
    deadline = session.get(Deadline, deadline_id)
    if deadline is None:
        raise NotFound("找不到这个期限事项。")
    return deadline


# ----- parsing what users type -------------------------------------------------------------------

_PERIOD = re.compile(r"(\d+|[一二两三四五六七八九十]+)\s*个?\s*工作日")
_MENTION = re.compile(r"@\s*([^\s，,。；;、]+)")


@dataclass(frozen=True)
class AdhocRequest:
    title: str
    workdays: int
    department: str | None


def parse_adhoc(text: str, departments: set[str]) -> AdhocRequest:
    """“报送材料，3个工作日，@区财政局” -> title, period, department."""
    period = _PERIOD.search(text)
    if period is None:
        raise InvalidInput("请写明期限，例如：/deadline 报送年度总结，3个工作日，@区财政局")
    workdays = chinese_to_int(period.group(1))
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
