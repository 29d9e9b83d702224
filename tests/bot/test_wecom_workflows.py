"""Leave approval, topic review and deadline reminders in WeCom, end to end over real HTTP on the stand-in, on
SQLite and PostgreSQL: the same scenario the Telegram suites run (tests/handlers/test_leave.py,
test_concurrency.py, test_deadlines.py), through the other channel. A 副区长's 离包外出 reaches the
区长 as a template card with 批准 / 不批准 / 退回补充; pressing a button runs the same decision,
updates that card in place (its response code) and tells the requester and the AB partner; five
presses at once decide once; a department's reminder reaches its application group chat; a topic's
review card passes its stage the same way.

A member also fills the /leave and /topic forms here (text and numbered menus), presses the
requester's 撤回 / 撤销 / 修改后重新提交 / 📜 记录, and is told when the office answers a question
the bot could not. Every press is a callback."""

import asyncio
from dataclasses import replace
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.db import Person, QuestionLog
from bot.deadlines import service as deadlines
from bot.leave.models import LeaveRequest
from bot.qa import curated
from bot.services import Services
from bot.wecom.render import DONE_TEXT
from bot.wecom.standin import Sent
from bot.workflow.models import Subject, WorkflowEvent
from tests.bot.wecom_chat import WeComChat, chat_fixture
from tests.handlers.test_concurrency import _file_leave, _submitted_topic

HEAD, DEPUTY, DEPUTY_B, DIRECTOR = "wangjianguo", "zhangwei", "liuyang", "zhaomin"
HOUSING_HEAD, FINANCE_HEAD = "wugang", "chenjing"
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
    [mine] = chat.standin.messages_for(DEPUTY)[requester_before:]
    assert mine.msgtype == "template_card" and list(mine.buttons) == ["撤销"], "approved, not started yet"
    assert f"我的请假单 #{request_id}" in mine.text and "结果：已批准（王建国" in mine.text
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
    assert list(card.buttons) == ["通过", "退回修改", "不予上会", "📜 记录"]

    told = await chat.press(DEPUTY, card, "通过")

    assert told == "已通过"
    assert "结果：通过（张伟）" in card.text and list(card.buttons) == ["📜 记录"], "updated in place"
    assert len(_cards(chat, DIRECTOR, f"#{topic_id}（常务会议")) == 1, "the next stage's reviewer"


async def test_a_deputy_files_an_away_leave_by_text_and_numbers_and_withdraws_it_after_approval(
    chat: WeComChat,
) -> None:
    form = await chat.ask(DEPUTY, "/leave")
    assert "请假单 ＃" in form and "回复数字选择" in form
    assert "1. 离包外出" in form and "7. 取消" in form, "all six kinds and 取消: more than a card's six buttons"
    assert await chat.ask(DEPUTY, "9") == "请回复 1–7 之间的数字选择（发送 /cancel 取消）。"
    form = await chat.choose(DEPUTY, form, "离包外出")
    assert "请输入开始日期" in form and "回复数字选择" not in form
    assert "请输入结束日期" in (form := await chat.ask(DEPUTY, "3月22日"))
    assert "请输入目的地" in (form := await chat.ask(DEPUTY, "3月23日"))
    assert "请输入事由" in (form := await chat.ask(DEPUTY, "北京"))
    form = await chat.ask(DEPUTY, "参加全国住房城乡建设工作培训")
    assert "代行职责" in form and "刘洋（默认）" in form
    form = await chat.choose(DEPUTY, form, "刘洋")
    assert "请核对后提交" in form and "目的地：北京" in form and "代行职责：刘洋" in form

    told = await chat.choose(DEPUTY, form, "✅ 提交")

    assert "已提交给 王建国 审批。" in told
    [mine] = _cards(chat, DEPUTY, "我的请假单 #", "参加全国住房城乡建设工作培训")
    assert list(mine.buttons) == ["撤回"]
    [card] = _cards(chat, HEAD, "参加全国住房城乡建设工作培训")
    assert list(card.buttons) == ["批准", "不批准", "退回补充"]
    assert await chat.press(HEAD, card, "批准") == "已批准"
    assert list(mine.buttons) == ["撤销"], "approved, not started yet: the requester's card offers 撤销"

    assert await chat.press(DEPUTY, mine, "撤销") == "已撤销"
    assert not mine.buttons and "撤回" in mine.text
    with chat.services.database.session() as session:
        assert (
            session.scalars(select(LeaveRequest).where(LeaveRequest.reason == "参加全国住房城乡建设工作培训"))
            .one()
            .status
            == "withdrawn"
        )


