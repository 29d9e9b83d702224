"""What the bot says, and how often, through the sandbox over HTTP on SQLite and PostgreSQL (issue 18,
"Replies"): one reply per command, nothing for another bot's commands, a word for what it cannot
read, clear refusals of impossible input."""

import csv
import io
from datetime import date, datetime

import httpx
import pytest
from sqlalchemy.orm import Session

from bot.db import PendingInput
from bot.leave import service as leave
from bot.leave.models import LeaveRequest
from bot.sandbox.client import Message, SandboxClient, buttons
from bot.workflow import outbox
from handlers.start import ONLY_TEXT
from tests.handlers.conftest import OFFICE_GROUP, LiveBot
from tests.handlers.leave_steps import answer, fill_form, submit
from tests.handlers.test_concurrency import (
    DIRECTOR,
    FINANCE_HEAD,
    HEAD,
    STAFF,
    VICE_DIRECTOR,
    _card,
    _file_leave,
    _last_id,
    _person,
)
from tests.handlers.test_deadlines import _about, _at, _create

CLERK = 10007  # 周杰, 办公室副主任
FENCE = "/whoami"  # answered after a database look-up: once its reply is in, an earlier one would be too


def test_cancel_gets_exactly_one_reply(live_bot: LiveBot) -> None:
    client = live_bot.client
    before = _last_id(client, STAFF)
    [reply] = client.ask(STAFF, "/cancel")
    fence = client.ask(STAFF, FENCE)[0]
    said = [m["text"] for m in client.bot_messages(STAFF, before) if m["message_id"] < fence["message_id"]]
    assert said == [reply["text"]], said
    assert "这个命令" not in reply["text"]


def test_a_command_addressed_to_another_bot_is_ignored_in_a_private_chat(live_bot: LiveBot) -> None:
    client = live_bot.client
    before = _last_id(client, STAFF)
    client.send(STAFF, "/help@otherbot")
    fence = client.ask(STAFF, FENCE)[0]
    said = [m["text"] for m in client.bot_messages(STAFF, before) if m["message_id"] < fence["message_id"]]
    assert said == [], said
    username = client.state()["bot"]["username"]
    assert "政务助手" in client.ask(STAFF, f"/help@{username}")[0]["text"]


def test_photos_stickers_voice_files_and_locations_are_told_only_text_is_read(live_bot: LiveBot) -> None:
    client = live_bot.client
    for media in ("photo", "sticker", "voice", "document", "location"):
        sent = client.send_media(STAFF, media)
        assert client.wait_bot_messages(STAFF, sent["message_id"])[0]["text"] == ONLY_TEXT, media
    # In a group such messages are people talking to each other.
    before = _last_id(client, OFFICE_GROUP)
    client.send_media(STAFF, "photo", chat_id=OFFICE_GROUP)
    fence = client.send(STAFF, "/ask 会议纪要由谁签发？", chat_id=OFFICE_GROUP)
    client.wait_bot_messages(OFFICE_GROUP, fence["message_id"])
    assert not [m for m in client.bot_messages(OFFICE_GROUP, before) if m["text"] == ONLY_TEXT]


def test_a_negative_period_of_an_adhoc_deadline_is_refused(live_bot: LiveBot) -> None:
    [reply] = live_bot.client.ask(STAFF, "/deadline 报送材料，-3个工作日")
    assert "不合理" in reply["text"] and "1 到 60 个工作日" in reply["text"], reply["text"]
    assert "已登记" not in reply["text"]


def _vice_director_leave(client: SandboxClient, day: str) -> tuple[Message, int, Message]:
    """A one-day leave of the 办公室副主任 filed through the form: her card, its number, the approval card."""
    answer(client, VICE_DIRECTOR, "/cancel")  # an earlier test may have left a form open
    confirm = fill_form(client, VICE_DIRECTOR, "事假", day, day, "家中有事")
    card = submit(client, VICE_DIRECTOR, confirm, "待审批")
    request_id = int(card["text"].split("#")[1].split()[0])
    return card, request_id, client.wait_message(DIRECTOR, 0, f"请假审批 #{request_id}")


def test_the_requester_is_told_of_an_approval_in_a_short_notice_not_a_second_card(live_bot: LiveBot) -> None:
    client = live_bot.client
    card, request_id, approval = _vice_director_leave(client, "2027-06-14")
    client.wait_callback_answer(client.press(DIRECTOR, approval, buttons(approval)["批准"]))
    notice = client.wait_message(VICE_DIRECTOR, card["message_id"], f"✅ 请假单 #{request_id} 已批准（赵敏）")
    assert "reply_markup" not in notice
    kept = buttons(client.wait_edit(card, "结果：已批准"))
    assert kept and set(kept) <= {"销假", "撤销"}, "the edited card keeps its button (销假, or 撤销 before the start)"
    live_bot.deliver()
    cards = [m for m in client.bot_messages(VICE_DIRECTOR, card["message_id"]) if f"请假单 #{request_id}" in m["text"]]
    assert [m["message_id"] for m in cards] == [notice["message_id"]], "no second full card"


