"""Dates as staff type them: 12月3日, 明天, 下周一, 2026-12-03 上午, 后天下午.

Parsing is jionlp's; this module picks the half day (上午/下午) and prefers the future for dates
typed without a year ("3号" in late November means 3 December).
"""

import contextlib
import io
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache

from bot.errors import InvalidInput

AM, PM = "AM", "PM"
HALF_LABEL = {AM: "上午", PM: "下午", None: ""}


@dataclass(frozen=True)
class DayPart:
    """A date and, if given, which half of it."""

    day: date
    half: str | None

    def label(self, today: date | None = None) -> str:
        """12月3日上午; the year is shown when it is not the current one."""
        year = f"{self.day.year}年" if today is not None and self.day.year != today.year else ""
        return f"{year}{self.day.month}月{self.day.day}日{HALF_LABEL[self.half]}"


@cache
def _jionlp():
    # jionlp prints a banner on import; keep it out of the bot's output.
    with contextlib.redirect_stdout(io.StringIO()):
        import jionlp
    return jionlp


def _roll_forward(text: str, day: date, today: date) -> date:
    if day >= today or re.search(r"\d{4}|年|上周|上星期|昨|前天", text):
        return day
    if re.search(r"周|星期|礼拜", text):
        return day + timedelta(days=7)
    if "月" in text or "-" in text or "/" in text:
        return day.replace(year=day.year + 1)
    month = day.month % 12 + 1
    year = day.year + (1 if day.month == 12 else 0)
    try:
        return day.replace(year=year, month=month)
    except ValueError:
        return day


def parse_day(text: str, today: date) -> DayPart:
    """Read one date (with an optional 上午/下午) relative to `today`; explain what is wrong if not."""
    cleaned = text.strip().replace("．", ".")
    if not cleaned:
        raise InvalidInput("请输入日期，例如：12月3日、明天、下周一、2026-12-03 上午。")
    base = datetime.combine(today, datetime.min.time()).timestamp()
    try:
        parsed = _jionlp().parse_time(cleaned, time_base=base)
    except Exception:  # jionlp raises bare exceptions for text it cannot read
        parsed = None
    if parsed and parsed.get("type") == "time_span":
        raise InvalidInput(f"{cleaned!r} 是一段时间，请只写一天（开始、结束日期分别填写）。")
    if not parsed or parsed.get("type") != "time_point":
        raise InvalidInput(f"没有看懂日期 {cleaned!r}。请写成：12月3日、明天、下周一 或 2026-12-03 上午。")
    start, end = (datetime.strptime(t, "%Y-%m-%d %H:%M:%S") for t in parsed["time"])
    if (end - start).days >= 1:
        raise InvalidInput(f"{cleaned!r} 是一段时间，请只写一天，例如 12月3日。")
    half = AM if re.search("上午|早上|早晨", cleaned) else PM if re.search("下午|晚上|傍晚", cleaned) else None
    return DayPart(_roll_forward(cleaned, start.date(), today), half)
