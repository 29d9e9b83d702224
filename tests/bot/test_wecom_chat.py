"""Rules Q&A in WeCom, end to end over real HTTP: a member types in the stand-in, the platform's
encrypted callback reaches the bot, the same services as in Telegram answer, and the answer comes
back as WeCom markdown citing 第N条 with its chapter. Replays are handled once, tampered callbacks
refused, and an access token that expires mid-run loses no message."""

from dataclasses import replace

import httpx
from sqlalchemy import select

from bot.db import QuestionLog, WeComCallback
from bot.wecom import adapter
from bot.wecom.adapter import WeComAdapter
from bot.wecom.run import VISITOR_USERID
from bot.wecom.standin import STANDIN_AGENT_ID, callback_request, text_message_xml
from tests.bot.wecom_chat import WeComChat, chat_fixture

QUESTION = "副区长离包外出要向谁请示？"


chat = chat_fixture("zhengwu_wecom_chat")


async def test_a_deputy_asks_and_the_answer_cites_article_79_with_its_chapter(chat: WeComChat) -> None:
    answer = await chat.ask("zhangwei", QUESTION)

    assert "——《昆都仑区人民政府工作规则》第七十九条（第十二章 工作纪律）" in answer
    assert "「" in answer and "离包外出，须事先向区长请示" in answer and "<blockquote>" not in answer
    assert "回复“第七十九条”可查看全文" in answer
    assert (sent := chat.standin.messages_for("zhangwei")[-1]).msgtype == "markdown"
    assert len(sent.text.encode()) <= 2048
    with chat.services.database.session() as session:
        row = session.scalars(select(QuestionLog).order_by(QuestionLog.id.desc())).first()
        assert (row.wecom_userid, row.telegram_user_id, row.chat_id) == ("zhangwei", None, None)
        assert row.person_id is not None and row.cited[0].endswith("#79")


async def test_a_callback_the_platform_delivers_again_is_answered_once(chat: WeComChat) -> None:
    asked, replies = chat.count(QuestionLog), len(chat.standin.messages_for("liuyang"))
    chat.standin.lose_acknowledgements = 1  # the platform missed the bot's answer and retries

    delivery = await chat.standin.user_types("liuyang", QUESTION)
    await chat.handled()

    assert delivery.statuses == [200, 200]
    assert chat.count(QuestionLog) == asked + 1
    assert len(chat.standin.messages_for("liuyang")) == replies + 1


async def test_a_captured_callback_replayed_is_not_handled_again(chat: WeComChat) -> None:
    standin = chat.standin
    message = text_message_xml(standin.corp_id, "chenjing", QUESTION, 424242, standin.clock())
    query, body = callback_request(standin.crypto, message, str(int(standin.clock())), "replay")
    async with httpx.AsyncClient() as http:
        first = await http.post(chat.bot.callback_url, params=query, content=body)
        await chat.handled()
        asked = chat.count(QuestionLog)
        replayed = await http.post(chat.bot.callback_url, params=query, content=body)
        await chat.handled()

    assert first.status_code == replayed.status_code == 200
    assert chat.count(QuestionLog) == asked
    assert len(standin.messages_for("chenjing")) == 1


async def test_a_tampered_callback_is_refused_and_nothing_changes(chat: WeComChat) -> None:
    standin = chat.standin
    message = text_message_xml(standin.corp_id, "wugang", QUESTION, 434343, standin.clock())
    query, body = callback_request(standin.crypto, message, str(int(standin.clock())), "tamper")
    tampered = body.replace("<Encrypt><![CDATA[", "<Encrypt><![CDATA[AAAA", 1)
    stale_query, stale_body = callback_request(standin.crypto, message, str(int(standin.clock()) - 3600), "old")
    asked, accepted = chat.count(QuestionLog), chat.count(WeComCallback)
    async with httpx.AsyncClient() as http:
        altered = await http.post(chat.bot.callback_url, params=query, content=tampered)
        forged = await http.post(chat.bot.callback_url, params=query | {"msg_signature": "f" * 40}, content=body)
        stale = await http.post(chat.bot.callback_url, params=stale_query, content=stale_body)
    await chat.handled()

    assert (altered.status_code, forged.status_code, stale.status_code) == (403, 403, 403)
    assert (chat.count(QuestionLog), chat.count(WeComCallback)) == (asked, accepted)
    assert standin.messages_for("wugang") == []


