"""Questions asked through the sandbox's HTTP API reach the real PTB bot and come back cited."""

from bot.sandbox.client import buttons
from tests.handlers.conftest import OFFICE_GROUP, PRIVATE, LiveBot


def test_private_question_is_answered_with_article_79_and_buttons(live_bot: LiveBot) -> None:
    [reply] = live_bot.client.ask(PRIVATE["deputy"], "副区长离包外出要向谁请示？")
    assert "须事先向区长请示" in reply["text"]
    assert "《昆都仑区人民政府工作规则》第七十九条（第十二章 工作纪律）" in reply["text"]
    assert "<blockquote>" in reply["html"] and "<b>" in reply["html"]
    labels = buttons(reply)
    assert "📄 第七十九条全文" in labels and "👍" in labels and "👎" in labels


def test_group_question_by_ask_command_and_by_mention(live_bot: LiveBot) -> None:
    [by_command] = live_bot.client.ask(PRIVATE["staff"], "/ask 会议纪要由谁签发？", chat_id=OFFICE_GROUP)
    assert "第五十条" in by_command["text"]
    assert "❓ 会议纪要由谁签发？" in by_command["text"]
    [by_mention] = live_bot.client.ask(
        PRIVATE["staff"], "@zhengwu_bot 其他部门来征求意见，多少天内要回复？", chat_id=OFFICE_GROUP
    )
    assert "第六十条" in by_mention["text"] and "5个工作日内回复" in by_mention["text"]


def test_plain_group_chatter_is_not_answered(live_bot: LiveBot) -> None:
    client = live_bot.client
    chatter = client.send(PRIVATE["staff"], "大家下午好", chat_id=OFFICE_GROUP)
    marker = client.ask(PRIVATE["staff"], "/ask 第九条", chat_id=OFFICE_GROUP)
    between = [
        m for m in client.bot_messages(OFFICE_GROUP, chatter["message_id"]) if m["message_id"] < marker[0]["message_id"]
    ]
    assert between == []


def test_full_article_button_works_and_a_second_press_works_too(live_bot: LiveBot) -> None:
    client = live_bot.client
    user = PRIVATE["deputy_b"]
    [reply] = client.ask(user, "互为AB角的领导同时出差时由谁代行职责？")
    data = buttons(reply)["📄 第七十九条全文"]
    for _ in range(2):
        query = client.press(user, reply, data)
        assert client.wait_callback_answer(query)["answered"]
    articles = client.wait_bot_messages(user, reply["message_id"], count=2)
    assert all(m["text"].startswith("《昆都仑区人民政府工作规则》第七十九条") for m in articles[:2])
    assert "由常务副区长代行职责" in articles[0]["text"]


def test_out_of_scope_question_is_declined_without_citation(live_bot: LiveBot) -> None:
    [reply] = live_bot.client.ask(PRIVATE["staff"], "食堂几点开饭？")
    assert "没有找到" in reply["text"]
    assert "第" not in reply["text"].split("没有找到")[0]
    assert not any(label.startswith("📄") for label in buttons(reply))


def test_html_in_a_question_comes_back_escaped(live_bot: LiveBot) -> None:
    question = "<b>加粗</b> & <i>公告</i>由谁签发？"
    [reply] = live_bot.client.ask(PRIVATE["staff"], f"/ask {question}", chat_id=OFFICE_GROUP)
    assert f"❓ {question}" in reply["text"]
    assert "&lt;b&gt;加粗&lt;/b&gt; &amp; &lt;i&gt;" in reply["html"]


def test_reply_longer_than_a_message_arrives_in_valid_parts(live_bot: LiveBot) -> None:
    client = live_bot.client
    user = PRIVATE["staff"]
    parts = client.ask(user, "/article 第一条", count=3)
    archive_parts = [m for m in parts if "档案" in m["text"]]
    assert len(archive_parts) >= 2
    assert all(len(m["text"]) <= 4096 for m in parts)
    text = "".join(m["text"] for m in archive_parts)
    assert text.count("类档案按年度整理归档") == 259
    assert text.endswith("具体办法另行制定。")


