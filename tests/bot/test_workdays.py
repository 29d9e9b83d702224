"""The working-day calendar around real holidays, on official and fallback data, with overrides."""

import re
from datetime import date

import pytest

from bot.calendar import DataSource, WorkdayCalendar
from bot.calendar.overrides import load_calendar, set_override
from bot.storage import Database

calendar = WorkdayCalendar()


def test_national_day_2026_and_its_adjusted_saturday() -> None:
    assert not calendar.is_workday(date(2026, 10, 1))
    assert not calendar.is_workday(date(2026, 10, 7))
    assert calendar.is_workday(date(2026, 10, 10))  # Saturday worked in exchange (调休)
    deadline = calendar.add_workdays(date(2026, 9, 30), 3)
    assert deadline.due == date(2026, 10, 10)
    assert deadline.warning is None
    assert deadline.sources == {DataSource.OFFICIAL}


def test_spring_festival_2026() -> None:
    assert all(not calendar.is_workday(date(2026, 2, d)) for d in range(15, 24))
    assert calendar.is_workday(date(2026, 2, 14))  # Saturday worked before the holiday
    assert calendar.add_workdays(date(2026, 2, 13), 2).due == date(2026, 2, 24)


def test_a_year_no_library_has_published_uses_fallback_data_with_a_visible_warning() -> None:
    # 2099: no schedule of the State Council exists for it, whatever chinese-calendar's version.
    deadline = calendar.add_workdays(date(2099, 12, 28), 5)
    assert deadline.due == date(2100, 1, 5)  # New Year's Day 2100 is a statutory holiday
    assert DataSource.STATUTORY in deadline.sources
    assert deadline.warning is not None and "可能变化" in deadline.warning
    assert not re.search("[A-Za-z]", deadline.warning), "the warning is shown in chat: Chinese only"


def test_the_event_day_is_not_counted_and_rest_days_are_skipped() -> None:
    assert calendar.add_workdays(date(2026, 11, 27), 1).due == date(2026, 11, 30)  # Friday -> Monday
    assert calendar.next_workday(date(2026, 11, 28)).date == date(2026, 11, 30)
    with pytest.raises(ValueError, match="0"):
        calendar.add_workdays(date(2026, 11, 27), 0)


def test_override_table_wins_over_libraries(database_url: str) -> None:
    database = Database(database_url)
    database.upgrade()
    with database.session() as session:
        set_override(session, date(2027, 1, 4), False, "元旦调休")
        set_override(session, date(2027, 1, 9), True, "调休上班")
        session.commit()
        overridden = load_calendar(session)
    assert overridden.day(date(2027, 1, 4)).source == DataSource.OVERRIDE
    assert not overridden.is_workday(date(2027, 1, 4))
    assert overridden.is_workday(date(2027, 1, 9))
    assert overridden.add_workdays(date(2026, 12, 31), 2).due == date(2027, 1, 6)
    database.dispose()
