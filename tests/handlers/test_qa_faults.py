"""Answers under Bot API faults, injected by the sandbox server, on SQLite and PostgreSQL: the
typing indicator failing or rate-limited never delays or loses the answer; a 5xx on the answer is
retried; a timed-out answer the Bot API accepted is not sent twice; and no apology follows."""

import time
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from bot.db import QuestionLog
from handlers import common
from handlers.common import APOLOGY
from tests.handlers.conftest import LiveBot
from tests.handlers.leave_steps import answer, press

ASKER = 10006
QUESTION = "会议纪要由谁签发？"
EXPECTED = "第五十条"


@pytest.fixture
def faults(live_bot: LiveBot) -> Iterator[None]:
    live_bot.deliver()  # nothing else is waiting to be sent and could take the injected fault
    yield
    live_bot.client.clear_faults()


def _answers_after(live_bot: LiveBot, sent_id: int, settle_s: float) -> list[str]:
    """The bot's messages after `sent_id`, once an answer is there and `settle_s` has passed."""
    client = live_bot.client
    client.wait_message(ASKER, sent_id, EXPECTED)
    time.sleep(settle_s)
    return [m["text"] for m in client.bot_messages(ASKER, sent_id)]


@pytest.mark.parametrize(("status", "retry_after"), [(500, None), (429, 30)])
def test_a_failing_typing_indicator_neither_loses_nor_delays_the_answer(
    live_bot: LiveBot, faults: None, monkeypatch: pytest.MonkeyPatch, status: int, retry_after: int | None
) -> None:
    monkeypatch.setattr(common, "TYPING_AFTER_S", 0.0)  # show "typing…" even for a quick answer
    state = live_bot.running.server.state
    typing_before = state.calls.get("sendChatAction", 0)
    live_bot.client.inject_fault("sendChatAction", status, retry_after=retry_after)
    started = time.monotonic()
    sent = live_bot.client.send(ASKER, QUESTION)
    texts = _answers_after(live_bot, sent["message_id"], settle_s=0.5)
    assert time.monotonic() - started < 10, "the answer did not wait out the typing indicator's 429"
    assert state.calls.get("sendChatAction", 0) == typing_before + 1, "typing was tried once, not retried"
    assert len([t for t in texts if EXPECTED in t]) == 1 and not any(APOLOGY in t for t in texts)


def test_a_quick_answer_sends_no_typing_indicator(live_bot: LiveBot, faults: None) -> None:
    state = live_bot.running.server.state
    live_bot.client.ask(ASKER, QUESTION)  # warm
    typing_before = state.calls.get("sendChatAction", 0)
    sent = live_bot.client.send(ASKER, QUESTION)
    _answers_after(live_bot, sent["message_id"], settle_s=0.2)
    assert state.calls.get("sendChatAction", 0) == typing_before


@pytest.mark.parametrize(
    ("status", "delay_s"),
    [
        (500, 0.0),  # refused: sent again
        (502, 0.0),
        # Accepted, but the reply comes after PTB's 5 s read timeout: the bot gives up waiting and
        # must neither send the answer again nor apologise.
        (200, 6.5),
    ],
)
def test_an_answer_arrives_once_without_an_apology_whatever_sending_it_meets(
    live_bot: LiveBot, faults: None, status: int, delay_s: float
) -> None:
    live_bot.client.inject_fault("sendMessage", status, delay_s=delay_s)
    sent = live_bot.client.send(ASKER, QUESTION)
    texts = _answers_after(live_bot, sent["message_id"], settle_s=2.0 if delay_s else 1.0)
    assert len([t for t in texts if EXPECTED in t]) == 1 and not any(APOLOGY in t for t in texts)


def test_a_form_prompt_refused_once_is_sent_again_and_the_answer_is_not_a_question(
    live_bot: LiveBot, faults: None
) -> None:
    client = live_bot.client
    user = 10007
    form = answer(client, user, "/leave")
    press(client, user, form, "事假", "请输入开始日期")
    with live_bot.services.database.session() as session:
        logged = session.scalar(select(func.count()).select_from(QuestionLog))
    client.inject_fault("sendMessage", 500)
    sent = client.send(user, "2027-12-20")
    client.wait_message(user, sent["message_id"], "请输入结束日期")
    time.sleep(0.5)
    texts = [m["text"] for m in client.bot_messages(user, sent["message_id"])]
    assert len(texts) == 1 and APOLOGY not in texts[0]
    with live_bot.services.database.session() as session:
        assert session.scalar(select(func.count()).select_from(QuestionLog)) == logged
    assert "已取消" in answer(client, user, "/cancel")["text"]
