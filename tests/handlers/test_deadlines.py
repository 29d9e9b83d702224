"""Deadline reminders through the sandbox with a controllable clock: schedule, buttons, restarts, 429, 403."""

from datetime import date, datetime, timedelta

from sqlalchemy import select

from bot.db import Person
from bot.deadlines import service
from bot.sandbox.client import buttons
from bot.workflow.models import OutboxMessage
from tests.handlers.conftest import OFFICE_GROUP, PRIVATE, LiveBot

FINANCE_HEAD, DIRECTOR, OFFICE_VICE_DIRECTOR = 10008, 10005, 10007


def _create(live_bot: LiveBot, title: str, meeting_day: date, now: datetime, department: str = "区财政局") -> int:
    found = live_bot.services
    found.clock.set(now)
    deadline_id = found.run(
        lambda session: (
            service.create_deadline(
                session,
                "meeting_documents",
                meeting_day,
                found.context(session),
                title=title,
                department=department,
                source="test",
            ).id
        )
    )
    live_bot.deliver()  # the responsible side is told of the new item at once
    return deadline_id


def _about(live_bot: LiveBot, chat: int, title: str, heading: str = "") -> list[dict]:
    return [
        m for m in live_bot.client.bot_messages(chat) if title in m.get("text", "") and heading in m.get("text", "")
    ]


def _at(live_bot: LiveBot, moment: datetime) -> None:
    """Move the clock and run the delivery scan once, as the bot would at that moment."""
    live_bot.services.clock.set(moment)
    live_bot.deliver()


def test_meeting_documents_are_reminded_on_the_right_working_days(live_bot: LiveBot) -> None:
    title = "关于印发2027年预算执行方案的通知"
    _create(live_bot, title, date(2027, 3, 1), datetime(2027, 3, 1, 17, 0))  # Monday meeting: due Monday 8 March
    [announced] = _about(live_bot, FINANCE_HEAD, title, "新的期限事项")
    assert "到期：3月8日" in announced["text"], "the department hears of the item when it is created"
    _at(live_bot, datetime(2027, 3, 4, 16, 0))
    assert _about(live_bot, FINANCE_HEAD, title, "⏰") == []
    _at(live_bot, datetime(2027, 3, 5, 8, 59))
    assert _about(live_bot, FINANCE_HEAD, title, "⏰") == [], "never before working hours"
    _at(live_bot, datetime(2027, 3, 5, 9, 1))
    # Friday's reminder of a Monday deadline says Monday, not "tomorrow".
    [before] = _about(live_bot, FINANCE_HEAD, title, "下一个工作日 3月8日到期")
    assert "到期：3月8日" in before["text"] and "依据：第五十条" in before["text"]
    assert before["text"].startswith("⏰ 文件印发期限"), "the heading is the rule's, from rules.toml"
    assert set(buttons(before)) == {"已办结", "延后", "查看依据"}
    _at(live_bot, datetime(2027, 3, 6, 10, 0))  # Saturday: nothing
    _at(live_bot, datetime(2027, 3, 8, 9, 30))
    [due] = _about(live_bot, FINANCE_HEAD, title, "今日到期")
    why = live_bot.client.press(FINANCE_HEAD, due, buttons(due)["查看依据"])
    live_bot.client.wait_callback_answer(why)
    assert live_bot.client.wait_for(
        lambda: _about(live_bot, FINANCE_HEAD, "第五十条（第八章 会议制度）"), "the article"
    )


def test_snooze_adds_one_reminder_and_done_stops_the_rest(live_bot: LiveBot) -> None:
    client = live_bot.client
    title = "关于调整停车收费标准的通知"
    _create(live_bot, title, date(2027, 4, 12), datetime(2027, 4, 12, 17, 0))  # due Monday 19 April
    _at(live_bot, datetime(2027, 4, 16, 9, 5))
    [before] = _about(live_bot, FINANCE_HEAD, title, "下一个工作日 4月19日到期")
    snoozed = client.wait_callback_answer(client.press(FINANCE_HEAD, before, buttons(before)["延后"]))
    assert "4月16日 11:05 再提醒一次" in snoozed["text"]
    _at(live_bot, datetime(2027, 4, 16, 11, 6))
    [again] = _about(live_bot, FINANCE_HEAD, title, "延后提醒")
    wrong = client.wait_callback_answer(client.press(PRIVATE["deputy"], again, buttons(again)["已办结"], forged=True))
    assert "只有承办部门" in wrong["text"]
    client.wait_callback_answer(client.press(FINANCE_HEAD, again, buttons(again)["已办结"]))
    # A double tap: the second press comes from the view before the first redrew the reminder.
    twice = client.wait_callback_answer(client.press(FINANCE_HEAD, again, buttons(again)["已办结"], forged=True))
    assert "已经办结" in twice["text"]
    _at(live_bot, datetime(2027, 4, 19, 9, 30))
    _at(live_bot, datetime(2027, 4, 20, 9, 30))
    assert _about(live_bot, FINANCE_HEAD, title, "今日到期") == []
    assert _about(live_bot, OFFICE_GROUP, title) == [], "a closed item never escalates"


