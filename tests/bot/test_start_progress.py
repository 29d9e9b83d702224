"""What a first start tells whoever runs it: each stage's count with an estimate of the time left,
on the page at every count and in the terminal every few seconds and at each stage's end."""

import os
import socket
import subprocess
import sys
from pathlib import Path

import httpx

from bot.config import PROJECT_ROOT
from bot.start_progress import Preparing, StartProgress, duration
from retrieval.progress import EXAMPLES, PASSAGES
from tests.bot.processes import wait_until


def test_counts_become_an_estimate_on_the_page_and_a_few_lines_in_the_terminal() -> None:
    now = [0.0]
    shown: list[Preparing] = []
    printed: list[str] = []
    progress = StartProgress(shown.append, printed.append, clock=lambda: now[0])
    progress(PASSAGES, 0, 365)
    for done in range(32, 365, 32):
        now[0] += 2.0  # a batch of 32 every 2 s: 365 in about 23 s
        progress(PASSAGES, done, 365)
    now[0] += 1.0
    progress(PASSAGES, 365, 365)
    assert shown[0] == Preparing("正在建立规则索引（0/365）", 0, 365)
    assert shown[1].text == "正在建立规则索引（32/365），预计还需约20秒"
    assert len(shown) == 13, "the page hears every count"
    assert printed[0] == "正在建立规则索引（0/365）"
    assert printed[-1] == "正在建立规则索引（365/365），用时23秒"
    assert len(printed) < len(shown), "the terminal gets a line every few seconds, not every count"
    now[0] += 1.0
    progress(EXAMPLES, 1, 600)
    assert printed[-1] == "正在学习示例问题（1/600）", "a new stage starts its own clock and line"


def test_the_time_left_is_rounded_as_a_person_says_it() -> None:
    assert duration(3) == "约5秒"
    assert duration(42) == "约40秒"
    assert duration(100) == "约2分钟"
    assert duration(200) == "约3分钟"


def test_a_first_start_serves_the_chat_page_at_once_with_the_index_progress(tmp_path: Path) -> None:
    """`zhengwu run` without a token and without an index: the page answers while the rulebooks
    are still being embedded, and says how far that is; the terminal says it too."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {key: value for key, value in os.environ.items() if key != "TELEGRAM_BOT_TOKEN"}
    env |= {"ZHENGWU_BOT_DATA_DIR": str(tmp_path / "data"), "ZHENGWU_SANDBOX_PORT": str(port)}
    env |= {"ZHENGWU_CONSOLE_PORT": "0"}
    log = tmp_path / "run.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "run"], env=env, cwd=PROJECT_ROOT, stdout=out, stderr=out
        )
    try:

        def preparing() -> str | None:
            try:
                state = httpx.get(f"http://127.0.0.1:{port}/sandbox/api/state", timeout=2).json()
            except httpx.HTTPError:
                return None
            return (state["preparing"] or {}).get("text")

        text = wait_until(preparing, "the chat page with the index progress")
        assert text.startswith("正在建立规则索引（") and "/365）" in text, text
        assert httpx.get(f"http://127.0.0.1:{port}/").status_code == 200
        wait_until(lambda: "正在建立规则索引（0/365）" in log.read_text(encoding="utf-8"), "the terminal line")
    finally:
        process.kill()
        process.wait(10)
