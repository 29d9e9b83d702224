"""A real bot process (`python -m bot.cli run`) beside a sandbox Bot API server, for the tests that
need one: killing it, its exit code, its webhook."""

import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

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


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def chroma_server(path: Path, log: Path) -> Iterator[str]:
    """`chroma run` (the server the chromadb package ships) on a free port over the folder `path`;
    its URL, once it answers."""
    port = free_port()
    with log.open("ab") as out:
        process = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "chroma"),
                "run",
                "--path",
                str(path),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            stdout=out,
            stderr=out,
        )
    url = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        try:
            return httpx.get(f"{url}/api/v2/heartbeat", timeout=1.0).is_success
        except httpx.TransportError:
            return False

    try:
        wait_until(answers, "the Chroma server to answer")
        yield url
    finally:
        process.kill()
        process.wait(10)


@contextmanager
def bots_beside_sandboxes(
    database_url: str, tmp_path: Path, count: int, **overrides: str
) -> Iterator[tuple[Services, list[tuple[SandboxServer, BotProcess]]]]:
    """The test's services, and `count` bot processes (not started yet) on one database, each
    talking to a sandbox server of its own with the token, under any ZHENGWU_* `overrides`."""
    settings = make_settings(tmp_path, database_url=database_url)
    found = build_services(settings, with_engine=False)
    pairs: list[tuple[SandboxServer, BotProcess]] = []
    try:
        for number in range(count):
            server = start_sandbox(found)
            env = bot_process_env(
                server.bot_api_base_url, database_url, tmp_path / "data", console_port="0", **overrides
            )
            pairs.append((server, BotProcess(env, tmp_path / ("bot.log" if number == 0 else f"bot{number}.log"))))
        yield found, pairs
    finally:
        for server, bot in pairs:
            bot.stop()
            server.stop_thread()
        found.database.dispose()


@contextmanager
def bot_beside_sandbox(
    database_url: str, tmp_path: Path, chroma_dir: Path, **overrides: str
) -> Iterator[tuple[Services, SandboxServer, BotProcess]]:
    """The test's services, a sandbox server, and a bot process (not started yet) that talks to it
    with the token, under any ZHENGWU_* `overrides`."""
    # A copy of the session's index of the shipped rulebook (the `engine` fixture built it): the bot
    # process starts without re-embedding, and never shares a Chroma folder with this process.
    shutil.copytree(chroma_dir, tmp_path / "chroma")
    with bots_beside_sandboxes(
        database_url, tmp_path, 1, retrieval_chroma_dir=str(tmp_path / "chroma"), **overrides
    ) as (found, [(server, bot)]):
        yield found, server, bot
