"""Who acts while a leader is away (Art. 79, Art. 9) and approvals as offices expect them (issue 18),
end to end through the sandbox over HTTP, on SQLite and PostgreSQL: acting re-derived when another
leave changes, the 区长 asked to entrust a 副区长, the form never offering someone away, pending
approvals reminded and escalated on the stepped clock, an approved leave withdrawn before it starts."""

import re
from datetime import datetime

from sqlalchemy import func, select

from bot.sandbox.client import Message, buttons
from bot.workflow.models import Subject, WorkflowEvent
from tests.handlers.conftest import OFFICE_GROUP, LiveBot
from tests.handlers.leave_steps import answer, fill_form, press, submit
from tests.handlers.test_concurrency import (
    DEPUTY,
    DEPUTY_B,
    EXECUTIVE,
    FINANCE_HEAD,
    HEAD,
    _card,
    _count,
    _file_leave,
    _last_id,
    _one_winner,
    _press_together,
)


def _number(message: Message) -> int:
    return int(message["text"].split("#")[1].split()[0].rstrip("）"))


def _approve(live_bot: LiveBot, request_id: int) -> None:
    client = live_bot.client
    card = _card(client, HEAD, f"请假审批 #{request_id}")
    client.wait_callback_answer(client.press(HEAD, card, buttons(card)["批准"]))
    client.wait_edit(card, "结果：已批准")


def _marks(live_bot: LiveBot, *chats: int) -> dict[int, int]:
    live_bot.deliver()  # what earlier steps owed has gone out before the marks are taken
    return {chat: _last_id(live_bot.client, chat) for chat in chats}


def test_partner_filing_after_approval_hands_acting_to_the_executive_deputy_and_tells_everyone_once(
    live_bot: LiveBot,
) -> None:
    client, found = live_bot.client, live_bot.services
    confirm = fill_form(
        client, DEPUTY, "离包外出", "2027-09-13", "2027-09-15", "招商", destination="深圳", acting="刘洋"
    )
    mine = submit(client, DEPUTY, confirm, "已提交给 王建国")
    request_id = _number(confirm)
    _approve(live_bot, request_id)
    approval = _card(client, HEAD, f"请假审批 #{request_id}")
    marks = _marks(live_bot, DEPUTY, DEPUTY_B, EXECUTIVE, OFFICE_GROUP)

    partner_leave = _file_leave(found, DEPUTY_B, "事假", "2027-09-14", "2027-09-14")

    told = client.wait_message(EXECUTIVE, marks[EXECUTIVE], "期间改由您代行职责")
    assert "刘洋 同期不在岗" in told["text"] and "第七十九条" in told["text"]
    client.wait_message(DEPUTY_B, marks[DEPUTY_B], "您不再代行")
    client.wait_message(DEPUTY, marks[DEPUTY], f"请假单 #{request_id}", "改由 李明华 代行职责")
    group = client.wait_message(OFFICE_GROUP, marks[OFFICE_GROUP], "更正", "改由 李明华 代行职责")
    assert "事假" not in group["text"], "the group never reads the kind of a personal leave"
    assert "代行职责：李明华（刘洋 同期不在岗）" in client.wait_edit(mine, "代行职责：李明华")["text"]
    redrawn = client.wait_edit(approval, "代行职责：李明华")
    assert "AB角 刘洋 同期也不在岗" in redrawn["text"] and "第七十九条" in redrawn["text"]
    theirs = _card(client, HEAD, f"请假审批 #{partner_leave}")
    assert "AB角 张伟 同期也不在岗" in theirs["text"], "the partner's approver sees the conflict too"
    live_bot.deliver()
    assert _count(client, EXECUTIVE, marks[EXECUTIVE], "期间改由您代行职责") == 1
    assert _count(client, DEPUTY_B, marks[DEPUTY_B], "您不再代行") == 1
    assert _count(client, DEPUTY, marks[DEPUTY], "改由 李明华 代行职责") == 1
    assert _count(client, OFFICE_GROUP, marks[OFFICE_GROUP], "更正") == 1


