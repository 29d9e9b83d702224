"""Chinese working days: official holidays, adjusted working days (调休), overrides and fallbacks."""

from bot.calendar.workdays import DataSource, DayInfo, Deadline, WorkdayCalendar

__all__ = ["DataSource", "DayInfo", "Deadline", "WorkdayCalendar"]
