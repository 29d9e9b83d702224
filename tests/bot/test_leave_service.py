"""Leave routing, dates and conflicts as plain domain code, without Telegram."""

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from bot.app import wiring
from bot.calendar import WorkdayCalendar
from bot.calendar.dates import parse_day
from bot.console.views import LeaveItem, feed_summary
from bot.db import PendingInput, Person
from bot.deadlines.models import Deadline
from bot.errors import AlreadyHandled, InvalidInput, PermissionDenied
from bot.leave import service
from bot.leave.models import LeaveRequest
from bot.leave.routing import route
from bot.leave.service import LeaveStatus
from bot.roster import RosterEntry, sync_roster
from bot.storage import Database
from bot.workflow.context import WorkContext
from bot.workflow.inputs import awaited
from bot.workflow.models import Subject
from bot.workflow.review import Verdict
from bot.workflow.transitions import events_of, transition

TODAY = date(2026, 11, 29)
NOW = datetime(2026, 11, 29, 2, 0, tzinfo=UTC)
CONTEXT = WorkContext(NOW, WorkdayCalendar(), {})
ROSTER = [
    RosterEntry("区长甲", "区长"),
    RosterEntry("常务乙", "常务副区长"),
    RosterEntry("副区丙", "副区长", ab_partner="副区丁"),
    RosterEntry("副区丁", "副区长", ab_partner="副区丙"),
    RosterEntry("主任戊", "办公室主任", department="区政府办公室"),
    RosterEntry("局长己", "部门主要负责人", department="区财政局"),
    RosterEntry("科员庚", "工作人员", department="区财政局"),
    RosterEntry("科员辛", "工作人员", department="区政府办公室"),
]


@pytest.fixture
def session(tmp_path):
    database = Database(f"sqlite:///{tmp_path / 'leave.sqlite3'}")
    database.upgrade()
    with database.session() as session:
        sync_roster(session, ROSTER)
        session.commit()
        yield session
    database.dispose()


def person(session, name: str):
    return session.scalars(select(Person).where(Person.name == name)).one()


@pytest.mark.parametrize(
    ("who", "kind", "meeting", "approver", "article"),
    [
        ("副区丙", "离包外出", None, "区长甲", 79),
        ("局长己", "出国（境）", None, "区长甲", 79),
        ("主任戊", "休假", None, "区长甲", 79),
        ("常务乙", "事假", None, "区长甲", 79),
        ("区长甲", "离包外出", None, None, 9),
        ("局长己", "会议请假", "常务会议", "区长甲", 51),
        ("科员庚", "会议请假", "全体会议", "主任戊", 51),
        ("科员庚", "病假", None, "局长己", None),
        ("科员辛", "事假", None, "主任戊", None),
    ],
)
def test_route_follows_articles_79_51_and_9(session, who, kind, meeting, approver, article) -> None:
    routed = route(session, person(session, who), kind, meeting)
    assert (routed.approver.name if routed.approver else None) == approver
    assert routed.article == article


@pytest.mark.parametrize(
    ("text", "expected", "half"),
    [
        ("12月3日", date(2026, 12, 3), None),
        ("明天", date(2026, 11, 30), None),
        ("下周一", date(2026, 11, 30), None),
        ("2026-12-03 上午", date(2026, 12, 3), "AM"),
        ("后天下午", date(2026, 12, 1), "PM"),
        ("3号", date(2026, 12, 3), None),
    ],
)
def test_common_chinese_date_forms(text: str, expected: date, half: str | None) -> None:
    day = parse_day(text, TODAY)
    assert (day.day, day.half) == (expected, half)