def test_withdrawing_an_approved_leave_before_it_starts_tells_everyone_and_gives_acting_back(
    live_bot: LiveBot,
) -> None:
    client, found = live_bot.client, live_bot.services
    deputy_leave = _file_leave(found, DEPUTY, "离包外出", "2027-09-20", "2027-09-22", acting=DEPUTY_B)
    _approve(live_bot, deputy_leave)
    confirm = fill_form(client, DEPUTY_B, "休假", "2027-09-21", "2027-09-21", "年休假")
    partner_leave = _number(confirm)
    card = submit(client, DEPUTY_B, confirm, "已提交给 王建国")
    _approve(live_bot, partner_leave)
    card = client.wait_for(
        lambda: (m := client.message(DEPUTY_B, card["message_id"])) and "撤销" in buttons(m) and m, "the 撤销 button"
    )
    assert "销假" not in buttons(card), "before the leave starts it is withdrawn, not closed by 销假"
    marks = _marks(live_bot, HEAD, DEPUTY, DEPUTY_B, EXECUTIVE, OFFICE_GROUP)

    pressed = client.wait_callback_answer(client.press(DEPUTY_B, card, buttons(card)["撤销"]))

    assert pressed["text"] == "已撤销"
    client.wait_message(HEAD, marks[HEAD], f"撤销了已批准的请假单 #{partner_leave}")
    client.wait_message(EXECUTIVE, marks[EXECUTIVE], "撤销了", "您无需代行职责")
    client.wait_message(OFFICE_GROUP, marks[OFFICE_GROUP], "刘洋副区长 撤销了", "休假")
    assert "reply_markup" not in client.wait_edit(card, "已撤回")
    # 张伟's leave no longer clashes: his AB partner acts again, and the 常务副区长 is released.
    client.wait_message(DEPUTY_B, marks[DEPUTY_B], "期间改由您代行职责")
    client.wait_message(EXECUTIVE, marks[EXECUTIVE], "您不再代行")
    client.wait_message(DEPUTY, marks[DEPUTY], f"请假单 #{deputy_leave}", "改由 刘洋 代行职责")
    live_bot.deliver()
    assert _count(client, OFFICE_GROUP, marks[OFFICE_GROUP], "改由 刘洋 代行职责") == 1
    again = client.wait_callback_answer(client.press(DEPUTY_B, card, buttons(card)["撤销"], forged=True))
    assert again["show_alert"] and "已撤回" in again["text"]


def test_district_head_and_executive_deputy_away_together_the_head_entrusts_a_deputy(live_bot: LiveBot) -> None:
    client, clock = live_bot.client, live_bot.services.clock
    confirm = fill_form(client, HEAD, "休假", "2027-09-27", "2027-09-29", "年休假", acting="李明华（默认）")
    submit(client, HEAD, confirm, "已备案")
    head_leave = _number(confirm)
    marks = _marks(live_bot, HEAD, DEPUTY, EXECUTIVE, OFFICE_GROUP)

    executive = fill_form(client, EXECUTIVE, "事假", "2027-09-28", "2027-09-28", "家中有事")
    submit(client, EXECUTIVE, executive, "已提交给 王建国")

    asked = client.wait_message(HEAD, marks[HEAD], f"委托主持工作（请假单 #{head_leave}）")
    assert "第九条" in asked["text"]
    assert {"委托 张伟", "委托 刘洋"} <= set(buttons(asked)), "the 区长 chooses with buttons"
    client.wait_message(EXECUTIVE, marks[EXECUTIVE], "您不再代行")
    client.wait_message(OFFICE_GROUP, marks[OFFICE_GROUP], "更正", "区长委托的副区长（待定）")
    clock.set(datetime(2026, 12, 2, 9, 5))  # the next working morning, still unanswered
    live_bot.deliver()
    reminder = client.wait_message(HEAD, asked["message_id"], f"委托主持工作（请假单 #{head_leave}）")

    chosen = client.wait_callback_answer(client.press(HEAD, reminder, buttons(reminder)["委托 张伟"]))

    assert chosen["text"] == "已委托 张伟 主持工作"
    told = client.wait_message(DEPUTY, marks[DEPUTY], "期间改由您代行职责", "受区长委托主持工作")
    assert "第九条" in told["text"]
    client.wait_message(OFFICE_GROUP, marks[OFFICE_GROUP], "改由 张伟 代行职责")
    assert "reply_markup" not in client.wait_edit(asked, "期间由 张伟 主持工作")
    clock.set(datetime(2026, 12, 3, 9, 5))
    live_bot.deliver()
    assert _count(client, HEAD, marks[HEAD], f"委托主持工作（请假单 #{head_leave}）") == 2, "no reminder once answered"