def test_rules_browsing_by_buttons_and_repeated_presses(live_bot: LiveBot) -> None:
    client = live_bot.client
    user = PRIVATE["office_director"]
    [books] = client.ask(user, "/rules")
    rulebook = buttons(books)["《昆都仑区人民政府工作规则》"]
    # The second press comes from a stale view of the message, as when a user double-taps.
    for stale in (False, True):
        client.wait_callback_answer(client.press(user, books, rulebook, forged=stale))
    chapters = next(m for m in client.messages(user) if m["message_id"] == books["message_id"])
    assert "共 13 章 85 条" in chapters["text"]
    chapter_12 = next(d for label, d in buttons(chapters).items() if label.startswith("第十二章"))
    client.wait_callback_answer(client.press(user, chapters, chapter_12))
    listing = next(m for m in client.messages(user) if m["message_id"] == books["message_id"])
    client.wait_callback_answer(client.press(user, listing, buttons(listing)["第七十九条"]))
    [article] = client.wait_bot_messages(user, books["message_id"])
    assert article["text"].startswith("《昆都仑区人民政府工作规则》第七十九条")


def test_article_command_accepts_chinese_and_arabic_numbers(live_bot: LiveBot) -> None:
    client = live_bot.client
    for text in ("/article 第五十条", "/article 50"):
        [reply] = client.ask(PRIVATE["staff"], text)
        assert reply["text"].startswith("《昆都仑区人民政府工作规则》第五十条（第八章 会议制度）")
    [unknown] = client.ask(PRIVATE["staff"], "/article 第九十九条")
    assert "没有第九十九条" in unknown["text"]


def test_feedback_is_recorded_once_and_only_from_the_asker(live_bot: LiveBot) -> None:
    client = live_bot.client
    [reply] = client.ask(PRIVATE["staff"], "/ask 三公经费有什么要求？", chat_id=OFFICE_GROUP)
    down = buttons(reply)["👎"]
    assert client.wait_callback_answer(client.press(PRIVATE["staff"], reply, down))["text"] == "已记录 👎，谢谢反馈。"
    assert client.wait_callback_answer(client.press(PRIVATE["staff"], reply, down))["text"] == "已经记录过了。"
    other = client.wait_callback_answer(client.press(PRIVATE["deputy"], reply, down))
    assert "只有提问的人" in other["text"]


def test_forged_callback_for_a_missing_record_is_refused_politely(live_bot: LiveBot) -> None:
    client = live_bot.client
    [reply] = client.ask(PRIVATE["staff"], "第9条")
    answer = client.wait_callback_answer(client.press(PRIVATE["staff"], reply, "fb:999999:1", forged=True))
    assert "找不到这条问答记录" in answer["text"]


def test_command_menu_is_set_in_chinese(live_bot: LiveBot) -> None:
    commands = {c["command"]: c["description"] for c in live_bot.client.state()["commands"]}
    assert commands["rules"] == "按章浏览工作规则"
    assert {"ask", "article", "help", "stats"} <= set(commands)


def test_bot_keeps_running_after_a_handler_raises(live_bot: LiveBot, monkeypatch) -> None:
    engine = live_bot.services.engine
    original = engine.ask

    def broken(question: str, asker_position: str | None = None):
        if "爆炸" in question:
            raise RuntimeError("simulated failure inside the rules engine")
        return original(question, asker_position)

    monkeypatch.setattr(engine, "ask", broken)
    [apology] = live_bot.client.ask(PRIVATE["staff"], "测试爆炸")
    assert "抱歉" in apology["text"]
    [after] = live_bot.client.ask(PRIVATE["staff"], "会议纪要由谁签发？")
    assert "第五十条" in after["text"]
