"""Dates as the rules read them, through the sandbox over HTTP on SQLite and PostgreSQL (issue 18,
"Dates"): a day already past this year is not next year's; a sick leave may be reported afterwards
(补报), a trip out of the district may not (Art. 79); a meeting's date is never in the past, and the
Art. 50 deadline counts from the meeting."""

from datetime import date, datetime

from sqlalchemy import select

from bot.deadlines.models import Deadline
from bot.leave.models import LeaveRequest
from bot.sandbox.client import buttons
from tests.handlers.conftest import LiveBot
from tests.handlers.leave_steps import answer, fill_form, press, submit
from tests.handlers.test_concurrency import DIRECTOR, FINANCE_HEAD
from tests.handlers.test_workflow_defects import _accepted_topic

CLERK = 10007  # 周杰, 办公室副主任: no other test files leave for him
THURSDAY = datetime(2026, 12, 3, 10, 0)


def _start_leave(live_bot: LiveBot, kind: str) -> dict:
    client = live_bot.client
    answer(client, CLERK, "/cancel")  # an earlier test may have left a form open
    form = answer(client, CLERK, "/leave")
    return press(client, CLERK, form, kind, "请输入开始日期")


def test_a_sick_leave_typed_with_a_day_already_past_is_filed_this_year_as_reported_late(live_bot: LiveBot) -> None:
    live_bot.services.clock.set(THURSDAY)
    client = live_bot.client
    answer(client, CLERK, "/cancel")
    confirm = fill_form(client, CLERK, "病假", "12月1日", "12月2日", "发烧就医")
    assert "12月1日–12月2日" in confirm["text"] and "2027" not in confirm["text"], confirm["text"]
    card = submit(client, CLERK, confirm, "待审批")
    assert "补报：12月1日开始，12月3日提交" in card["text"], card["text"]
    request_id = int(card["text"].split("#")[1].split()[0])
    with live_bot.services.database.session() as session:
        request = session.get(LeaveRequest, request_id)
        assert (request.start_date, request.end_date) == (date(2026, 12, 1), date(2026, 12, 2))
    approval = client.wait_message(DIRECTOR, 0, f"请假审批 #{request_id}")
    assert "补报" in approval["text"], "the approver sees it was reported afterwards"


def test_a_trip_out_of_the_district_cannot_be_reported_afterwards(live_bot: LiveBot) -> None:
    live_bot.services.clock.set(THURSDAY)
    _start_leave(live_bot, "离包外出")
    reply = answer(live_bot.client, CLERK, "12月1日")
    assert "已经过去" in reply["text"] and "事先" in reply["text"] and "第七十九条" in reply["text"], reply["text"]
    answer(live_bot.client, CLERK, "/cancel")


def test_a_sick_leave_older_than_the_backdate_window_is_refused(live_bot: LiveBot) -> None:
    live_bot.services.clock.set(THURSDAY)
    _start_leave(live_bot, "病假")
    reply = answer(live_bot.client, CLERK, "11月1日")  # 32 days back; [leave] backdate_days is 30
    assert "不能再补报" in reply["text"] and "30 天" in reply["text"], reply["text"]
    answer(live_bot.client, CLERK, "/cancel")


def test_a_meeting_date_in_the_past_is_refused_and_the_art_50_deadline_counts_from_the_meeting(
    live_bot: LiveBot,
) -> None:
    client, found = live_bot.client, live_bot.services
    title = "日期：会期与第五十条"
    topic_id = _accepted_topic(live_bot, title)
    found.clock.set(THURSDAY)

    def agenda_item() -> dict:
        asked = client.send(DIRECTOR, "/agenda")
        return client.wait_message(DIRECTOR, asked["message_id"], title)

    item = agenda_item()
    client.wait_callback_answer(client.press(DIRECTOR, item, buttons(item)["📅 会期"]))
    refused = answer(client, DIRECTOR, "12月1日")
    assert "已经过去" in refused["text"], refused["text"]
    assert "已将议题" in answer(client, DIRECTOR, "12月7日")["text"]  # Monday
    item = agenda_item()
    early = client.wait_callback_answer(client.press(DIRECTOR, item, buttons(item)["通过·需发文"]))
    assert "会议召开后才能记录结果" in early["text"], early
    found.clock.set(datetime(2026, 12, 9, 16, 0))  # recorded on Wednesday, two days after the meeting
    press(client, DIRECTOR, item, "通过·需发文", "会议结果 通过")
    with found.database.session() as session:
        deadline = session.scalars(select(Deadline).where(Deadline.source == f"topic:{topic_id}")).one()
    assert deadline.due_date == date(2026, 12, 14), "5 working days after Monday 7 December, not after Wednesday"


def test_the_review_screen_echoes_the_dates_with_weekdays_working_days_and_the_approver(live_bot: LiveBot) -> None:
    live_bot.services.clock.set(THURSDAY)
    client = live_bot.client
    answer(client, FINANCE_HEAD, "/cancel")  # an earlier test may have left a form open
    confirm = fill_form(client, FINANCE_HEAD, "事假", "下周一", "下周三", "处理家事")
    assert "12月7日（周一）–12月9日（周三），共3个工作日，报 王建国 区长 审批" in confirm["text"], confirm["text"]
    answer(client, FINANCE_HEAD, "/cancel")


def test_half_days_are_read_from_one_message_counted_and_a_morning_does_not_overlap_an_afternoon(
    live_bot: LiveBot,
) -> None:
    live_bot.services.clock.set(THURSDAY)
    client = live_bot.client
    for typed, shown in (
        ("12月7日下午到12月9日上午", "12月7日（周一）下午–12月9日（周三）上午，共2个工作日"),
        ("下周一下午至周三", "12月7日（周一）下午–12月9日（周三），共2.5个工作日"),
    ):
        _start_leave(live_bot, "事假")
        form = answer(client, CLERK, typed)
        assert "请输入事由" in form["text"], form["text"]  # the end was read from the same message
        form = answer(client, CLERK, "家中有事")
        confirm = press(client, CLERK, form, "无需代行", "请核对后提交")
        assert shown in confirm["text"], confirm["text"]
    answer(client, CLERK, "/cancel")

    morning = fill_form(client, CLERK, "事假", "明天上午", "明天上午", "办理私事")
    assert "12月4日（周五）上午，共0.5个工作日" in morning["text"], morning["text"]
    assert "12月4日上午" in submit(client, CLERK, morning, "待审批")["text"]
    afternoon = fill_form(client, CLERK, "事假", "明天下午", "明天下午", "办理私事")
    assert "12月4日（周五）下午，共0.5个工作日" in afternoon["text"], afternoon["text"]
    assert "12月4日下午" in submit(client, CLERK, afternoon, "待审批")["text"], "the other half is no overlap"
    whole = fill_form(client, CLERK, "事假", "明天", "明天", "办理私事")
    refused = client.wait_callback_answer(client.press(CLERK, whole, buttons(whole)["✅ 提交"]))
    assert "时间重叠" in (refused.get("text") or ""), refused
    answer(client, CLERK, "/cancel")