def test_the_form_never_offers_someone_away_and_the_review_shows_each_conflict_with_its_article(
    live_bot: LiveBot,
) -> None:
    client, found = live_bot.client, live_bot.services
    _file_leave(found, DEPUTY_B, "事假", "2027-10-18", "2027-10-18")
    _file_leave(found, EXECUTIVE, "事假", "2027-10-20", "2027-10-20")

    form = answer(client, DEPUTY, "/leave")
    form = press(client, DEPUTY, form, "离包外出", "请输入开始日期")
    for text in ("2027-10-18", "2027-10-19", "上海"):
        form = answer(client, DEPUTY, text)
    form = answer(client, DEPUTY, "学习")
    assert "李明华（默认）" in buttons(form) and not any(label.startswith("刘洋") for label in buttons(form))
    assert "AB角 刘洋 同期也不在岗" in form["text"] and "第七十九条" in form["text"]
    review = answer(client, DEPUTY, "刘洋")  # typed anyway: the review screen says who will act and why
    assert "代行职责：李明华（刘洋 同期不在岗）" in review["text"]
    assert "⚠️ AB角 刘洋 同期也不在岗" in review["text"] and "第七十九条" in review["text"]
    assert "已取消" in answer(client, DEPUTY, "/cancel")["text"]

    form = answer(client, HEAD, "/leave")
    form = press(client, HEAD, form, "休假", "请输入开始日期")
    for text in ("2027-10-20", "2027-10-20"):
        form = answer(client, HEAD, text)
    form = answer(client, HEAD, "年休假")
    assert not any(label.startswith("李明华") for label in buttons(form))
    assert "委托 张伟（第九条）" in buttons(form) and "第九条" in form["text"]
    assert "已取消" in answer(client, HEAD, "/cancel")["text"]


def test_five_entrust_presses_entrust_once_and_tell_once(live_bot: LiveBot) -> None:
    client, found = live_bot.client, live_bot.services
    head_leave = _file_leave(found, HEAD, "休假", "2027-10-25", "2027-10-26", acting=EXECUTIVE)
    marks = _marks(live_bot, DEPUTY_B, OFFICE_GROUP)
    _file_leave(found, EXECUTIVE, "事假", "2027-10-26", "2027-10-26")
    card = _card(client, HEAD, f"委托主持工作（请假单 #{head_leave}）")

    winner = _one_winner(_press_together(client, HEAD, card, buttons(card)["委托 刘洋"]))

    assert winner["text"] == "已委托 刘洋 主持工作"
    live_bot.deliver()
    assert _count(client, DEPUTY_B, marks[DEPUTY_B], "期间改由您代行职责", "受区长委托主持工作") == 1
    assert _count(client, OFFICE_GROUP, marks[OFFICE_GROUP], "改由 刘洋 代行职责") == 1
    with found.database.session() as session:
        entrusted = session.scalar(
            select(func.count()).where(
                WorkflowEvent.subject == Subject.LEAVE,
                WorkflowEvent.subject_id == head_leave,
                WorkflowEvent.action == "entrusted",
            )
        )
    assert entrusted == 1


def test_an_unanswered_entrustment_is_reminded_each_working_morning_until_the_leave_ends(live_bot: LiveBot) -> None:
    client, found, clock = live_bot.client, live_bot.services, live_bot.services.clock
    head_leave = _file_leave(found, HEAD, "休假", "2026-12-14", "2026-12-16", acting=EXECUTIVE)  # asked 12月1日
    _file_leave(found, EXECUTIVE, "事假", "2026-12-15", "2026-12-15")
    question = f"委托主持工作（请假单 #{head_leave}）"
    _card(client, HEAD, question)
    asked = 1
    # Eleven working mornings from 12月2日 to the leave's last day (more than a week: no cap), then none.
    mornings = [datetime(2026, 12, day, 9, 5) for day in (2, 3, 4, 7, 8, 9, 10, 11, 14, 15, 16)]
    for morning in [*mornings, datetime(2026, 12, 17, 9, 5), datetime(2026, 12, 18, 9, 5)]:
        clock.set(morning)
        live_bot.deliver()
        asked += morning in mornings
        assert _count(client, HEAD, 0, question) == asked, morning
    reminder = client.wait_message(HEAD, 0, question)
    assert {"委托 张伟", "委托 刘洋"} <= set(buttons(reminder)), "each reminder can be answered"


