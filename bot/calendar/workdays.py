"""Which days are working days in China, and counting N working days from an event.

Sources, in order of trust:
1. the admin-editable override table (for a year whose State Council schedule the libraries lack);
2. `chinese-calendar` (official holidays and 调休 working weekends; 2004–2026 in version 1.11);
3. `holidays` (statutory holidays computed for any year, with substitute days but without the
   working weekends of 调休): a *fallback*, so results carry a warning;
4. plain Monday–Friday, also a fallback with a warning.
Counting follows the Civil Code (第二百零一条): the event day is not counted, and a period ending
on a rest day runs to the next working day (automatic when counting working days).
"""

import datetime as dt
from dataclasses import dataclass
from enum import Enum

import chinese_calendar
import holidays

# Office hours: reminders are pushed only inside them, on working days.
WORK_START, WORK_END = dt.time(9, 0), dt.time(18, 0)


class DataSource(Enum):
    OVERRIDE = "管理员维护的调休表"
    # Shown in chat and on the console: Chinese only (the libraries are named in the docstring).
    OFFICIAL = "国务院公布的节假日与调休"
    STATUTORY = "程序推算的法定节假日（未含调休上班日）"
    WEEKDAY = "仅按周一至周五推算"

    @property
    def is_fallback(self) -> bool:
        return self in {DataSource.STATUTORY, DataSource.WEEKDAY}


@dataclass(frozen=True)
class DayInfo:
    date: dt.date
    is_workday: bool
    source: DataSource
    name: str | None = None


@dataclass(frozen=True)
class Deadline:
    """The due date of `workdays` working days after `start`, and the data it was computed on."""

    start: dt.date
    workdays: int
    due: dt.date
    sources: frozenset[DataSource]

    @property
    def warning(self) -> str | None:
        fallback = sorted(s.value for s in self.sources if s.is_fallback)
        if not fallback:
            return None
        return (
            "⚠️ 期间涉及尚未收录国务院调休安排的年份，本日期按"
            + "、".join(fallback)
            + "计算，公布调休后可能变化，请以正式通知为准。"
        )


class WorkdayCalendar:
    """Answers working-day questions; `overrides` maps a date to (is_workday, note)."""

    def __init__(self, overrides: dict[dt.date, tuple[bool, str]] | None = None) -> None:
        self._overrides = overrides or {}
        self._statutory: dict[int, holidays.HolidayBase] = {}

    def day(self, date: dt.date) -> DayInfo:
        if date in self._overrides:
            is_workday, note = self._overrides[date]
            return DayInfo(date, is_workday, DataSource.OVERRIDE, note or None)
        try:
            on_holiday, name = chinese_calendar.get_holiday_detail(date)
            return DayInfo(date, not on_holiday, DataSource.OFFICIAL, name)
        except NotImplementedError:
            pass
        statutory = self._statutory_for(date.year)
        if statutory is not None:
            name = statutory.get(date)
            return DayInfo(date, name is None and date.weekday() < 5, DataSource.STATUTORY, name)
        return DayInfo(date, date.weekday() < 5, DataSource.WEEKDAY)

    def _statutory_for(self, year: int) -> holidays.HolidayBase | None:
        if year not in self._statutory:
            try:
                self._statutory[year] = holidays.country_holidays("CN", years=year, language="zh_CN")
            except NotImplementedError:
                return None
        return self._statutory[year]

    def is_workday(self, date: dt.date) -> bool:
        return self.day(date).is_workday

    def next_workday(self, date: dt.date) -> DayInfo:
        """The first working day strictly after `date`."""
        day = date + dt.timedelta(days=1)
        while not (info := self.day(day)).is_workday:
            day += dt.timedelta(days=1)
        return info

    def previous_workday(self, date: dt.date) -> DayInfo:
        """The last working day strictly before `date`."""
        day = date - dt.timedelta(days=1)
        while not (info := self.day(day)).is_workday:
            day -= dt.timedelta(days=1)
        return info

    def in_working_hours(self, moment: dt.datetime) -> bool:
        return self.is_workday(moment.date()) and WORK_START <= moment.time() < WORK_END

    def next_working_moment(self, moment: dt.datetime) -> dt.datetime:
        """`moment` if inside working hours, else 09:00 of the next working day (never at night)."""
        if self.in_working_hours(moment):
            return moment
        day = moment.date()
        if not (self.is_workday(day) and moment.time() < WORK_START):
            day = self.next_workday(day).date
        return dt.datetime.combine(day, WORK_START, tzinfo=moment.tzinfo)

    def add_working_hours(self, moment: dt.datetime, period: dt.timedelta) -> dt.datetime:
        """The moment `period` of working hours (09:00–18:00 on working days) after `moment`."""
        moment = self.next_working_moment(moment)
        while True:
            closing = dt.datetime.combine(moment.date(), WORK_END, tzinfo=moment.tzinfo)
            if moment + period < closing:  # a period ending at closing time runs on to the next morning
                return moment + period
            period -= closing - moment
            moment = self.next_working_moment(closing)

    def shift(self, date: dt.date, workdays: int) -> dt.date:
        """`workdays` working days after (positive) or before (negative) `date`; 0 is `date` itself."""
        for _ in range(abs(workdays)):
            date = (self.next_workday(date) if workdays > 0 else self.previous_workday(date)).date
        return date

    def add_workdays(self, start: dt.date, workdays: int) -> Deadline:
        """The `workdays`-th working day after `start` (the start day itself is not counted)."""
        if workdays < 1:
            raise ValueError(f"a period needs at least one working day, got {workdays!r}")
        sources: set[DataSource] = set()
        day = start
        for _ in range(workdays):
            info = self.next_workday(day)
            sources.update(self.day(d).source for d in _dates_between(day, info.date))
            day = info.date
        return Deadline(start, workdays, day, frozenset(sources))


def _dates_between(start: dt.date, end: dt.date) -> list[dt.date]:
    """Dates after `start` up to and including `end`."""
    return [start + dt.timedelta(days=i) for i in range(1, (end - start).days + 1)]
