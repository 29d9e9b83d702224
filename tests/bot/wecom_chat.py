"""A bot running in WeCom on the local stand-in, for the WeCom chat suites: the callback server,
its queue and the delivery loop over real HTTP, with the application's assembled features."""

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.app import wiring
from bot.services import Services
from bot.wecom.run import AppCredentials, Features, WeComBot, standin_members
from bot.wecom.standin import Sent, WeComStandIn
from retrieval.engine import RulesEngine
from tests.conftest import bot_services


@dataclass
class WeComChat:
    standin: WeComStandIn
    bot: WeComBot
    services: Services

    async def ask(self, userid: str, text: str) -> str:
        """What the member reads after typing `text`: the bot's newest message(s) since."""
        before = len(self.standin.messages_for(userid))
        delivery = await self.standin.user_types(userid, text)
        assert delivery.acknowledged
        await self.handled()
        return "\n".join(s.text for s in self.standin.messages_for(userid)[before:])

    async def choose(self, userid: str, menu: str, label: str) -> str:
        """The member answers a form's numbered menu with the number of the choice `label` starts."""
        numbers = [n for n, shown in re.findall(r"^(\d+)\. (.+)$", menu, re.MULTILINE) if shown.startswith(label)]
        assert len(numbers) == 1, f"{label!r} is not one choice of {menu!r}"
        return await self.ask(userid, numbers[0])

    async def press(self, userid: str, card: Sent, label: str) -> str:
        """The member presses the card's button `label`; what the bot answers them."""
        before = len(self.standin.messages_for(userid))
        task_id = card.body["template_card"]["task_id"]
        assert (await self.standin.user_clicks(userid, task_id, card.buttons[label])).acknowledged
        await self.handled()
        return "\n".join(s.text for s in self.standin.messages_for(userid)[before:])

    async def handled(self) -> None:
        """Every accepted callback handled, then everything the outbox owes now sent."""
        assert self.bot.queue is not None and self.bot.delivery is not None
        await self.bot.queue.drain()
        while (await self.bot.delivery.step()).claimed:
            pass

    def count(self, model: type) -> int:
        with self.services.database.session() as session:
            return session.scalar(select(func.count()).select_from(model))


def chat_fixture(name: str, prepare: Callable[[Services], Services] = lambda s: s, **overrides: str) -> Any:
    """A module's `chat` fixture: the bot in WeCom on SQLite and on PostgreSQL (database `name`),
    with any ZHENGWU_* `overrides`, its services `prepare`d before it starts."""

    @pytest.fixture(scope="module", params=["sqlite", "postgresql"])
    async def chat(
        request: pytest.FixtureRequest,
        tmp_path_factory: pytest.TempPathFactory,
        two_rulebooks: Path,
        bot_engine: RulesEngine,
    ) -> AsyncIterator[WeComChat]:
        tmp = tmp_path_factory.mktemp(name)
        found = bot_services(request.param, tmp, name, two_rulebooks, bot_engine, wecom_callback_port="0", **overrides)
        services = prepare(found)
        async with wecom_chat(services) as running:
            yield running
        services.database.dispose()

    return chat


@asynccontextmanager
async def wecom_chat(services: Services) -> AsyncIterator[WeComChat]:
    """The bot's WeCom side on a fresh stand-in whose members are the roster's WeCom accounts."""
    settings = services.settings.wecom
    assert settings is not None
    standin = WeComStandIn(members=standin_members(services))
    await standin.start()
    ready = asyncio.Event()
    ready.set()
    tables = wiring()
    bot = WeComBot(
        services, AppCredentials.of_standin(standin), settings, ready, Features(tables.renderers, tables.workflows)
    )
    standin.callback_url = await bot.start()
    try:
        yield WeComChat(standin, bot, services)
    finally:
        await bot.stop()
        await standin.stop()
