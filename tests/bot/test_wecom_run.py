"""`zhengwu run` with ZHENGWU_CHANNEL=wecom and no credentials: a real process that starts the
WeCom stand-in and its callback server, prints the chat page's address, and answers a member who
types there."""

import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from bot.config import PROJECT_ROOT
from retrieval.engine import RulesEngine
from tests.bot.processes import wait_until

PAGE = re.compile(r"(http://127\.0\.0\.1:\d+)/standin/")


def test_run_on_wecom_without_credentials_answers_through_the_stand_in(
    tmp_path: Path, chroma_dir: Path, engine: RulesEngine
) -> None:
    # A copy of the session's index of the shipped rulebook: the process starts without re-embedding.
    shutil.copytree(chroma_dir, tmp_path / "chroma")
    env = {k: v for k, v in os.environ.items() if k not in {"TELEGRAM_BOT_TOKEN", "WECOM_SECRET"}}
    env |= {
        "ZHENGWU_CHANNEL": "wecom",
        "ZHENGWU_BOT_DATA_DIR": str(tmp_path / "data"),
        "ZHENGWU_RETRIEVAL_CHROMA_DIR": str(tmp_path / "chroma"),
        "ZHENGWU_SANDBOX_PORT": "0",
        "ZHENGWU_WECOM_CALLBACK_PORT": "0",
    }
    log = tmp_path / "bot.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "run"], env=env, cwd=PROJECT_ROOT, stdout=out, stderr=out
        )
    try:
        base = wait_until(lambda: (m := PAGE.search(log.read_text(errors="replace"))) and m[1], "the stand-in's page")
        with httpx.Client(base_url=base, timeout=30) as http:
            assert http.get("/standin/").status_code == 200
            typed = http.post("/standin/api/type", json={"user": "zhangwei", "text": "副区长离包外出要向谁请示？"})
            assert typed.json() == {"statuses": [200]}, "the bot acknowledged the encrypted callback"

            def answered() -> list[dict]:
                return http.get("/standin/api/state", params={"user": "zhangwei"}).json()["messages"]

            messages = wait_until(answered, "the answer in the stand-in")
        assert "第七十九条（第十二章 工作纪律）" in messages[0]["text"]
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
    assert "Traceback" not in log.read_text(errors="replace")
