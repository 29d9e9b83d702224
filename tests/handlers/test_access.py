"""Who may do what: unbound accounts, admins, and binding by invite code."""

from datetime import timedelta

from sqlalchemy import select

from bot.db import QuestionLog
from bot.roster import create_invite
from tests.handlers.conftest import PRIVATE, LiveBot


def test_unbound_user_may_ask_but_cannot_reach_a_workflow(live_bot: LiveBot) -> None:
    client = live_bot.client
    [answer] = client.ask(PRIVATE["visitor"], "会议纪要由谁签发？")
    assert "第五十条" in answer["text"]
    [refused] = client.ask(PRIVATE["visitor"], "/stats")
    assert "还没有绑定" in refused["text"]


def test_stats_are_for_admins_only(live_bot: LiveBot) -> None:
    client = live_bot.client
    [refused] = client.ask(PRIVATE["staff"], "/stats")
    assert "只有管理员" in refused["text"]
    client.ask(PRIVATE["office_director"], "公积金怎么提取？")
    client.ask(PRIVATE["staff"], "身份证110101199003071234丢了，电话13812345678，食堂几点开饭？")
    [stats] = client.ask(PRIVATE["office_director"], "/stats")
    assert "问答统计" in stats["text"]
    assert "公积金怎么提取？" in stats["text"]
    assert "身份证110101********1234丢了，电话138****5678" in stats["text"]
    assert "199003071234" not in stats["text"] and "12345678" not in stats["text"]


def test_invite_code_binds_an_account_once(live_bot: LiveBot) -> None:
    services, client = live_bot.services, live_bot.client
    with services.database.session() as session:
        code = create_invite(
            session, "黄小红", services.clock.now(), timedelta(hours=services.settings.invite_valid_hours)
        )
        session.commit()
    newcomer = next(u["id"] for u in client.state()["users"] if u["first_name"].startswith("黄小红"))
    [bound] = client.ask(newcomer, f"/start {code}")
    assert "绑定成功：您是 黄小红（工作人员）" in bound["text"]
    [who] = client.ask(newcomer, "/whoami")
    assert "您是 黄小红（工作人员，区政府办公室）" in who["text"]
    [again] = client.ask(PRIVATE["visitor"], f"/start {code}")
    assert "邀请链接无效、已过期或已被使用" in again["text"]
    [still_unbound] = client.ask(PRIVATE["visitor"], "/whoami")
    assert "尚未绑定" in still_unbound["text"]


def test_every_question_is_logged_with_citations_and_latency(live_bot: LiveBot) -> None:
    live_bot.client.ask(PRIVATE["deputy"], "区长办公会议主要干什么？")
    with live_bot.services.database.session() as session:
        row = session.scalars(select(QuestionLog).where(QuestionLog.question == "区长办公会议主要干什么？")).one()
    assert row.cited[0].endswith("#47")
    assert row.declined is False
    assert row.latency_ms > 0
    assert row.telegram_user_id == PRIVATE["deputy"]