def test_overdue_item_escalates_once_to_the_office_group(live_bot: LiveBot) -> None:
    title = "关于公布区级行政许可事项清单的通知"
    _create(live_bot, title, date(2027, 5, 10), datetime(2027, 5, 10, 17, 0))  # due 17 May, escalates 18 May
    _at(live_bot, datetime(2027, 5, 18, 9, 30))
    assert len(_about(live_bot, OFFICE_GROUP, title, "逾期未办结")) == 1
    _at(live_bot, datetime(2027, 5, 19, 9, 30))
    assert len(_about(live_bot, OFFICE_GROUP, title, "逾期未办结")) == 1


def test_a_restart_midway_loses_and_doubles_nothing(live_bot: LiveBot) -> None:
    title = "关于进一步规范公文报送的通知"
    _create(live_bot, title, date(2027, 6, 7), datetime(2027, 6, 7, 17, 0))  # due 15 June (Dragon Boat 9 June)
    _at(live_bot, datetime(2027, 6, 14, 9, 30))
    assert len(_about(live_bot, FINANCE_HEAD, title, "明日到期")) == 1
    live_bot.restart()
    _at(live_bot, datetime(2027, 6, 14, 9, 45))
    live_bot.restart()
    _at(live_bot, datetime(2027, 6, 15, 9, 30))
    _at(live_bot, datetime(2027, 6, 15, 10, 0))
    assert len(_about(live_bot, FINANCE_HEAD, title, "明日到期")) == 1
    assert len(_about(live_bot, FINANCE_HEAD, title, "今日到期")) == 1


def test_injected_429s_delay_a_reminder_but_do_not_lose_it(live_bot: LiveBot) -> None:
    title = "关于开展安全生产大检查的通知"
    _create(live_bot, title, date(2027, 7, 5), datetime(2027, 7, 5, 17, 0))
    live_bot.client.inject_fault("sendMessage", 429, count=3, retry_after=1)
    for second in (0, 5, 10, 15):  # the clock passes each retry_after the Bot API asked for
        _at(live_bot, datetime(2027, 7, 9, 9, 30) + timedelta(seconds=second))
    assert len(_about(live_bot, FINANCE_HEAD, title, "7月12日到期")) == 1


def test_a_chat_that_blocked_the_bot_is_recorded_and_reported_to_admins(live_bot: LiveBot) -> None:
    title = "关于报送年度统计报表的通知"
    client = live_bot.client
    _create(live_bot, title, date(2027, 8, 2), datetime(2027, 8, 2, 17, 0))
    client.set_blocked(FINANCE_HEAD, True)
    try:
        _at(live_bot, datetime(2027, 8, 6, 9, 30))
        report = _about(live_bot, DIRECTOR, "陈静（部门主要负责人）的私聊", "无法送达")
        assert "bot was blocked" in report[0]["text"]
        with live_bot.services.database.session() as session:
            head = session.scalars(select(Person).where(Person.telegram_user_id == FINANCE_HEAD)).one()
            mine = OutboxMessage.recipient == f"person:{head.id}"
            statuses = session.scalars(select(OutboxMessage.status).where(mine)).all()
        assert "failed" in statuses
    finally:
        client.set_blocked(FINANCE_HEAD, False)


def test_adhoc_deadline_and_consultation_commands(live_bot: LiveBot) -> None:
    client = live_bot.client
    live_bot.services.clock.set(datetime(2027, 9, 6, 10, 0))
    before = client.messages(FINANCE_HEAD)[-1]["message_id"]
    [created] = client.ask(DIRECTOR, "/deadline 报送三季度工作总结，3个工作日，@区财政局")
    assert "报送三季度工作总结" in created["text"] and "到期：9月9日" in created["text"]
    client.wait_message(FINANCE_HEAD, before, "新的期限事项", "报送三季度工作总结")
    [bad] = client.ask(DIRECTOR, "/deadline 报送材料，@不存在的局")
    assert "请写明期限" in bad["text"]
    [consult] = client.ask(DIRECTOR, "/consult 关于老旧小区改造方案的意见，@区住房和城乡建设局")
    assert "依据：第六十条" in consult["text"] and "逾期不回复视为无不同意见" in consult["text"]
    asked = client.send(FINANCE_HEAD, "/deadlines")
    listed = client.wait_for(
        lambda: [
            m for m in client.bot_messages(FINANCE_HEAD, asked["message_id"]) if "报送三季度工作总结" in m["text"]
        ],
        "the ad-hoc item in the department's list",
    )
    assert set(buttons(listed[0])) == {"已办结", "延后", "查看依据"}
    [staff_list] = client.ask(OFFICE_VICE_DIRECTOR, "/deadlines")  # someone nothing is due from
    assert "没有未办结的期限事项" in staff_list["text"]
