"""Answers staff can act on, through the Bot API server on SQLite and PostgreSQL: a situation told
by a bound 副区长 is answered for his position and leads to a leave form filled from his words; a
number the rules do not give is declined with what they do say; forms are offered only in private."""

from bot.sandbox.client import buttons
from tests.handlers.conftest import OFFICE_GROUP, PRIVATE, LiveBot, logged_question
from tests.handlers.leave_steps import answer

DEPUTY, STAFF = PRIVATE["deputy"], PRIVATE["staff"]


def test_a_deputys_situation_is_answered_for_his_position_and_opens_a_filled_leave_form(live_bot: LiveBot) -> None:
    client = live_bot.client
    answer(client, DEPUTY, "/cancel")  # an earlier test may have left a form open
    [reply] = client.ask(DEPUTY, "我下周一到周三要去北京出差，走之前要跟谁请示？")
    assert reply["text"].startswith("您是副区长，按规定：")
    assert "须事先向区长请示" in reply["text"] and "第七十九条" in reply["text"]
    query = client.press(DEPUTY, reply, buttons(reply)["📝 填写请假报备"])
    assert client.wait_callback_answer(query)["answered"]
    form = client.wait_message(DEPUTY, reply["message_id"], "请假单")
    # Tuesday 1 December: 下周一 is 7 December, and 周三 after it the 9th.
    assert "类型：离包外出" in form["text"] and "目的地：北京" in form["text"]
    assert "开始：12月7日" in form["text"] and "结束：12月9日" in form["text"]
    assert "事由" in form["text"], "the form waits at the first field the question did not settle"
    assert "已取消" in answer(client, DEPUTY, "/cancel")["text"]


def test_a_number_the_rules_do_not_give_is_declined_with_what_they_do_say(live_bot: LiveBot) -> None:
    question = "副区长离包外出要提前几天向区长请示？"
    [reply] = live_bot.client.ask(STAFF, question)
    assert reply["text"].startswith("《规则》没有规定具体期限（天数）")
    assert "须事先向区长请示" in reply["text"] and "第七十九条" in reply["text"]
    assert "📝 填写请假报备" not in buttons(reply)
    assert logged_question(live_bot, question).declined, "it waits on /unanswered for the office"


def test_a_group_answer_offers_no_form(live_bot: LiveBot) -> None:
    [reply] = live_bot.client.ask(STAFF, "/ask 副区长离包外出要向谁请示？", chat_id=OFFICE_GROUP)
    assert "第七十九条" in reply["text"]
    assert not any(label.startswith(("📝", "📋", "⏰")) for label in buttons(reply))


def test_an_answer_about_someone_else_is_not_put_as_the_askers_own(live_bot: LiveBot) -> None:
    [reply] = live_bot.client.ask(DEPUTY, "区长外出学习期间由谁主持区政府工作？")
    assert "第九条" in reply["text"] and "您是" not in reply["text"]
