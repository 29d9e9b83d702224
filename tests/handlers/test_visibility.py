"""The visibility rule (bot.privacy) as a matrix, through the Bot API server on SQLite and
PostgreSQL: every list, history and export command, sent by each role in a private chat and in
the office group, and the history buttons pressed by each role in both. A group never sees a
reason, a decision button or a file; a private chat shows a reason only to the people on the item
and the office admins."""

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session

from bot.leave import service as leave
from bot.leave.models import LeaveRequest
from bot.privacy import GROUP_NOTE
from bot.sandbox.client import Message, SandboxClient, buttons
from bot.workflow.review import Verdict
from handlers.common import APOLOGY
from handlers.topics import TopicButton
from tests.handlers.conftest import OFFICE_GROUP, LiveBot
from tests.handlers.test_concurrency import DEPUTY, DIRECTOR, HEAD, STAFF, _file_leave, _last_id, _submitted_topic

REASON = "私事：陪家人住院治疗"
RETURN_REASON = "材料不全：缺少风险评估报告"
COMMANDS = ("/leaves", "/topics", "/agenda", "/deadlines", "/back", "/stats", "/export 2027-12-01 2027-12-31")
# Who is on the items: DEPUTY asked for the leave and reviews the topic first, HEAD decides the
# leave, DIRECTOR is an office admin; STAFF has nothing to do with either.
ROLES = {"head": HEAD, "deputy": DEPUTY, "director": DIRECTOR, "staff": STAFF}
MAY_READ_REASON = {HEAD, DEPUTY, DIRECTOR}
OFFICE_DEPUTY = 10007  # an 办公室副主任 whom no other test gives an approved leave


@pytest.fixture(scope="module")
def items(live_bot: LiveBot) -> Iterator[tuple[int, int]]:
    """A pending personal leave of the deputy's, and a topic the deputy has sent back with a reason."""
    request_id = _file_leave(live_bot.services, DEPUTY, "事假", "2027-12-24", "2027-12-24", reason=REASON)
    topic_id = _submitted_topic(live_bot.services, "常务会议", "可见性：老旧小区改造方案")
    client = live_bot.client
    card = client.wait_for(
        lambda: next((m for m in client.bot_messages(DEPUTY) if f"#{topic_id}（" in m["text"]), None), "review card"
    )
    client.wait_callback_answer(client.press(DEPUTY, card, buttons(card)["退回修改"]))
    client.wait_message(DEPUTY, card["message_id"], "退回修改的理由")
    client.send(DEPUTY, RETURN_REASON)
    client.wait_message(DEPUTY, card["message_id"], "已处理议题")
    live_bot.deliver()
    yield request_id, topic_id


def _said_since(client: SandboxClient, marks: dict[int, int], chat: int) -> list[Message]:
    return client.bot_messages(chat, marks[chat])


def _assert_group_safe(messages: list[Message]) -> None:
    for message in messages:
        text = message.get("text") or ""
        assert REASON not in text and RETURN_REASON not in text and "事由" not in text, text
        assert not buttons(message), f"a group message has buttons: {text!r}"
        assert "document" not in message, "a file was posted into the group"
        assert APOLOGY not in text


@pytest.mark.parametrize("where", ["private", "group"])
@pytest.mark.parametrize("command", COMMANDS)
def test_lists_and_exports_show_reasons_only_privately_and_only_to_people_on_the_item(
    live_bot: LiveBot, items: tuple[int, int], command: str, where: str
) -> None:
    client = live_bot.client
    for role in ROLES.values():
        marks = {chat: _last_id(client, chat) for chat in (OFFICE_GROUP, *ROLES.values())}
        reply = client.ask(role, command, chat_id=OFFICE_GROUP if where == "group" else role)[0]
        assert APOLOGY not in (reply.get("text") or "")
        live_bot.deliver()  # cards the command queued (e.g. an approval card for the head) go out now
        _assert_group_safe(_said_since(client, marks, OFFICE_GROUP))
        for person in ROLES.values():
            private = " ".join(m.get("text") or "" for m in _said_since(client, marks, person))
            if person not in MAY_READ_REASON:
                assert REASON not in private and RETURN_REASON not in private
        if where == "group" and reply.get("text") == GROUP_NOTE:
            assert client.wait_bot_messages(role, marks[role]), "the answer went to the private chat"


