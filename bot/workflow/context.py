"""What a workflow step needs besides its session: the time, the working-day calendar, the group chats."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.calendar import WorkdayCalendar


@dataclass(frozen=True)
class WorkContext:
    now: datetime
    calendar: WorkdayCalendar
    # The names of the group chats configured on the channel the bot runs on ([groups], [wecom.groups]).
    groups: frozenset[str]
    # The group told of approved leaves ([leave] notice_group), if any: its recipient.
    leave_notice_chat: str | None = None
    # A pending leave is reminded to its approver, then escalated to the office, after these many
    # working hours ([leave] remind_after_hours, escalate_after_hours).
    leave_remind_after: timedelta = timedelta(hours=4)
    leave_escalate_after: timedelta = timedelta(hours=8)
