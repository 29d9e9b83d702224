"""The admin-editable override table of the working-day calendar."""

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.calendar.workdays import WorkdayCalendar
from bot.db import CalendarOverride


def load_calendar(session: Session) -> WorkdayCalendar:
    """A calendar that applies every override stored in the database."""
    rows = session.scalars(select(CalendarOverride))
    return WorkdayCalendar({row.day: (row.is_workday, row.note) for row in rows})


def set_override(session: Session, day: date, is_workday: bool, note: str = "") -> None:
    row = session.get(CalendarOverride, day) or CalendarOverride(day=day)
    row.is_workday, row.note = is_workday, note
    session.add(row)
    session.flush()
