"""One chat scenario, two channels: the same steps run against the bot in Telegram (the local Bot
API sandbox, PTB polling it over HTTP) and in WeCom (the stand-in, encrypted callbacks), each on
SQLite and PostgreSQL. A 副区长 asks and the answer cites 第七十九条; their 离包外出 reaches the 区长
as a card with 批准 / 不批准 / 退回补充, whose 批准 updates that card and tells the requester and the
AB partner; a topic's review card passes its stage; a department's reminder reaches its group chat.

`Messenger` is what the scenario needs of a channel; each adapter drives its channel's fake server.
"""

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any, Protocol

import pytest
from sqlalchemy.orm import Session

from bot.benchmarks.harness import RunningBot, start_sandbox
from bot.deadlines import service as deadlines
from bot.sandbox.client import SandboxClient, buttons
from bot.services import Services
from retrieval.engine import RulesEngine
from tests.bot.wecom_chat import WeComChat, wecom_chat
from tests.conftest import bot_services
from tests.handlers.test_concurrency import _file_leave, _submitted_topic

# Roster people: (Telegram id, WeCom account).
PEOPLE = {
    "区长": (10001, "wangjianguo"),
    "张伟": (10003, "zhangwei"),
    "刘洋": (10004, "liuyang"),
    "赵敏": (10005, "zhaomin"),
}
FINANCE = "区财政局"
FINANCE_CHATS = (-1001000000008, "finance")  # its Telegram group and its WeCom application group chat


class Messenger(Protocol):
    services: Services

    async def ask(self, who: str, text: str, expect: str) -> str:
        """`who` types `text`; the bot's reply that contains `expect`."""
        ...

    async def card(self, who: str, *contains: str) -> Any:
        """The card sent to `who` that shows all of `contains`."""
        ...

    def buttons(self, who: str, card: Any) -> list[str]: ...

    def text(self, who: str, card: Any) -> str:
        """What the card shows now (a decision updates it in place)."""
        ...

    async def press(self, who: str, card: Any, label: str) -> str:
        """`who` presses the card's button `label`; what they are told."""
        ...

    async def settled(self) -> None:
        """Everything the bot was sent handled, and what the outbox owes now delivered."""
        ...

    def said_to(self, who: str) -> list[str]: ...

    def said_in(self, group: str) -> list[str]: ...


@dataclass
class TelegramMessenger:
    services: Services
    client: SandboxClient
    running: RunningBot

    async def ask(self, who: str, text: str, expect: str) -> str:
        user = PEOPLE[who][0]
        sent = await asyncio.to_thread(self.client.send, user, text)
        reply = await asyncio.to_thread(self.client.wait_message, user, sent["message_id"], expect)
        return reply["text"]

    async def card(self, who: str, *contains: str) -> Any:
        return await asyncio.to_thread(self.client.wait_message, PEOPLE[who][0], 0, *contains)

    def buttons(self, who: str, card: Any) -> list[str]:
        return list(buttons(self.client.message(PEOPLE[who][0], card["message_id"])))

    def text(self, who: str, card: Any) -> str:
        return self.client.message(PEOPLE[who][0], card["message_id"])["text"]

    async def press(self, who: str, card: Any, label: str) -> str:
        query = await asyncio.to_thread(self.client.press, PEOPLE[who][0], card, buttons(card)[label])
        return (await asyncio.to_thread(self.client.wait_callback_answer, query)).get("text", "")

    async def settled(self) -> None:
        while (await asyncio.to_thread(self.running.deliver)).claimed:
            pass

    def said_to(self, who: str) -> list[str]:
        return [m.get("text", "") for m in self.client.bot_messages(PEOPLE[who][0])]

    def said_in(self, group: str) -> list[str]:
        return [m.get("text", "") for m in self.client.bot_messages(self.services.settings.groups[group])]


@dataclass
class WeComMessenger:
    chat: WeComChat

    @property
    def services(self) -> Services:
        return self.chat.services

    async def ask(self, who: str, text: str, expect: str) -> str:
        said = await self.chat.ask(PEOPLE[who][1], text)
        assert expect in said, said
        return said

    async def card(self, who: str, *contains: str) -> Any:
        await self.chat.handled()
        [card] = [
            s
            for s in self.chat.standin.messages_for(PEOPLE[who][1])
            if s.msgtype == "template_card" and all(c in s.text for c in contains)
        ]
        return card

    def buttons(self, who: str, card: Any) -> list[str]:
        return list(card.buttons)

    def text(self, who: str, card: Any) -> str:
        return card.text

    async def press(self, who: str, card: Any, label: str) -> str:
        return await self.chat.press(PEOPLE[who][1], card, label)

    async def settled(self) -> None:
        await self.chat.handled()

    def said_to(self, who: str) -> list[str]:
        return [s.text for s in self.chat.standin.messages_for(PEOPLE[who][1])]

    def said_in(self, group: str) -> list[str]:
        assert self.services.settings.wecom is not None
        return [s.text for s in self.chat.standin.chats[self.services.settings.wecom.groups[group]]["messages"]]


