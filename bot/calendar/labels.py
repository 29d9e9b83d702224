"""Dates and times as every screen writes them: 12月3日 (no zero padding), the weekday as 周四, the
year only when it is not the current one, times in the office's time zone."""

from datetime import date, datetime, tzinfo

from bot.db import aware

WEEKDAYS = "一二三四五六日"


def month_day(day: date, today: date | None = None) -> str:
    """12月3日; 2027年1月4日 when `today` is in another year (always with the year without `today`,
    as in an export read years later)."""
    year = f"{day.year}年" if today is None or day.year != today.year else ""
    return f"{year}{day.month}月{day.day}日"


def with_weekday(day: date, today: date | None = None) -> str:
    """12月7日（周一）."""
    return f"{month_day(day, today)}（周{WEEKDAYS[day.weekday()]}）"


def local_moment(moment: datetime, zone: tzinfo, today: date | None = None) -> str:
    """A stored time in the office's time zone: 12月3日 10:05."""
    local = aware(moment).astimezone(zone)
    return f"{month_day(local.date(), today)} {local:%H:%M}"
