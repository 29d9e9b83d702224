"""What a workflow step needs besides its session: the time, the working-day calendar, the group chats."""

from dataclasses import dataclass
from datetime import datetime

from bot.calendar import WorkdayCalendar


@dataclass(frozen=True)
class WorkContext:
    now: datetime
    calendar: WorkdayCalendar
    groups: dict[str, int]
    # The group told of approved leaves ([leave] notice_group), if any.
    leave_notice_chat: int | None = None
