"""A careless and hostile world typing into every field and command, and pressing forged buttons,
through the Bot API server on SQLite and PostgreSQL. Whatever arrives: no apology, every press
answered exactly once, nothing the Bot API refuses, nothing half-saved, text of one form never
taken as a question."""

from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from bot.db import QuestionLog
from bot.leave.models import LeaveRequest
from bot.sandbox.client import Message, SandboxClient, buttons
from bot.topics.models import Topic
from handlers.common import APOLOGY, STALE_BUTTON
from handlers.qa import NOTHING_TO_ASK, USAGE
from tests.handlers.conftest import OFFICE_GROUP, LiveBot
from tests.handlers.leave_steps import answer, press
from tests.handlers.test_concurrency import STAFF

HOUSING_HEAD = 10009
NO_WORDS = ["？", "?", "！", "👍", "。。。", "…", "——", "\u200b", "\u200b\u200d\ufeff", "\u202e\u202c", "\x00\x01\x07"]
MARKUP = ["<b>粗</b><script>alert(1)</script>&amp;", '=HYPERLINK("http://evil.example","点我")', "=1+2", "@SUM(A1)"]
FOREIGN = ["مرحبا بالعالم", "שלום", "Ｔｅｓｔ　全角"]
LONGEST = "字" * 4096
BAD_DATES = [*NO_WORDS, LONGEST, "13月1日", "0月5日", "2月30日", "1900-01-01", "2099-12-31", "/", *MARKUP[:2]]
EMPTY_AFTER_CLEANING = ["\u200b\u200d", "\x00\x07", "\ufeff\u202e\u202c"]


@pytest.fixture
def refusals(live_bot: LiveBot) -> Iterator[list[tuple[str, str]]]:
    """What the Bot API refused the bot during the test: it must stay empty."""
    state = live_bot.running.server.state
    before = len(state.refused)
    found: list[tuple[str, str]] = []
    yield found
    found.extend(state.refused[before:])
    assert found == [], f"the bot sent what the Bot API refuses: {found[:3]}"


def _reply(client: SandboxClient, user: int, text: str, chat: int | None = None, parts: int = 1) -> Message:
    """The bot's reply, once all its `parts` have arrived (so none arrives during the next question)."""
    reply = client.ask(user, text, chat_id=chat, count=parts)[0]
    assert APOLOGY not in (reply.get("text") or ""), f"{text[:30]!r} got the apology"
    return reply


def _questions(live_bot: LiveBot, user: int) -> int:
    """How many questions `user` has asked (another user's late question is not this user's text)."""
    with live_bot.services.database.session() as session:
        query = select(func.count()).select_from(QuestionLog).where(QuestionLog.telegram_user_id == user)
        return session.scalar(query) or 0


def test_messages_without_words_get_help_not_an_answer_or_an_apology(live_bot: LiveBot, refusals: list) -> None:
    client = live_bot.client
    logged = _questions(live_bot, STAFF)
    for text in NO_WORDS:
        assert _reply(client, STAFF, text)["text"] == NOTHING_TO_ASK
        assert _reply(client, STAFF, f"/ask {text}", OFFICE_GROUP)["text"] in (NOTHING_TO_ASK, USAGE)
    assert _questions(live_bot, STAFF) == logged, "nothing was asked, so nothing is logged"


def test_markup_foreign_scripts_and_a_full_message_are_answered(live_bot: LiveBot, refusals: list) -> None:
    client = live_bot.client
    for text in [*MARKUP, *FOREIGN, LONGEST, "副区长离包外出要向谁请示？" * 300]:
        # A question of a whole message is shown above its answer: that reply comes in two parts.
        reply = _reply(client, STAFF, text[:4096], parts=2 if len(text) >= 4096 else 1)
        assert reply["text"], text[:30]
    # The question is shown above the answer in a group, so this reply comes in two valid parts.
    parts = client.ask(STAFF, "/ask " + "会议纪要" * 1000, chat_id=OFFICE_GROUP, count=2)
    assert all(APOLOGY not in part["text"] and len(part["text"]) <= 4096 for part in parts)


