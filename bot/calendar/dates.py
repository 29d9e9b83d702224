"""Dates as staff type them: 12月3日, 明天, 下周一, 2026-12-03 上午, 后天下午.

Parsing is jionlp's; this module picks the half day (上午/下午) and reads a date typed without a
year as its nearest occurrence ("3号" in late November means 3 December, "12月1日" on 3 December
two days ago). Whether a day in the past is allowed is the workflow's rule, not the parser's.
"""

import calendar
import contextlib
import io
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache

from bot import plaintext
from bot.calendar.labels import month_day
from bot.errors import InvalidInput

AM, PM = "AM", "PM"
HALF_LABEL = {AM: "上午", PM: "下午", None: ""}


@dataclass(frozen=True)
class DayPart:
    """A date and, if given, which half of it."""

    day: date
    half: str | None

    def label(self, today: date | None = None) -> str:
        """12月3日上午 (bot.calendar.labels.month_day and the half day)."""
        return f"{month_day(self.day, today)}{HALF_LABEL[self.half]}"


@cache
def _jionlp():
    # jionlp prints a banner on import; keep it out of the bot's output.
    with contextlib.redirect_stdout(io.StringIO()):
        import jionlp
    return jionlp


def _nearest(text: str, day: date, today: date) -> date:
    """A date typed without a year (or month) that has passed is read as its nearest occurrence:
    "12月1日" typed on 3 December is two days ago (a sick leave reported afterwards), "1月5日" typed
    in December is next January, "3号" late in November is 3 December. A weekday ("周一") means the
    coming one unless "上周" says otherwise. Whether a past day is allowed is the caller's rule."""
    if day >= today or re.search(r"\d{4}|年|上周|上星期|昨|前天", text):
        return day
    if re.search(r"周|星期|礼拜", text):
        return day + timedelta(days=7)
    if "月" in text or "-" in text or "/" in text:
        later = _replace_or_none(day, year=day.year + 1)
    else:
        later = _replace_or_none(day, year=day.year + (day.month == 12), month=day.month % 12 + 1)
    return later if later is not None and later - today < today - day else day


def _replace_or_none(day: date, **parts: int) -> date | None:
    try:
        return day.replace(**parts)
    except ValueError:  # 29 February, or the 31st of a shorter month
        return None


# A date is a few characters ("2026年12月3日上午" is 12); longer text is not read at all, which also
# keeps jionlp from spending seconds on a pasted page.
MAX_DATE_CHARS = 32
_YEAR_MONTH_DAY = (
    re.compile(r"(?:(\d+)\s*年\s*)?(\d+)\s*月\s*(?:(\d+)\s*[日号])?"),
    re.compile(r"(\d{4})\s*[-/.]\s*(\d+)\s*[-/.]\s*(\d+)"),
)


def parse_day(text: str, today: date) -> DayPart:
    """Read one date (with an optional 上午/下午) relative to `today`; explain what is wrong if not.

    Dates from the start of last year to the end of next year are accepted: anything else is a
    typo (1900, 2099) that would otherwise turn into an overdue reminder or a century-long leave.
    """
    cleaned = plaintext.clean(text).replace("．", ".")
    if not cleaned:
        raise InvalidInput("请输入日期，例如：12月3日、明天、下周一、2026-12-03 上午。")
    if len(cleaned) > MAX_DATE_CHARS:
        raise InvalidInput(f"日期最多 {MAX_DATE_CHARS} 个字。请写成：12月3日、明天、下周一 或 2026-12-03 上午。")
    _check_written_numbers(cleaned, today)
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
    day = DayPart(_nearest(cleaned, start.date(), today), half)
    if not date(today.year - 1, 1, 1) <= day.day <= date(today.year + 1, 12, 31):
        raise InvalidInput(
            f"{day.label(today)} 不在可办理的范围内（{today.year - 1}年1月1日至{today.year + 1}年12月31日），请检查年份。"
        )
    return day


# Between the two ends of a period typed in one message: "12月7日下午到12月9日上午", "下周一下午至周三".
# Not "-", which ISO dates use.
_PERIOD_SEPARATOR = re.compile(r"\s*(?:到|至|～|~|—|–)\s*")


def parse_period(text: str, today: date) -> tuple[DayPart, DayPart | None]:
    """Read a start date, or a whole period typed in one message. The end is read from the start's
    day, so "周三" after "下周一" is the Wednesday of that week."""
    parts = _PERIOD_SEPARATOR.split(plaintext.clean(text), maxsplit=1)
    start = parse_day(parts[0], today)
    return start, (parse_day(parts[1], start.day) if len(parts) == 2 else None)


def _check_written_numbers(text: str, today: date) -> None:
    """A month or day written in digits must exist: jionlp reads 13月1日 as 1 March of the next
    year and 0月5日 as a November date, and gives up on 2月30日 without saying why."""
    for pattern in _YEAR_MONTH_DAY:
        match = pattern.search(text)
        if match is None:
            continue
        year_text, month_text, day_text = match.groups()
        month = int(month_text) if len(month_text) <= 2 else 0
        if not 1 <= month <= 12:
            raise InvalidInput(f"没有{month_text}月，月份应在1到12之间。")
        if day_text is None:
            return
        years = [int(year_text)] if year_text and len(year_text) == 4 else [today.year, today.year + 1]
        last = max(calendar.monthrange(year, month)[1] for year in years)
        if not (len(day_text) <= 2 and 1 <= int(day_text) <= last):
            raise InvalidInput(f"{month}月没有{day_text}日。")
        return
