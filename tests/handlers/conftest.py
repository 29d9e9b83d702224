"""A running bot for end-to-end tests: sandbox Bot API server + PTB polling it over HTTP."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.benchmarks.harness import RunningBot, start_sandbox
from bot.db import QuestionLog
from bot.delivery import Step
from bot.sandbox.client import SandboxClient
from bot.services import Services, build_services
from retrieval.engine import RulesEngine
from tests.conftest import bot_services

PRIVATE = {
    "district_head": 10001,
    "executive_deputy": 10002,
    "deputy": 10003,
    "deputy_b": 10004,
    "office_director": 10005,
    "staff": 10010,
    "visitor": 99999,
}
OFFICE_GROUP = -1001000000001
START_OF_TESTS = datetime(2026, 12, 1, 10, 0)


@dataclass
class LiveBot:
    client: SandboxClient
    services: Services
    running: RunningBot

    def deliver(self) -> Step:
        """Send what is due at the bot's (frozen) clock now, as the periodic scan would."""
        return self.running.deliver()

    def restart(self) -> None:
        """Stop the bot and start a fresh process-like instance on the same database and server."""
        frozen = self.services.clock.now()
        self.running.stop()
        self.services = build_services(self.services.settings, engine=self.services.engine)
        self.services.clock.set(frozen)
        self.running = RunningBot(self.services, self.running.server).start()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def live_bot(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    two_rulebooks: Path,
    bot_engine: RulesEngine,
) -> Iterator[LiveBot]:
    """The bot on SQLite, and again on PostgreSQL when TEST_DATABASE_URL names one. The periodic
    scan is an hour apart: tests step delivery themselves (a commit still wakes it at once)."""
    tmp = tmp_path_factory.mktemp("bot")
    services = bot_services(
        request.param, tmp, "zhengwu_live_bot", two_rulebooks, bot_engine, reminders_scan_seconds="3600"
    )
    services.clock.set(START_OF_TESTS)
    server = start_sandbox(services)
    running = RunningBot(services, server).start()
    client = SandboxClient(server.url)
    bot = LiveBot(client, services, running)
    yield bot
    client.close()
    bot.running.stop()
    server.stop_thread()


@pytest.fixture(autouse=True)
def reset_clock(live_bot: LiveBot) -> None:
    """Every test starts at the same moment, whatever an earlier test did to the clock."""
    live_bot.services.clock.set(START_OF_TESTS)


def logged_question(live_bot: LiveBot, question: str) -> QuestionLog:
    """The newest log row of a question the bot was asked."""
    with live_bot.services.database.session() as session:
        row = session.scalars(
            select(QuestionLog).where(QuestionLog.question == question).order_by(QuestionLog.id.desc())
        ).first()
        assert row is not None
        session.expunge(row)
        return row
