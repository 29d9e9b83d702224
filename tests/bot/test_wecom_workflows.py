"""Leave approval, topic review and deadline reminders in WeCom, end to end over real HTTP on the stand-in, on
SQLite and PostgreSQL: the same scenario the Telegram suites run (tests/handlers/test_leave.py,
test_concurrency.py, test_deadlines.py), through the other channel. A 副区长's 离包外出 reaches the
区长 as a template card with 批准 / 不批准 / 退回补充; pressing a button runs the same decision,
updates that card in place (its response code) and tells the requester and the AB partner; five
presses at once decide once; a department's reminder reaches its application group chat; a topic's
review card passes its stage the same way.

Leaves and topics are filed through the domain (forms are filled in Telegram); every press is a
callback."""

import asyncio
from dataclasses import replace
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.deadlines import service as deadlines
from bot.leave.models import LeaveRequest
from bot.services import Services
from bot.wecom.render import DONE_TEXT
from bot.wecom.standin import Sent
from bot.workflow.models import Subject, WorkflowEvent
from tests.bot.wecom_chat import WeComChat, chat_fixture
from tests.handlers.test_concurrency import _file_leave, _submitted_topic

HEAD, DEPUTY, DEPUTY_B, DIRECTOR = "wangjianguo", "zhangwei", "liuyang", "zhaomin"
DEPUTY_TG, DEPUTY_B_TG = 10003, 10004  # the same people's Telegram ids, which the filing helper names
FINANCE_CHAT = "finance"


def _in_wecom_with_a_finance_group(found: Services) -> Services:
    """WeCom with the office's group and 区财政局's, on a Monday morning."""
    assert found.settings.wecom is not None
    groups = {**found.settings.wecom.groups, "区财政局": FINANCE_CHAT}
    services = replace(found, settings=replace(found.settings, wecom=replace(found.settings.wecom, groups=groups)))
    services.clock.set(datetime(2027, 3, 1, 10, 0))
    return services


chat = chat_fixture("zhengwu_wecom_workflows", _in_wecom_with_a_finance_group, channel="wecom")


def _cards(chat: WeComChat, userid: str, *contains: str) -> list[Sent]:
    return [
        s
        for s in chat.standin.messages_for(userid)
        if s.msgtype == "template_card" and all(c in s.text for c in contains)
    ]


async def _approval_card(
    chat: WeComChat, who: int, start: str, end: str, acting: int | None = None
) -> tuple[int, Sent]:
    request_id = await asyncio.to_thread(_file_leave, chat.services, who, "离包外出", start, end, acting)
    await chat.handled()
    cards = _cards(chat, HEAD, f"请假审批 #{request_id}")
    assert len(cards) == 1
    return request_id, cards[0]


async def test_a_deputys_leave_is_decided_on_its_card_and_everyone_is_told(chat: WeComChat) -> None:
    request_id, card = await _approval_card(chat, DEPUTY_TG, "2027-03-03", "2027-03-04", acting=DEPUTY_B_TG)
    assert list(card.buttons) == ["批准", "不批准", "退回补充"]
    assert "申请人：张伟（副区长）" in card.text and "类型：离包外出" in card.text
    requester_before = len(chat.standin.messages_for(DEPUTY))

    told = await chat.press(HEAD, card, "批准")

    assert told == "已批准"
    assert len(card.updates) == 1, "the pressed card itself is updated, with the press's response code"
    assert "结果：已批准（王建国" in card.text and DONE_TEXT in card.text and not card.buttons
    [mine] = chat.standin.messages_for(DEPUTY)[requester_before:]  # 撤销 is not pressed in WeCom yet: text
    assert f"我的请假单 ＃{request_id}" in mine.text and "结果：已批准（王建国" in mine.text, "markdown: # as text"
    assert any("期间由您代行职责" in s.text for s in chat.standin.messages_for(DEPUTY_B))
    office = chat.standin.chats[chat.services.settings.wecom.groups["office"]]["messages"]
    assert any("张伟副区长" in s.text and "离包外出" in s.text for s in office), "the office group is told"