@pytest.mark.parametrize("text", ["", "某天", "下周一到下周三", "\u200b\u202e\x00"])
def test_unreadable_dates_are_explained(text: str) -> None:
    with pytest.raises(InvalidInput):
        parse_day(text, TODAY)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("13月1日", "没有13月"),
        ("0月5日", "没有0月"),
        ("2月30日", "2月没有30日"),
        ("2027年2月29日", "2月没有29日"),
        ("4月31号", "4月没有31日"),
        ("2026-13-01", "没有13月"),
        ("1900-01-01", "1900年1月1日 不在可办理的范围内"),
        ("2099-12-31", "2099年12月31日 不在可办理的范围内"),
        ("1" * 20_000, "日期最多 32 个字"),
    ],
)
def test_impossible_and_far_dates_are_refused_with_the_reason(text: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        parse_day(text, TODAY)


def test_a_date_outside_the_current_year_shows_its_year() -> None:
    assert parse_day("2027-01-04", TODAY).label(TODAY) == "2027年1月4日"
    assert parse_day("12月3日 上午", TODAY).label(TODAY) == "12月3日上午"
    # Without a today to compare with (an export read next year), the year is always there.
    assert parse_day("12月3日", TODAY).label() == "2026年12月3日"


def test_reasons_made_only_of_invisible_characters_are_refused_and_nothing_is_saved(session) -> None:
    requester = person(session, "科员庚")
    draft = service.open_form(session, requester)
    service.choose_kind(session, requester, draft, "事假")
    service.enter_text(session, requester, draft, "12月7日", TODAY)
    service.enter_text(session, requester, draft, "12月7日", TODAY)
    with pytest.raises(InvalidInput, match="事由不能为空"):
        service.enter_text(session, requester, draft, "\u200b\u200d\x00\u202e \ufeff", TODAY)
    request = session.get(LeaveRequest, draft)
    assert request.reason is None and request.step == service.Step.REASON
    service.enter_text(session, requester, draft, "\x00家中\u200b有事\x07", TODAY)
    assert request.reason == "家中有事"


def _filed(session, who: str, start: str, end: str, kind: str = "事假") -> service.Submitted:
    requester = person(session, who)
    draft = service.open_form(session, requester)
    service.choose_kind(session, requester, draft, kind)
    service.enter_text(session, requester, draft, start, TODAY)
    service.enter_text(session, requester, draft, end, TODAY)
    if kind in ("离包外出", "出国（境）"):
        service.enter_text(session, requester, draft, "北京", TODAY)
    service.enter_text(session, requester, draft, "事由", TODAY)
    service.choose_acting(session, requester, draft, None)
    return service.submit(session, requester, draft, CONTEXT)


def _request(session, submitted: service.Submitted) -> LeaveRequest:
    request = session.get(LeaveRequest, submitted.request_id)
    assert request is not None
    return request


DAY, NEXT_DAY = date(2026, 12, 7), date(2026, 12, 8)


def _on(day: date) -> WorkContext:
    return WorkContext(datetime(day.year, day.month, day.day, 2, 0, tzinfo=UTC), WorkdayCalendar(), {})


def test_half_days_that_touch_do_not_overlap_but_whole_days_do(session) -> None:
    _filed(session, "科员庚", "12月7日", "12月8日 上午")
    _filed(session, "科员庚", "12月8日 下午", "12月9日")
    with pytest.raises(InvalidInput, match="时间重叠"):
        _filed(session, "科员庚", "12月9日", "12月9日")


def test_the_console_calendar_marks_half_days_and_clashes_only_on_overlapping_halves() -> None:
    def leave(start: date, start_half: str | None, end: date, end_half: str | None) -> LeaveRequest:
        return LeaveRequest(start_date=start, start_half=start_half, end_date=end, end_half=end_half)

    morning, afternoon = leave(DAY, None, DAY, "AM"), leave(DAY, "PM", DAY, None)
    assert not service.periods_overlap(morning, afternoon) and not service.periods_overlap(afternoon, morning)
    assert service.periods_overlap(morning, leave(DAY, None, DAY, None))
    item = LeaveItem(1, "张伟", "", "事假", "已批准", False, "", DAY, NEXT_DAY, "", (), True, "PM", "AM")
    assert (item.half_on(DAY), item.half_on(NEXT_DAY)) == ("下午", "上午")
    assert LeaveItem(2, "刘洋", "", "事假", "已批准", False, "", DAY, DAY, "", (), True).half_on(DAY) == ""


def test_a_calendar_feed_names_the_half_days_of_a_leave() -> None:
    requester = Person(id=1, name="张伟", position="副区长")
    request = LeaveRequest(requester=requester, requester_id=1, kind="离包外出", status="approved")
    request.start_date, request.start_half, request.end_date, request.end_half = DAY, "PM", NEXT_DAY, "AM"
    summary = feed_summary(requester, request)
    assert summary.startswith("张伟副区长 离包外出（") and "下午" in summary and summary.endswith("上午）")
    request.start_half = request.end_half = None
    assert feed_summary(requester, request) == "张伟副区长 离包外出"


def test_a_decision_is_legal_once_and_only_from_the_approver(session) -> None:
    submitted = _filed(session, "副区丙", "12月14日", "12月15日", kind="离包外出")
    request_id, version = submitted.request_id, _request(session, submitted).version
    head = person(session, "区长甲")
    with pytest.raises(PermissionDenied):
        service.decide(session, request_id, version, person(session, "常务乙"), Verdict.PASS, CONTEXT)
    with pytest.raises(InvalidInput, match="理由不能为空"):
        service.decide(session, request_id, version, head, Verdict.REJECT, CONTEXT, "  ")
    service.decide(session, request_id, version, head, Verdict.PASS, CONTEXT)
    with pytest.raises(InvalidInput, match="已经处理过"):
        service.decide(session, request_id, version, head, Verdict.REJECT, CONTEXT, "改主意")
    with pytest.raises(InvalidInput, match="已经处理过"):
        service.decide(session, request_id, version + 1, head, Verdict.REJECT, CONTEXT, "改主意")
    events = events_of(session, Subject.LEAVE, request_id)
    assert [e.action for e in events] == ["created", "submitted", "approve"]
    [owed] = session.query(Deadline).filter(Deadline.source == f"leave:{request_id}").all()
    assert (owed.rule_key, owed.due_date, owed.status) == ("leave_return", date(2026, 12, 15), "open")
    requester, current = person(session, "副区丙"), _request(session, submitted).version
    with pytest.raises(InvalidInput, match="还没有开始"):
        service.await_return_report(session, requester, request_id, current, TODAY)
    service.record_return(session, requester, request_id, current, "无", _on(date(2026, 12, 16)))
    assert owed.status == "done"


def test_a_stale_version_moves_nothing(session) -> None:
    """A card drawn for an earlier version (e.g. before 退回 and resubmission) cannot act."""
    submitted = _filed(session, "科员庚", "12月10日", "12月10日")
    request, approver = _request(session, submitted), person(session, "局长己")
    with pytest.raises(AlreadyHandled, match="待审批"):
        transition(session, request, request.version - 1, lambda r: f"已经处理过（{r.status}→待审批）")
    service.decide(session, request.id, request.version, approver, Verdict.PASS, CONTEXT)
    assert request.status == LeaveStatus.APPROVED


def test_approving_while_a_refusal_reason_is_awaited_drops_the_prompt(session) -> None:
    submitted = _filed(session, "科员庚", "12月11日", "12月11日")
    request, approver = _request(session, submitted), person(session, "局长己")
    service.ask_reason(session, request.id, request.version, approver, Verdict.REJECT)
    assert awaited(session, approver.id, wiring().models) is not None
    service.decide(session, request.id, request.version, approver, Verdict.PASS, CONTEXT)
    assert session.get(PendingInput, approver.id) is None, "no stray prompt after the other decision won"


def test_district_head_and_executive_deputy_away_together_flags_article_9(session) -> None:
    first = _filed(session, "常务乙", "12月21日", "12月23日", kind="离包外出")
    service.decide(
        session,
        first.request_id,
        _request(session, first).version,
        person(session, "区长甲"),
        Verdict.PASS,
        CONTEXT,
    )
    submitted = _filed(session, "区长甲", "12月22日", "12月22日", kind="离包外出")
    assert any("第九条" in note for note in submitted.conflicts), "the 区长 is warned"
    assert _request(session, submitted).acting is None, "the absent 常务副区长 is not named acting"


def test_ab_partner_away_is_flagged_and_the_executive_deputy_acts_on_approval(session) -> None:
    _filed(session, "副区丁", "12月28日", "12月29日", kind="离包外出")
    submitted = _filed(session, "副区丙", "12月29日", "12月30日", kind="离包外出")
    request = _request(session, submitted)
    assert request.ab_conflict
    service.decide(session, request.id, request.version, person(session, "区长甲"), Verdict.PASS, CONTEXT)
    assert request.acting.name == "常务乙"