@pytest.mark.parametrize(
    ("verdict", "reason", "notice", "button"),
    [
        ("不批准", "当天有区政府常务会议", ("❌ 请假单 #{id} 未获批准（赵敏）", "，理由：当天有区政府常务会议。"), None),
        ("退回补充", "请写明事由", ("↩️ 请假单 #{id} 已退回补充（赵敏），意见：请写明事由。",), "修改后重新提交"),
    ],
)
def test_the_requester_is_told_of_a_refusal_or_return_in_a_short_notice_not_a_second_card(
    live_bot: LiveBot, verdict: str, reason: str, notice: tuple[str, ...], button: str | None
) -> None:
    client = live_bot.client
    card, request_id, approval = _vice_director_leave(client, "2027-06-15")
    client.wait_callback_answer(client.press(DIRECTOR, approval, buttons(approval)[verdict]))
    answer(client, DIRECTOR, reason)
    told = client.wait_message(VICE_DIRECTOR, card["message_id"], *(part.format(id=request_id) for part in notice))
    assert "reply_markup" not in told
    edited = client.wait_edit(card, f"{verdict}（赵敏")  # 结果：不批准（赵敏 / 结果：已退回补充（赵敏
    assert list(buttons(edited)) == ([button] if button else []), "the card keeps the button the item needs"
    live_bot.deliver()
    cards = [m for m in client.bot_messages(VICE_DIRECTOR, card["message_id"]) if f"请假单 #{request_id}" in m["text"]]
    assert [m["message_id"] for m in cards] == [told["message_id"]], "no second full card"


def test_a_reason_prompt_that_lost_to_an_approval_says_the_leave_was_handled(live_bot: LiveBot) -> None:
    client, found = live_bot.client, live_bot.services
    request_id = _file_leave(found, FINANCE_HEAD, "事假", "2027-06-21", "2027-06-21")
    card = _card(client, HEAD, f"请假审批 #{request_id}")
    before = _last_id(client, HEAD)
    client.inject_fault("sendMessage", 200, delay_s=2)  # the prompt is slow to go out: 批准 wins meanwhile
    refusal = client.press(HEAD, card, buttons(card)["不批准"])

    def prompt_stored() -> bool:
        with found.database.session() as session:
            return session.get(PendingInput, _person(session, HEAD).id) is not None

    client.wait_for(prompt_stored, "the refusal's prompt")
    client.wait_callback_answer(client.press(HEAD, card, buttons(card)["批准"]))
    client.wait_callback_answer(refusal)
    with found.database.session() as session:
        assert session.get(LeaveRequest, request_id).status == "approved"
    prompts = [m for m in client.bot_messages(HEAD, before) if "理由" in m["text"] and f"#{request_id}" in m["text"]]
    for prompt in prompts:
        assert "已经处理过（已批准）" in client.wait_edit(prompt, "已经处理过")["text"]


def test_a_report_filed_without_approval_is_listed_and_exported_as_filed_in_office_time(live_bot: LiveBot) -> None:
    client, found = live_bot.client, live_bot.services
    request_id = _file_leave(found, HEAD, "离包外出", "2027-08-16", "2027-08-17")  # 10:00 in the office
    asked = client.send(HEAD, "/leaves")
    listed = client.wait_message(HEAD, asked["message_id"], "我的请假", f"#{request_id} ")
    line = next(line for line in listed["text"].splitlines() if line.startswith(f"#{request_id} "))
    assert line.endswith("：已备案"), line
    [document] = client.ask(DIRECTOR, "/export 2027-08-16 2027-08-17 csv")
    content = httpx.get(f"{live_bot.running.server.url}/sandbox/api/files/{document['document']['file_id']}").content
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    row = next(r for r in rows[1:] if r[0] == str(request_id))
    assert row[11] == "已备案" and row[12] == "2026年12月1日 10:00", row


def test_delivery_failures_name_the_person_and_a_second_failure_is_reported_too(live_bot: LiveBot) -> None:
    client, found = live_bot.client, live_bot.services
    request_id = _file_leave(found, STAFF, "事假", "2027-07-19", "2027-07-19")
    client.set_blocked(CLERK, True)
    try:
        for attempt in (1, 2):
            before = _last_id(client, DIRECTOR)
            found.run(lambda s: outbox.notice(s, CLERK, "leave.group_back", found.clock.now(), request_id=request_id))
            live_bot.deliver()
            report = client.wait_message(DIRECTOR, before, "无法送达", "周杰（办公室副主任）")
            assert str(CLERK) not in report["text"] and "屏蔽" in report["text"], (attempt, report["text"])
    finally:
        client.set_blocked(CLERK, False)

        def withdraw(session: Session) -> None:  # nothing is left waiting for the approver
            version = session.get(LeaveRequest, request_id).version
            leave.withdraw(session, _person(session, STAFF), request_id, version, found.context(session))

        found.run(withdraw)


def test_reminders_held_back_over_a_weekend_arrive_once_not_twice_as_due_today(live_bot: LiveBot) -> None:
    title = "关于报送第四季度督查材料的通知"
    _create(live_bot, title, date(2027, 10, 11), datetime(2027, 10, 11, 17, 0))  # due Monday 18 October
    _at(live_bot, datetime(2027, 10, 18, 9, 30))  # Friday's reminder was held back (the bot was down)
    assert len(_about(live_bot, FINANCE_HEAD, title, "⏰")) == 1
    assert len(_about(live_bot, FINANCE_HEAD, title, "今日到期")) == 1