async def test_a_refusal_asks_for_its_reason_and_a_spent_response_code_sends_the_card_anew(
    chat: WeComChat,
) -> None:
    request_id, card = await _approval_card(chat, DEPUTY_B_TG, "2027-03-10", "2027-03-10")

    asked = await chat.press(HEAD, card, "不批准")
    assert asked == f"请输入不批准的理由（请假单 #{request_id}，发送 /cancel 放弃）："
    task_id = card.body["template_card"]["task_id"]
    for issued in chat.standin.response_codes.values():  # the platform lets the card's codes lapse
        issued.used = issued.used or issued.task_id == task_id
    updates = chat.standin.api_calls.count("message/update_template_card")
    decided = await chat.ask(HEAD, "同期有重要会议")

    assert decided.startswith(f"已处理请假单 #{request_id}：不批准。")
    assert chat.standin.api_calls.count("message/update_template_card") == updates + 1, "tried, refused"
    assert not card.updates, "a lapsed code updates nothing"
    again = [s.text for s in chat.standin.messages_for(HEAD) if f"请假审批 ＃{request_id}" in s.text]
    assert len(again) == 1 and "结果：不批准（王建国" in again[0], "sent anew, decided: as text"
    mine = [s.text for s in chat.standin.messages_for(DEPUTY_B) if f"我的请假单 ＃{request_id}" in s.text]
    assert "不批准" in mine[-1] and "同期有重要会议" in mine[-1]


async def test_five_presses_of_one_button_at_once_decide_once(chat: WeComChat) -> None:
    request_id, card = await _approval_card(chat, DEPUTY_TG, "2027-03-17", "2027-03-17")
    task_id, key = card.body["template_card"]["task_id"], card.buttons["批准"]
    before = len(chat.standin.messages_for(HEAD))

    presses = await asyncio.gather(*(chat.standin.user_clicks(HEAD, task_id, key) for _ in range(5)))
    await chat.handled()

    assert all(p.acknowledged for p in presses)
    answers = [s.text for s in chat.standin.messages_for(HEAD)[before:] if s.msgtype != "template_card"]
    assert answers.count("已批准") == 1 and len(answers) == 5, answers
    assert all("处理过" in a or "已经" in a for a in answers if a != "已批准"), answers
    with chat.services.database.session() as session:
        approvals = session.scalar(
            select(func.count())
            .select_from(WorkflowEvent)
            .where(
                WorkflowEvent.subject == Subject.LEAVE,
                WorkflowEvent.subject_id == request_id,
                WorkflowEvent.action == "approve",
            )
        )
        assert approvals == 1
        assert session.get(LeaveRequest, request_id).status == "approved"


async def test_a_departments_reminder_reaches_its_group_chat(chat: WeComChat) -> None:
    services: Services = chat.services
    title = "关于报送一季度财政收支情况的通知"

    def create(session: Session) -> int:
        context = services.context(session)
        due = date(2027, 3, 5)
        return deadlines.create_deadline(
            session, "adhoc", context.now.date(), context, title=title, due=due, department="区财政局"
        ).id

    await asyncio.to_thread(services.run, create)
    services.clock.set(datetime(2027, 3, 5, 9, 30))  # the due day, in working hours
    await chat.handled()

    finance = chat.standin.chats[FINANCE_CHAT]
    assert {"chenjing", "zhenghao"} <= set(finance["users"]), "created with the department's members"
    said = [s for s in finance["messages"] if title in s.text]
    assert said and all(s.msgtype == "markdown" for s in said)
    assert any("今日到期" in s.text for s in said)


async def test_a_topic_review_card_passes_its_stage_and_the_next_reviewer_gets_a_card(chat: WeComChat) -> None:
    topic_id = await asyncio.to_thread(_submitted_topic, chat.services, "常务会议", "企业微信：审核议题")
    await chat.handled()
    [card] = _cards(chat, DEPUTY, f"#{topic_id}（常务会议")
    assert list(card.buttons) == ["通过", "退回修改", "不予上会"], "📜 记录 is not pressed in WeCom"

    told = await chat.press(DEPUTY, card, "通过")

    assert told == "已通过"
    assert "结果：通过（张伟）" in card.text and not card.buttons, "updated in place"
    assert len(_cards(chat, DIRECTOR, f"#{topic_id}（常务会议")) == 1, "the next stage's reviewer"