def test_deputy_whose_partner_and_executive_deputy_are_away_gets_an_acting_person_named_by_the_head(
    live_bot: LiveBot,
) -> None:
    client, found = live_bot.client, live_bot.services
    request_id = _file_leave(found, DEPUTY, "离包外出", "2027-11-08", "2027-11-10", acting=DEPUTY_B)
    _approve(live_bot, request_id)
    _file_leave(found, DEPUTY_B, "事假", "2027-11-09", "2027-11-09")
    marks = _marks(live_bot, HEAD, DEPUTY, EXECUTIVE, OFFICE_GROUP)

    _file_leave(found, EXECUTIVE, "事假", "2027-11-09", "2027-11-09")  # Art. 79 names nobody further

    asked = client.wait_message(HEAD, marks[HEAD], f"指定代行职责（请假单 #{request_id}）")
    assert "第七十九条对此未作规定" in asked["text"] and "请区长指定" in asked["text"]
    client.wait_message(EXECUTIVE, marks[EXECUTIVE], "您不再代行")
    client.wait_message(DEPUTY, marks[DEPUTY], f"请假单 #{request_id}", "由区长指定（待定）")
    client.wait_message(OFFICE_GROUP, marks[OFFICE_GROUP], "更正", "由区长指定（待定）")
    assert set(buttons(asked)) == {"由我本人代行"}, "no other 副区长 is free: the 区长 may take it on himself"

    chosen = client.wait_callback_answer(client.press(HEAD, asked, buttons(asked)["由我本人代行"]))

    assert chosen["text"] == "已指定 王建国 代行职责"
    client.wait_message(HEAD, marks[HEAD], "期间改由您代行职责", "由区长指定")
    client.wait_message(DEPUTY, marks[DEPUTY], "期间改由 王建国 代行职责", "由区长指定")
    client.wait_message(OFFICE_GROUP, marks[OFFICE_GROUP], "改由 王建国 代行职责")
    assert "reply_markup" not in client.wait_edit(asked, "期间由 王建国 代行职责")


def test_a_pending_approval_is_reminded_then_escalated_then_marked_overdue(live_bot: LiveBot) -> None:
    client, clock = live_bot.client, live_bot.services.clock
    marks = _marks(live_bot, HEAD, FINANCE_HEAD, OFFICE_GROUP)
    request_id = _file_leave(live_bot.services, FINANCE_HEAD, "休假", "2026-12-03", "2026-12-03")  # Tuesday 10:00
    approval = _card(client, HEAD, f"请假审批 #{request_id}")

    def cards() -> int:
        """The approval card and its reminders (each redrawn in place; #12 is not #1)."""
        return len(
            [m for m in client.bot_messages(HEAD, marks[HEAD]) if re.search(f"请假审批 #{request_id}\\D", m["text"])]
        )

    clock.set(datetime(2026, 12, 1, 13, 55))
    live_bot.deliver()
    assert cards() == 1, "four working hours have not passed"
    clock.set(datetime(2026, 12, 1, 14, 5))
    live_bot.deliver()
    reminder = client.wait_message(HEAD, marks[HEAD], f"请假审批 #{request_id} 仍在等待您审批")
    assert "批准" in buttons(reminder)
    assert _count(client, OFFICE_GROUP, marks[OFFICE_GROUP], "督办", f"#{request_id}") == 0
    clock.set(datetime(2026, 12, 2, 9, 5))  # eight working hours: the office is told, with the article
    live_bot.deliver()
    escalated = client.wait_message(OFFICE_GROUP, marks[OFFICE_GROUP], "请办公室督办", f"#{request_id}")
    assert "王建国 尚未审批" in escalated["text"] and "第七十九条" in escalated["text"]
    clock.set(datetime(2026, 12, 3, 9, 5))  # its first day, still pending
    live_bot.deliver()
    told = client.wait_message(FINANCE_HEAD, marks[FINANCE_HEAD], f"请假单 #{request_id}", "逾期未批")
    assert "王建国 仍未审批" in told["text"]
    client.wait_edit(approval, "逾期未批")
    clock.set(datetime(2026, 12, 4, 9, 5))
    live_bot.deliver()
    assert cards() == 2, "one reminder, drawn as the card it reminds of"
    assert _count(client, OFFICE_GROUP, marks[OFFICE_GROUP], "督办", f"#{request_id}") == 1
