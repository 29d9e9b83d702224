"""Tentative answers, 👎 with a reason, and the unanswered-question loop, through the Bot API
server on SQLite and PostgreSQL: a declined question reaches /unanswered, an admin answers it with
an article, every asker is told, and a paraphrase is then answered from the office's answer, also
after a restart."""

import math
from dataclasses import replace

import pytest
from sqlalchemy import select

from bot.db import CuratedAnswer
from bot.sandbox.client import buttons
from handlers.qa import WHY_NOT
from tests.handlers.conftest import OFFICE_GROUP, LiveBot, logged_question
from tests.handlers.leave_steps import answer
from tests.handlers.test_concurrency import DIRECTOR, STAFF, _last_id

ASKER, OTHER_ASKER, ADMIN = 10007, 10009, DIRECTOR
QUESTION, SAME_AGAIN, PARAPHRASE = "公章由谁保管？", "公章归谁保管？", "单位公章谁管？"




def test_a_hedge_quotes_its_clause_for_checking_and_never_says_the_rules_are_silent(
    live_bot: LiveBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = live_bot.services.rules_engine
    monkeypatch.setattr(engine, "policy", replace(engine.policy, confident_at=math.inf, tentative_at=-math.inf))
    [reply] = live_bot.client.ask(STAFF, "副区长离包外出要向谁请示？")
    assert reply["text"].startswith("最相关的规定（请核对是否适用）：")
    assert "没有找到" not in reply["text"] and "没有规定" not in reply["text"]
    assert "须事先向区长请示" in reply["text"] and "<blockquote>" in reply["html"]
    assert reply["text"].count("——") == 1, "one clause quoted, the further articles are buttons"
    assert "第七十九条" in reply["text"]
    articles = [label for label in buttons(reply) if label.startswith("📄")]
    assert 2 <= len(articles) <= 3 and articles[0] == "📄 第七十九条全文"
    assert logged_question(live_bot, "副区长离包外出要向谁请示？").tentative


def test_a_thumbs_down_asks_why_and_a_second_vote_replaces_the_first(live_bot: LiveBot) -> None:
    client = live_bot.client
    [reply] = client.ask(STAFF, "会议纪要由谁签发？")
    down = client.wait_callback_answer(client.press(STAFF, reply, buttons(reply)["👎"]))
    assert "已记录 👎" in down["text"]
    why = client.wait_message(STAFF, reply["message_id"], WHY_NOT)
    client.wait_callback_answer(client.press(STAFF, why, buttons(why)["没回答问题"]))
    client.wait_edit(why, "已记录：没回答问题")
    row = logged_question(live_bot, "会议纪要由谁签发？")
    assert (row.feedback, row.feedback_reason) == (-1, "missed")
    up = client.wait_callback_answer(client.press(STAFF, reply, buttons(reply)["👍"]))
    assert "已记录 👍" in up["text"]
    row = logged_question(live_bot, "会议纪要由谁签发？")
    assert (row.feedback, row.feedback_reason) == (1, None)


def test_the_queue_is_for_admins_only(live_bot: LiveBot) -> None:
    client = live_bot.client
    [refused] = client.ask(STAFF, "/unanswered")
    assert "只有管理员" in refused["text"]
    anchor = client.ask(STAFF, "/help")[0]
    forged = client.wait_callback_answer(client.press(STAFF, anchor, "ua:1:1", forged=True))
    assert forged["show_alert"] and "只有办公室管理员" in forged["text"]
    [note] = client.ask(ADMIN, "/unanswered", chat_id=OFFICE_GROUP)
    assert note["text"] == "涉及个人事项，已私聊发给您。"


def test_a_declined_question_is_answered_by_the_office_and_then_by_the_bot(live_bot: LiveBot) -> None:
    client = live_bot.client
    marks = {who: _last_id(client, who) for who in (ASKER, OTHER_ASKER)}
    for who, question in ((ASKER, QUESTION), (OTHER_ASKER, SAME_AGAIN), (ASKER, QUESTION)):
        [declined] = client.ask(who, question)
        assert "没有找到" in declined["text"]
    queue = answer(client, ADMIN, "/unanswered")
    assert "待办公室答复的问题" in queue["text"]
    while "公章" not in queue["text"]:  # earlier tests leave questions of their own on the queue
        queue = _next_page(live_bot, queue)
    line = next(line for line in queue["text"].splitlines() if "公章" in line)
    assert "（3 次" in line
    number = line.split(".")[0]
    client.wait_callback_answer(client.press(ADMIN, queue, buttons(queue)[f"答复 {number}"]))
    client.wait_message(ADMIN, queue["message_id"], "先写依据的条号")
    done = answer(client, ADMIN, "8 公章由区政府办公室统一管理")
    assert "已告知 2 位提问人" in done["text"], done["text"]
    live_bot.deliver()
    for who in (ASKER, OTHER_ASKER):
        told = client.wait_message(who, marks[who], "办公室答复：公章由区政府办公室统一管理")
        assert "第八条" in told["text"] and "月" in told["text"]
        assert "📄 第八条全文" in buttons(told)
    notices = [m for m in client.bot_messages(ASKER, marks[ASKER]) if "办公室答复" in m["text"]]
    assert len(notices) == 1, "someone who asked twice is told once"
    again = client.ask(ADMIN, "/unanswered")[0]
    assert "公章" not in again["text"]
    _answered_from_the_office(live_bot)
    live_bot.restart()
    _answered_from_the_office(live_bot)


def _next_page(live_bot: LiveBot, queue: dict) -> dict:
    client, page = live_bot.client, queue["text"]
    client.wait_callback_answer(client.press(ADMIN, queue, buttons(queue)["下一页 ▶"]))
    return client.wait_for(
        lambda: (m := client.message(ADMIN, queue["message_id"]))["text"] != page and m, "the next page"
    )


def _answered_from_the_office(live_bot: LiveBot) -> None:
    [reply] = live_bot.client.ask(STAFF, PARAPHRASE)
    assert reply["text"].startswith("🏛 办公室答复：公章由区政府办公室统一管理")
    assert "第八条" in reply["text"] and "📄 第八条全文" in buttons(reply)
    with live_bot.services.database.session() as session:
        office_id = session.scalars(select(CuratedAnswer.id).where(CuratedAnswer.question.like("公章%"))).one()
    assert logged_question(live_bot, PARAPHRASE).curated_answer_id == office_id