async def test_a_form_is_cancelled_by_its_number_or_by_cancel_and_a_question_meanwhile_is_answered(
    chat: WeComChat,
) -> None:
    form = await chat.ask(DEPUTY_B, "请假")
    answer = await chat.ask(DEPUTY_B, "副区长离包外出要向谁请示？")
    assert "第七十九条" in answer, "a text that is no number is a question, as in Telegram"
    assert await chat.choose(DEPUTY_B, form, "取消") == "已取消这份请假单。"
    assert await chat.ask(DEPUTY_B, "/cancel") == "现在没有正在填写的内容。"
    form = await chat.ask(DEPUTY_B, "/leave")
    await chat.choose(DEPUTY_B, form, "事假")
    assert await chat.ask(DEPUTY_B, "/cancel") == "已取消。"
    with chat.services.database.session() as session:
        drafts = session.scalar(select(func.count()).select_from(LeaveRequest).where(LeaveRequest.status == "draft"))
        assert drafts == 0


async def test_a_department_head_files_a_topic_and_revises_it_when_returned(chat: WeComChat) -> None:
    form = await chat.ask(HOUSING_HEAD, "/topic")
    form = await chat.choose(HOUSING_HEAD, form, "常务会议")
    assert "请输入议题名称" in form
    form = await chat.ask(HOUSING_HEAD, "企业微信申报：老旧小区改造计划")
    form = await chat.ask(HOUSING_HEAD, "请会议研究老旧小区改造年度计划。")
    assert "汇报部门" in form and "区住房和城乡建设局✓" in form, "typed or chosen by number"
    form = await chat.choose(HOUSING_HEAD, form, "区住房和城乡建设局")
    form = await chat.choose(HOUSING_HEAD, form, "张伟")
    form = await chat.choose(HOUSING_HEAD, form, "工作汇报")
    form = await chat.ask(HOUSING_HEAD, "无")
    form = await chat.ask(HOUSING_HEAD, "4月8日")
    while "材料：" in form:
        form = await chat.choose(HOUSING_HEAD, form, "已完成")
    assert "请核对后提交" in form and "议题：企业微信申报：老旧小区改造计划" in form

    told = await chat.choose(HOUSING_HEAD, form, "✅ 提交")

    assert told.startswith("已送")
    [card] = _cards(chat, DEPUTY, "老旧小区改造计划")
    assert list(card.buttons) == ["通过", "退回修改", "不予上会", "📜 记录"]
    await chat.press(DEPUTY, card, "退回修改")
    await chat.ask(DEPUTY, "请补充资金来源")
    # The card sent on 提交 is redrawn in place and a new one tells of the return (as in Telegram,
    # where an edit notifies nobody): both show it; the newest is the one a member presses.
    submitted, mine = _cards(chat, HOUSING_HEAD, "议题 #", "老旧小区改造计划")
    assert "退回修改" in submitted.text and "退回修改" in mine.text
    assert list(mine.buttons) == ["修改后重新提交", "📜 记录"]
    record = await chat.press(HOUSING_HEAD, mine, "📜 记录")
    assert "全部记录" in record and "请补充资金来源" in record and "导出 CSV" not in record
    form = await chat.press(HOUSING_HEAD, mine, "修改后重新提交")
    assert "请核对后提交" in form and "回复数字选择" in form


async def test_the_asker_in_wecom_is_told_when_the_office_answers_their_unanswered_question(chat: WeComChat) -> None:
    question = "机关食堂午饭几点开始供应？"
    await chat.ask(FINANCE_HEAD, question)
    found = chat.services

    def answer(session: Session) -> int:
        asked = session.scalars(select(QuestionLog).where(QuestionLog.question == question)).one()
        assert asked.declined or asked.tentative, "a question the office has to answer"
        office = session.scalars(select(Person).where(Person.wecom_userid == DIRECTOR)).one()
        return curated.answer_from_queue(
            session,
            found.rules_engine,
            found.library,
            office,
            asked.id,
            asked.version,
            "56 圈阅即表示同意",
            found.clock.now(),
        )

    assert await asyncio.to_thread(found.run, answer) == 1
    before = len(chat.standin.messages_for(FINANCE_HEAD))
    await chat.handled()

    [told] = chat.standin.messages_for(FINANCE_HEAD)[before:]
    assert question in told.text and "办公室答复" in told.text and "第五十六条" in told.text