def _leave_row(live_bot: LiveBot, request_id: int) -> LeaveRequest:
    with live_bot.services.database.session() as session:
        request = session.get(LeaveRequest, request_id)
        assert request is not None
        session.expunge(request)
        return request


def _refused_everywhere(live_bot: LiveBot, user: int, request_id: int, values: list[str], step: str) -> None:
    """Each value is refused with an explanation; the step and everything stored stay as they were."""
    before = _leave_row(live_bot, request_id)
    logged = _questions(live_bot, user)
    for value in values:
        reply = answer(live_bot.client, user, value)
        assert any(word in reply["text"] for word in ("请", "没有", "不能", "最多")), (value[:30], reply["text"])
        after = _leave_row(live_bot, request_id)
        assert after.step == step, value[:30]
        assert (after.start_date, after.end_date, after.destination, after.reason, after.acting_id) == (
            before.start_date,
            before.end_date,
            before.destination,
            before.reason,
            before.acting_id,
        ), f"{value[:30]!r} was half-saved"
    assert _questions(live_bot, user) == logged, "form text was taken as a question"


def test_every_leave_field_refuses_bad_values_and_keeps_nothing_of_them(live_bot: LiveBot, refusals: list) -> None:
    client = live_bot.client
    form = answer(client, HOUSING_HEAD, "/leave")
    request_id = int(form["text"].split("#")[1].split()[0])
    form = press(client, HOUSING_HEAD, form, "离包外出", "请输入开始日期")
    _refused_everywhere(live_bot, HOUSING_HEAD, request_id, BAD_DATES, "start")
    assert "结束日期" in answer(client, HOUSING_HEAD, "2027-12-06")["text"]
    _refused_everywhere(live_bot, HOUSING_HEAD, request_id, BAD_DATES, "end")
    assert "目的地" in answer(client, HOUSING_HEAD, "2027-12-06")["text"]
    _refused_everywhere(live_bot, HOUSING_HEAD, request_id, [*EMPTY_AFTER_CLEANING, LONGEST], "destination")
    assert "事由" in answer(client, HOUSING_HEAD, "\u202e北京\u200b")["text"]
    _refused_everywhere(live_bot, HOUSING_HEAD, request_id, [*EMPTY_AFTER_CLEANING, LONGEST], "reason")
    assert "代行" in answer(client, HOUSING_HEAD, MARKUP[0])["text"]
    _refused_everywhere(
        live_bot, HOUSING_HEAD, request_id, [*EMPTY_AFTER_CLEANING, LONGEST, "王建\u200b国国"], "acting"
    )
    stored = _leave_row(live_bot, request_id)
    assert (stored.destination, stored.reason) == ("北京", MARKUP[0])
    assert "已取消" in answer(client, HOUSING_HEAD, "/cancel")["text"]


def test_topic_fields_refuse_bad_values_and_keep_nothing_of_them(live_bot: LiveBot, refusals: list) -> None:
    client = live_bot.client
    form = answer(client, HOUSING_HEAD, "/topic")
    topic_id = int(form["text"].split("#")[1].split()[0].split("（")[0])
    form = press(client, HOUSING_HEAD, form, "常务会议", "请输入议题名称")
    for value in [*EMPTY_AFTER_CLEANING, LONGEST]:
        assert any(word in answer(client, HOUSING_HEAD, value)["text"] for word in ("不能为空", "最多"))
    with live_bot.services.database.session() as session:
        topic = session.get(Topic, topic_id)
        assert topic is not None and (topic.title, topic.step) == (None, "title")
    assert "已取消" in answer(client, HOUSING_HEAD, "/cancel")["text"]


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("/article -1", "没有看懂要查哪一条"),
        ("/article 1e5", "没有看懂要查哪一条"),
        ("/article 50 51", "没有看懂要查哪一条"),
        ("/article 0", "没有这一条"),
        ("/article 第 50 条", "第五十条"),
        ("/article " + "9" * 4000, "没有看懂要查哪一条"),
        ("/article 第五十条", "第五十条"),
        ("/export 13月 x", "用法：/export"),
        ("/deadline " + "报送" * 2000, "最多 300 个字"),
        ("/deadline 报送材料，99999999999999999999个工作日", "不合理"),
        ("/deadline \u200b\x00", "请写明期限"),
        ("/nosuchcommand", "没有 /nosuchcommand 这个命令"),
        ("/help@zhengwu_bot", "/topic 申报会议议题"),
    ],
)
def test_commands_with_bad_arguments_are_explained(
    live_bot: LiveBot, refusals: list, command: str, expected: str
) -> None:
    assert expected in _reply(live_bot.client, 10005, command)["text"]


