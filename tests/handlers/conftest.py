"""A running bot for end-to-end tests: sandbox Bot API server + PTB polling it over HTTP."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest

from bot.sandbox.client import SandboxClient
from bot.sandbox.harness import RunningBot, start_sandbox
from bot.services import Services, build_services
from tests.conftest import make_settings

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

    def restart(self) -> None:
        """Stop the bot and start a fresh process-like instance on the same database and server."""
        frozen = self.services.clock.now()
        self.running.stop()
        self.services = build_services(self.services.settings, engine=self.services.engine)
        self.services.clock.set(frozen)
        self.running = RunningBot(self.services, self.running.server).start()


@pytest.fixture(scope="session")
def live_bot(tmp_path_factory: pytest.TempPathFactory, two_rulebooks: Path) -> Iterator[LiveBot]:
    tmp = tmp_path_factory.mktemp("bot")
    settings = make_settings(tmp, retrieval_knowledge_dir=str(two_rulebooks), reminders_scan_seconds="0.2")
    services = build_services(settings)
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