def _with_finance_group(found: Services, channel: str) -> Services:
    """The department's group chat configured beside the office's, on a Monday morning."""
    settings = found.settings
    if channel == "wecom":
        assert settings.wecom is not None
        wecom = replace(settings.wecom, groups={**settings.wecom.groups, FINANCE: FINANCE_CHATS[1]})
        settings = replace(settings, wecom=wecom)
    else:
        settings = replace(settings, groups={**settings.groups, FINANCE: FINANCE_CHATS[0]})
    services = replace(found, settings=settings)
    services.clock.set(datetime(2027, 3, 1, 10, 0))
    return services


@pytest.fixture(
    scope="module",
    params=[("telegram", "sqlite"), ("telegram", "postgresql"), ("wecom", "sqlite"), ("wecom", "postgresql")],
    ids=lambda p: "-".join(p),
)
async def messenger(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    two_rulebooks: Path,
    bot_engine: RulesEngine,
) -> AsyncIterator[Messenger]:
    """The bot in one channel, shared by the module's steps."""
    channel, database = request.param
    tmp = tmp_path_factory.mktemp(f"both_{channel}")
    name = f"zhengwu_both_{channel}"
    if channel == "wecom":
        found = bot_services(database, tmp, name, two_rulebooks, bot_engine, channel="wecom", wecom_callback_port="0")
        services = _with_finance_group(found, channel)
        async with wecom_chat(services) as chat:
            yield WeComMessenger(chat)
    else:
        found = bot_services(database, tmp, name, two_rulebooks, bot_engine, reminders_scan_seconds="3600")
        services = _with_finance_group(found, channel)
        server = start_sandbox(services)
        running = RunningBot(services, server).start()
        client = SandboxClient(server.url)
        try:
            yield TelegramMessenger(services, client, running)
        finally:
            client.close()
            running.stop()
            server.stop_thread()
    services.database.dispose()


async def test_a_question_is_answered_with_the_article_it_rests_on(messenger: Messenger) -> None:
    answer = await messenger.ask("张伟", "副区长离包外出要向谁请示？", "第七十九条")
    assert "区长" in answer


async def test_a_deputys_away_leave_is_decided_on_the_heads_card_and_everyone_is_told(messenger: Messenger) -> None:
    deputy, partner = PEOPLE["张伟"][0], PEOPLE["刘洋"][0]
    request_id = await asyncio.to_thread(
        _file_leave, messenger.services, deputy, "离包外出", "2027-03-03", "2027-03-04", partner
    )
    await messenger.settled()
    card = await messenger.card("区长", f"请假审批 #{request_id}")
    assert messenger.buttons("区长", card) == ["批准", "不批准", "退回补充"]
    assert "申请人：张伟（副区长）" in messenger.text("区长", card)

    assert await messenger.press("区长", card, "批准") == "已批准"
    await messenger.settled()

    assert "结果：已批准（王建国" in messenger.text("区长", card) and not messenger.buttons("区长", card)
    mine = [
        t for t in messenger.said_to("张伟") if f"我的请假单 #{request_id}" in t or f"我的请假单 ＃{request_id}" in t
    ]
    assert mine and "已批准" in mine[-1], "the requester is told"
    assert any("期间由您代行职责" in t for t in messenger.said_to("刘洋")), "the AB partner is told"
    assert any("张伟副区长" in t and "离包外出" in t for t in messenger.said_in("office"))


async def test_a_topic_passes_its_review_stage_on_the_reviewers_card(messenger: Messenger) -> None:
    topic_id = await asyncio.to_thread(_submitted_topic, messenger.services, "常务会议", "两个渠道：审核议题")
    await messenger.settled()
    card = await messenger.card("张伟", f"#{topic_id}（常务会议")
    assert messenger.buttons("张伟", card)[:3] == ["通过", "退回修改", "不予上会"]

    assert await messenger.press("张伟", card, "通过") == "已通过"
    await messenger.settled()

    assert "结果：通过（张伟）" in messenger.text("张伟", card)
    await messenger.card("赵敏", f"#{topic_id}（常务会议")  # the next stage's reviewer


async def test_a_departments_reminder_reaches_its_group_chat(messenger: Messenger) -> None:
    services = messenger.services
    title = "关于报送一季度财政收支情况的通知（两个渠道）"

    def create(session: Session) -> int:
        context = services.context(session)
        return deadlines.create_deadline(
            session, "adhoc", context.now.date(), context, title=title, due=date(2027, 3, 5), department=FINANCE
        ).id

    await asyncio.to_thread(services.run, create)
    services.clock.set(datetime(2027, 3, 5, 9, 30))  # the due day, in working hours
    await messenger.settled()

    assert any(title in t and "今日到期" in t for t in messenger.said_in(FINANCE))
