"""A real bot process (`python -m bot.cli run`) beside a sandbox Bot API server, for the tests that
need one: killing it, its exit code, its webhook."""

import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bot.benchmarks.harness import start_sandbox
from bot.config import PROJECT_ROOT
from bot.sandbox.server import SandboxServer
from bot.services import Services, build_services
from tests.conftest import bot_process_env, make_settings

WAIT_S = 60.0


def wait_until(probe: Callable[[], Any], what: str) -> Any:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        if result := probe():
            return result
        time.sleep(0.05)
    raise TimeoutError(f"timed out waiting for {what}")


class BotProcess:
    """`zhengwu run` against the sandbox, as a separate process that can be killed."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env, self.log = env, log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bot.cli", "run"], env=self.env, cwd=PROJECT_ROOT, stdout=out, stderr=out
            )

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        """After the test: nothing is owed any more, so no graceful stop (it waits out a long poll)."""
        if self.process is not None and self.process.poll() is None:
            self.kill()


@contextmanager
def bot_beside_sandbox(
    database_url: str, tmp_path: Path, chroma_dir: Path, **overrides: str
) -> Iterator[tuple[Services, SandboxServer, BotProcess]]:
    """The test's services, a sandbox server, and a bot process (not started yet) that talks to it
    with the token, under any ZHENGWU_* `overrides`."""
    # A copy of the session's index of the shipped rulebook (the `engine` fixture built it): the bot
    # process starts without re-embedding, and never shares a Chroma folder with this process.
    shutil.copytree(chroma_dir, tmp_path / "chroma")
    settings = make_settings(tmp_path, database_url=database_url)
    found = build_services(settings, with_engine=False)
    server = start_sandbox(found)
    env = bot_process_env(
        server.bot_api_base_url,
        database_url,
        tmp_path / "data",
        retrieval_chroma_dir=str(tmp_path / "chroma"),
        console_port="0",
        **overrides,
    )
    bot = BotProcess(env, tmp_path / "bot.log")
    try:
        yield found, server, bot
    finally:
        bot.stop()
        server.stop_thread()
        found.database.dispose()