def test_an_unknown_command_in_a_group_is_answered_only_when_addressed_to_the_bot(
    live_bot: LiveBot, refusals: list
) -> None:
    client = live_bot.client
    ignored = client.send(STAFF, "/weather", chat_id=OFFICE_GROUP)
    [reply] = client.ask(STAFF, "/weather@zhengwu_bot", chat_id=OFFICE_GROUP)
    assert "没有 /weather 这个命令" in reply["text"]
    between = [
        m for m in client.bot_messages(OFFICE_GROUP, ignored["message_id"]) if m["message_id"] < reply["message_id"]
    ]
    assert between == []


FORGED = [
    "lv:x:1",
    "lv:ok:-1",
    "x" * 64,
    "👍",
    "art:1:0",
    "art:1:99999",
    "art:999:1",
    "art:1:-1",
    "tp:out:1",
    "tt:999999:1:his",
    "tt:1:1:zz",
    "tt:1:1:rv",  # someone else's topic
    "ld:999999:1:ok",
    "ld:1:1:zz",
    "lr:999999:1:bk",
    "lf:999999:s",
    "tf:999999:s",
    "ts:999999:0:1:ok",
    "ta:999999:1:p1",
    "dl:999999:1:done",
    "fb:1:5",
    "fb:999999:1",
    "rel:999999",
    "book:999",
    "ch:1:99",
    "chtext:1:0",
    "ch:1",
    ":::",
]


def test_forged_button_data_is_answered_once_in_chinese(live_bot: LiveBot, refusals: list) -> None:
    client = live_bot.client
    state = live_bot.running.server.state
    anchor = client.ask(STAFF, "/help")[0]
    answered_before = state.calls.get("answerCallbackQuery", 0)
    for data in FORGED:
        reply = client.wait_callback_answer(client.press(STAFF, anchor, data, forged=True))
        assert reply["text"] and reply["text"] != APOLOGY, data
        assert any("\u4e00" <= c <= "\u9fff" for c in reply["text"]), (data, reply["text"])
    live_bot.deliver()
    assert state.calls.get("answerCallbackQuery", 0) - answered_before == len(FORGED), "one answer per press"


def test_a_known_button_pressed_by_someone_else_is_answered_once(live_bot: LiveBot, refusals: list) -> None:
    client = live_bot.client
    state = live_bot.running.server.state
    answered_before = state.calls.get("answerCallbackQuery", 0)
    reply = client.ask(10001, "副区长离包外出要向谁请示？")[0]
    vote = next(
        b["callback_data"] for row in reply["reply_markup"]["inline_keyboard"] for b in row if b["text"] == "👎"
    )
    answer_ = client.wait_callback_answer(client.press(STAFF, reply, vote, forged=True))
    assert "只有提问的人" in answer_["text"]
    assert state.calls.get("answerCallbackQuery", 0) - answered_before == 1
    assert STALE_BUTTON != answer_["text"]


def test_a_forged_related_button_for_someone_elses_question_shows_nothing(live_bot: LiveBot, refusals: list) -> None:
    client = live_bot.client
    reply = client.ask(10001, "副区长离包外出要向谁请示？")[0]
    related = buttons(reply)["🔗 相关条文"]
    anchor = client.ask(STAFF, "/help")[0]
    forged = client.wait_callback_answer(client.press(STAFF, anchor, related, forged=True))
    assert forged["show_alert"] and "只有提问的人" in forged["text"]
    live_bot.deliver()
    assert client.bot_messages(STAFF, anchor["message_id"]) == [], "nothing about the question was sent"
    own = client.wait_callback_answer(client.press(10001, reply, related))
    assert not own["show_alert"]
    assert client.wait_message(10001, reply["message_id"], "第")
