"""One test per defect found in the first build's workflows (issue 9), through the sandbox over
HTTP on SQLite and PostgreSQL: Bot API faults around a decision, undeliverable chats, slow sends,
stale cards, meeting outcomes, forged and repeated presses, /cancel at a button step."""

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.leave.models import LeaveRequest
from bot.sandbox.client import buttons
from bot.topics import service as topics
from bot.topics.models import Topic
from bot.workflow import outbox
from bot.workflow.models import OutboxMessage, OutboxStatus
from bot.workflow.review import Verdict
from tests.handlers.conftest import OFFICE_GROUP, LiveBot
from tests.handlers.leave_steps import answer
from tests.handlers.test_concurrency import (
    DEPUTY,
    DEPUTY_B,
    DIRECTOR,
    FINANCE_HEAD,
    HEAD,
    HOUSING_HEAD,
    STAFF,
    _card,
    _file_leave,
    _last_id,
    _person,
    _submitted_topic,
)


def _step_clock(live_bot: LiveBot, seconds: int) -> None:
    """Let the bot's clock pass the retry pauses and deliver what fell due."""
    clock = live_bot.services.clock
    for _ in range(seconds // 5):
        clock.set(clock.now() + timedelta(seconds=5))
        live_bot.deliver()


def test_bot_api_errors_around_a_decision_lose_no_message(live_bot: LiveBot) -> None:
    client = live_bot.client
    marks = {chat: _last_id(client, chat) for chat in (DEPUTY, DEPUTY_B, OFFICE_GROUP)}
    request_id = _file_leave(live_bot.services, DEPUTY, "离包外出", "2027-12-15", "2027-12-16", acting=DEPUTY_B)
    card = _card(client, HEAD, f"请假审批 #{request_id}")
    client.inject_fault("answerCallbackQuery", 500)
    client.inject_fault("editMessageText", 502)
    client.inject_fault("sendMessage", 500)
    query = client.press(HEAD, card, buttons(card)["批准"])
    _step_clock(live_bot, 60)
    assert client.callback_answer(query)["answered"] is False, "the failed answer was not retried as an apology"
    assert len(client.wait_message(DEPUTY, marks[DEPUTY], f"#{request_id}", "结果：已批准")) > 0
    client.wait_message(DEPUTY_B, marks[DEPUTY_B], "期间由您代行职责")
    client.wait_message(OFFICE_GROUP, marks[OFFICE_GROUP], "张伟副区长 2027年12月15日")
    assert "reply_markup" not in client.wait_edit(card, "结果：已批准")
    assert not any("抱歉" in m["text"] for m in client.bot_messages(HEAD, card["message_id"]))


def test_a_chat_that_does_not_exist_fails_once_and_the_admins_are_told(live_bot: LiveBot) -> None:
    found, client = live_bot.services, live_bot.client
    request_id = _file_leave(live_bot.services, STAFF, "事假", "2027-12-17", "2027-12-17")
    before = _last_id(client, DIRECTOR)
    found.run(lambda s: outbox.notice(s, -1009999999, "leave.group_back", found.clock.now(), request_id=request_id))
    live_bot.deliver()
    report = client.wait_message(DIRECTOR, before, "无法送达", "-1009999999")
    assert "chat not found" in report["text"].lower()
    _step_clock(live_bot, 60)
    with found.database.session() as session:
        row = session.scalars(select(OutboxMessage).where(OutboxMessage.recipient == "chat:-1009999999")).one()
    assert (row.status, row.attempts) == (OutboxStatus.FAILED, 1), "a permanent 400 is not retried"


def test_a_send_that_times_out_but_was_delivered_is_not_sent_again(live_bot: LiveBot) -> None:
    found, client = live_bot.services, live_bot.client
    request_id = _file_leave(live_bot.services, FINANCE_HEAD, "事假", "2027-12-20", "2027-12-20")
    before = _last_id(client, DIRECTOR)
    client.inject_fault("sendMessage", 200, delay_s=6)  # longer than the bot waits for an answer
    found.run(lambda s: outbox.notice(s, OFFICE_GROUP, "leave.group_back", found.clock.now(), request_id=request_id))
    live_bot.deliver()
    _step_clock(live_bot, 30)
    sent = [m for m in client.bot_messages(OFFICE_GROUP) if "陈静部门主要负责人 已销假返岗" in m["text"]]
    assert len(sent) == 1
    assert not client.bot_messages(DIRECTOR, before), "nothing to report: the outcome is unknown, not failed"


def test_an_old_approval_card_cannot_approve_the_revised_request(live_bot: LiveBot) -> None:
    found, client = live_bot.services, live_bot.client
    request_id = _file_leave(live_bot.services, STAFF, "事假", "2027-12-21", "2027-12-21")
    old = _card(client, FINANCE_HEAD, f"请假审批 #{request_id}")
    client.wait_callback_answer(client.press(FINANCE_HEAD, old, buttons(old)["退回补充"]))
    answer(client, FINANCE_HEAD, "请写明事由")
    returned = client.wait_message(STAFF, 0, f"请假单 #{request_id}", "已退回补充")
    client.wait_callback_answer(client.press(STAFF, returned, buttons(returned)["修改后重新提交"]))
    twice = client.wait_callback_answer(client.press(STAFF, returned, buttons(returned)["修改后重新提交"], forged=True))
    assert "已经处理过" in twice["text"], "the second press is answered, not lost"
    form = client.wait_message(STAFF, returned["message_id"], "请核对后提交")
    client.wait_callback_answer(client.press(STAFF, form, buttons(form)["✅ 提交"]))
    assert "请以新的审批消息为准" in client.wait_edit(old, "请以新的审批消息为准")["text"]
    stale = client.wait_callback_answer(client.press(FINANCE_HEAD, old, buttons(old)["批准"], forged=True))
    assert "已经处理过" in stale["text"] or "已退回补充" in stale["text"]
    with found.database.session() as session:
        assert session.get(LeaveRequest, request_id).status == "pending"


def _accepted_topic(live_bot: LiveBot, title: str) -> int:
    found = live_bot.services
    topic_id = _submitted_topic(live_bot.services, "全体会议", title)

    def decide(session: Session) -> None:
        topic = session.get(Topic, topic_id)
        topics.decide(session, topic_id, 0, topic.version, _person(session, HEAD), Verdict.PASS, found.context(session))

    found.run(decide)
    return topic_id


def test_deferred_topic_stays_on_the_agenda_and_a_failed_one_goes_back_for_revision(live_bot: LiveBot) -> None:
    client, found = live_bot.client, live_bot.services
    deferred, failed = _accepted_topic(live_bot, "缺陷：暂缓议题"), _accepted_topic(live_bot, "缺陷：未通过议题")
    asked = client.send(DIRECTOR, "/agenda")
    item = client.wait_message(DIRECTOR, asked["message_id"], "缺陷：暂缓议题")
    client.wait_callback_answer(client.press(DIRECTOR, item, buttons(item)["暂缓"]))
    asked = client.send(DIRECTOR, "/agenda")
    item = client.wait_message(DIRECTOR, asked["message_id"], "缺陷：未通过议题")
    client.wait_callback_answer(client.press(DIRECTOR, item, buttons(item)["不通过"]))
    with found.database.session() as session:
        assert session.get(Topic, deferred).status == "accepted", "暂缓: still to be scheduled"
        assert session.get(Topic, failed).status == "returned", "不通过: back to the requester"
    asked = client.send(DIRECTOR, "/agenda")
    client.wait_message(DIRECTOR, asked["message_id"], "缺陷：暂缓议题")
    back = client.wait_message(HOUSING_HEAD, 0, f"议题 #{failed} 被退回修改")
    assert "修改后重新提交" in buttons(back)


def test_forged_checklist_value_is_answered_with_a_message(live_bot: LiveBot) -> None:
    client = live_bot.client
    form = answer(client, HOUSING_HEAD, "/topic")
    draft = form["text"].split("#")[1].split()[0]
    forged = client.wait_callback_answer(
        client.press(HOUSING_HEAD, form, f"tf:{draft}:f:check.bogus:done", forged=True)
    )
    assert forged["show_alert"] and "失效" in forged["text"]
    assert "已取消" in answer(client, HOUSING_HEAD, "/cancel")["text"]


def test_cancel_works_at_a_button_step(live_bot: LiveBot) -> None:
    client, found = live_bot.client, live_bot.services
    form = answer(client, DEPUTY_B, "/leave")
    assert "请选择请假类型" in form["text"]
    assert "已取消" in answer(client, DEPUTY_B, "/cancel")["text"]
    with found.database.session() as session:
        drafts = session.scalars(
            select(LeaveRequest).where(
                LeaveRequest.requester_id == _person(session, DEPUTY_B).id, LeaveRequest.status == "draft"
            )
        ).all()
    assert drafts == []
