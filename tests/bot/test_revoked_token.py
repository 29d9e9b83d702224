"""A token revoked while the bot runs (the Bot API answers 401) ends the process with one line and
a non-zero exit code, so that a supervisor notices and restarts it, instead of a live process that
no longer polls."""

from pathlib import Path

from bot.sandbox.client import SandboxClient
from retrieval.engine import RulesEngine
from tests.bot.processes import WAIT_S, bot_beside_sandbox

HEAD = 10001


def test_a_token_revoked_while_polling_ends_the_process_with_one_line(
    tmp_path: Path, chroma_dir: Path, engine: RulesEngine
) -> None:
    with bot_beside_sandbox(f"sqlite:///{tmp_path / 'test.sqlite3'}", tmp_path, chroma_dir) as (_, server, bot):
        client = SandboxClient(server.url, timeout_s=WAIT_S)
        bot.start()
        assert client.ask(HEAD, "/whoami"), "the bot polls and answers"
        client.inject_fault("getUpdates", 401, count=1_000_000)
        assert bot.process is not None
        assert bot.process.wait(WAIT_S) != 0
        log = bot.log.read_text(encoding="utf-8")
        assert log.count("TELEGRAM_BOT_TOKEN was rejected") == 1, log
        assert "Traceback" not in log, log