def test_the_approver_gets_the_reason_and_buttons_privately_when_asking_in_the_group(
    live_bot: LiveBot, items: tuple[int, int]
) -> None:
    client = live_bot.client
    request_id, _ = items
    before = _last_id(client, HEAD)
    [note] = client.ask(HEAD, "/leaves", chat_id=OFFICE_GROUP)
    assert note["text"] == GROUP_NOTE
    live_bot.deliver()
    card = client.wait_message(HEAD, before, f"请假审批 #{request_id}", REASON)
    assert "批准" in buttons(card)


@pytest.mark.parametrize("action", ["his", "csv"])
@pytest.mark.parametrize("where", ["private", "group"])
@pytest.mark.parametrize("role", list(ROLES))
def test_a_topic_history_goes_only_to_people_on_it_and_only_privately(
    live_bot: LiveBot, items: tuple[int, int], role: str, where: str, action: str
) -> None:
    client = live_bot.client
    _, topic_id = items
    who = ROLES[role]
    chat = OFFICE_GROUP if where == "group" else who
    marks = {c: _last_id(client, c) for c in (OFFICE_GROUP, who)}
    anchor = client.ask(who, "/help", chat_id=chat)[0]  # a bot message in that chat to press on
    data = TopicButton(topic_id, 1, action).pack()
    answer = client.wait_callback_answer(client.press(who, anchor, data, forged=True))
    _assert_group_safe(_said_since(client, marks, OFFICE_GROUP))
    if who == STAFF:
        assert answer["show_alert"] and "只有相关人员和办公室管理员" in answer["text"]
        assert all(RETURN_REASON not in (m.get("text") or "") for m in _said_since(client, marks, who))
        return
    assert answer["text"] == (GROUP_NOTE if where == "group" else None)
    after = anchor["message_id"] if chat == who else marks[who]
    if action == "csv":
        file_names = lambda: [m["document"]["file_name"] for m in client.bot_messages(who, after) if "document" in m]  # noqa: E731
        assert client.wait_for(file_names, "the history file") == [f"议题{topic_id}记录.csv"]
    else:
        assert "全部记录" in client.wait_message(who, after, RETURN_REASON)["text"]


def test_back_in_the_group_refuses_privately_without_the_leaves_dates_in_the_group(live_bot: LiveBot) -> None:
    found, client = live_bot.services, live_bot.client
    request_id = _file_leave(found, OFFICE_DEPUTY, "事假", "2027-12-27", "2027-12-27", reason=REASON)

    def approve(session: Session) -> None:
        request = session.get(LeaveRequest, request_id)
        leave.decide(session, request_id, request.version, request.approver, Verdict.PASS, found.context(session))

    found.run(approve)
    live_bot.deliver()
    marks = {chat: _last_id(client, chat) for chat in (OFFICE_GROUP, OFFICE_DEPUTY)}
    [note] = client.ask(OFFICE_DEPUTY, "/back", chat_id=OFFICE_GROUP)
    assert note["text"] == GROUP_NOTE
    refusal = client.wait_message(OFFICE_DEPUTY, marks[OFFICE_DEPUTY], "还没有开始")
    assert "12月27日" in refusal["text"]
    in_group = " ".join(m.get("text") or "" for m in _said_since(client, marks, OFFICE_GROUP))
    assert "12月27日" not in in_group and "还没有开始" not in in_group

    def withdraw(session: Session) -> None:  # later tests find this person without leave
        request = session.get(LeaveRequest, request_id)
        leave.withdraw(session, request.requester, request_id, request.version, found.context(session))

    found.run(withdraw)
    live_bot.deliver()
