"""Two delivery processes on one PostgreSQL database send each outbox message exactly once."""

import re
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.benchmarks.harness import start_sandbox
from bot.config import PROJECT_ROOT
from bot.deadlines import service
from bot.sandbox.client import SandboxClient
from bot.services import build_services
from bot.workflow.models import Card, OutboxMessage
from tests.conftest import bot_process_env, make_settings, postgres_url

REMINDERS = 40
FINANCE_HEAD = 10008


def test_two_processes_deliver_each_reminder_once(tmp_path: Path) -> None:
    url = postgres_url()
    settings = make_settings(tmp_path, database_url=url)
    found = build_services(settings, with_engine=False)
    found.clock.set(datetime(2027, 3, 1, 17, 0))

    def create(session: Session) -> None:
        for n in range(REMINDERS):
            service.create_deadline(
                session,
                "meeting_documents",
                date(2027, 3, 1),
                found.context(session),
                title=f"并发测试事项{n:02d}号",
                department="区财政局",
            )

    found.run(create)
    server = start_sandbox(found)
    env = bot_process_env(server.bot_api_base_url, url, tmp_path / "data")
    command = [sys.executable, "-m", "bot.cli", "deliver", "--at", "2027-03-05T10:00", "--batch", "3"]
    try:
        processes = [
            subprocess.Popen(command, env=env, cwd=PROJECT_ROOT, stdout=subprocess.PIPE, text=True) for _ in range(2)
        ]
        outputs = [p.communicate(timeout=120)[0] for p in processes]
        assert [p.returncode for p in processes] == [0, 0]
        counts = [int(re.search(r"messages sent: (\d+)", out).group(1)) for out in outputs]
        assert sum(counts) == 2 * REMINDERS, "each item's announcement and its day-before reminder"
        messages = SandboxClient(server.url).bot_messages(FINANCE_HEAD)
        for n in range(REMINDERS):
            about = [m for m in messages if f"并发测试事项{n:02d}号" in m["text"]]
            assert len([m for m in about if m["text"].startswith("⏰")]) == 1
            assert len([m for m in about if "新的期限事项" in m["text"]]) == 1
        with found.database.session() as session:
            due = session.scalars(
                select(OutboxMessage.status).join(Card).where(OutboxMessage.template == "before")
            ).all()
        assert due == ["sent"] * REMINDERS
    finally:
        server.stop_thread()
        found.database.dispose()