async def test_an_access_token_expiring_mid_run_loses_no_message(chat: WeComChat) -> None:
    await chat.ask("zhaomin", "请假怎么办理？")
    tokens = chat.standin.api_calls.count("gettoken")
    chat.standin.expire_tokens()

    answer = await chat.ask("zhaomin", QUESTION)

    assert "第七十九条" in answer
    assert chat.standin.api_calls.count("gettoken") == tokens + 1
    assert len(chat.standin.messages_for("zhaomin")) >= 2


async def test_someone_not_on_the_roster_is_told_so_in_chinese(chat: WeComChat) -> None:
    answer = await chat.ask(VISITOR_USERID, QUESTION)
    assert "第七十九条" in answer and adapter.UNBOUND_NOTE in answer, "unbound people may ask ([bot] unbound_can_ask)"

    closed = replace(chat.services, settings=replace(chat.services.settings, unbound_can_ask=False))
    refusing = WeComAdapter(closed, api=None, agent_id=STANDIN_AGENT_ID)  # type: ignore[arg-type]
    assert refusing.reply_to_text(VISITOR_USERID, QUESTION) == [adapter.Reply("text", adapter.NOT_ON_ROSTER)]


async def test_an_article_by_its_number_the_contents_and_what_cannot_be_read(chat: WeComChat) -> None:
    article = await chat.ask("sunli", "第七十九条")
    contents = await chat.ask("sunli", "/rules")
    missing = await chat.ask("sunli", "第999条")
    empty = await chat.ask("sunli", "   ")
    help_asked = await chat.ask("sunli", "/help")
    picture = (
        f"<xml><ToUserName>{chat.standin.corp_id}</ToUserName><FromUserName>sunli</FromUserName>"
        "<CreateTime>1790000000</CreateTime><MsgType>image</MsgType><PicUrl>http://x/y.png</PicUrl>"
        f"<MsgId>515151</MsgId><AgentID>{STANDIN_AGENT_ID}</AgentID></xml>"
    )
    await chat.standin.push(picture)
    await chat.handled()

    assert article.startswith("**《昆都仑区人民政府工作规则》第七十九条") and "AB 角" in article
    assert "第十二章" in contents and "回复条号" in contents
    assert "没有第九百九十九条" in missing
    assert empty == help_asked == adapter.NOTHING_TO_ASK
    assert chat.standin.messages_for("sunli")[-1].text == adapter.ONLY_TEXT


async def test_a_forged_card_button_is_answered_in_chinese_and_changes_nothing(chat: WeComChat) -> None:
    delivery = await chat.standin.user_clicks("wangjianguo", "leave-1", "ld:1:999:ok")
    unknown = await chat.standin.user_clicks("wangjianguo", "leave-1", "approve")
    await chat.handled()

    assert delivery.acknowledged and unknown.acknowledged
    told = sorted(s.text for s in chat.standin.messages_for("wangjianguo")[-2:])
    assert told == sorted([adapter.STALE_BUTTON, "找不到这份请假单。"])


async def test_an_article_longer_than_a_message_arrives_in_parts_and_markup_in_rules_stays_text(
    chat: WeComChat,
) -> None:
    before = len(chat.standin.messages_for("zhoujie"))
    await chat.ask("zhoujie", "第一条")  # the archives rulebook's first article runs to some 20,000 bytes
    parts = chat.standin.messages_for("zhoujie")[before:]
    marked = await chat.ask("zhoujie", "第2条")

    assert len(parts) > 3 and all(len(p.text.encode()) <= 2048 for p in parts)
    assert any("第259类档案" in p.text for p in parts), "the whole article, to its last item"
    assert "查阅＜机密＞档案须经办公室主任批准 & 登记" in marked
