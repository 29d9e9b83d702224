"""The bot process is killed (SIGKILL) after a decision commits and before its messages go out;
after a restart every message arrives exactly once and the old card shows the final state.

A real `zhengwu run` process polls the sandbox over HTTP. While the kill is prepared the sandbox
fails every send (502), so the decision is committed but nothing has reached anyone.
"""

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import or_, select

from bot.db import utc
from bot.leave.models import LeaveRequest
from bot.sandbox.client import SandboxClient, buttons
from bot.sandbox.server import SandboxServer
from bot.services import Services
from bot.workflow.models import OutboxMessage, OutboxStatus
from retrieval.engine import RulesEngine
from tests.bot.processes import WAIT_S, BotProcess, bot_beside_sandbox, wait_until
from tests.handlers.test_concurrency import _file_leave

HEAD, DEPUTY, DEPUTY_B, OFFICE_GROUP = 10001, 10003, 10004, -1001000000001


@pytest.fixture
def world(
    database_url: str, tmp_path: Path, chroma_dir: Path, engine: RulesEngine
) -> Iterator[tuple[Services, SandboxServer, BotProcess]]:
    with bot_beside_sandbox(database_url, tmp_path, chroma_dir) as world:
        yield world


def _outbox(found: Services) -> list[OutboxMessage]:
    """What is owed now: notices, cards and redraws that are due (the delivery loop's `send_at <= now`)
    or were tried already (a failed send is put back a pause later). The 销假 reminders and the cards'
    redraw on the leave's first day wait for December 2027."""
    with found.database.session() as session:
        owed = or_(OutboxMessage.send_at <= utc(found.clock.now()), OutboxMessage.attempts > 0)
        query = select(OutboxMessage).where(OutboxMessage.working_hours_only.is_(False), owed)
        return list(session.scalars(query.order_by(OutboxMessage.id)))


def test_killed_after_the_decision_commits_everyone_is_told_once_after_restart(world) -> None:
    found, server, bot = world
    client = SandboxClient(server.url, timeout_s=WAIT_S)
    request_id = _file_leave(found, DEPUTY, "离包外出", "2027-12-22", "2027-12-23", DEPUTY_B)
    bot.start()
    card = client.wait_message(HEAD, 0, f"请假审批 #{request_id}")
    for method in ("sendMessage", "editMessageText"):
        client.inject_fault(method, 502, count=100_000)
    sent_before = len(_outbox(found))
    answer = client.wait_callback_answer(client.press(HEAD, card, buttons(card)["批准"]))
    assert answer["text"] == "已批准"

    def decided_and_tried() -> bool:
        caused = _outbox(found)[sent_before:]
        return bool(caused) and all(r.status == OutboxStatus.PENDING and r.attempts >= 1 for r in caused)

    wait_until(decided_and_tried, "the decision committed and its sends failed once")
    with found.database.session() as session:
        assert session.get(LeaveRequest, request_id).status == "approved"
    bot.kill()
    before = {chat: len(client.bot_messages(chat)) for chat in (DEPUTY, DEPUTY_B, OFFICE_GROUP)}
    assert before[DEPUTY_B] == 0 and before[OFFICE_GROUP] == 0, "nothing went out before the kill"

    client.clear_faults()
    bot.start()
    wait_until(lambda: all(r.status == OutboxStatus.SENT for r in _outbox(found)), "every message sent after restart")

    def told(chat: int, *contains: str) -> int:
        return len([m for m in client.bot_messages(chat) if all(c in m.get("text", "") for c in contains)])

    assert told(DEPUTY, f"#{request_id}", "结果：已批准") == 1
    assert told(DEPUTY_B, "期间由您代行职责") == 1
    assert told(OFFICE_GROUP, "离包外出") == 1
    final = client.message(HEAD, card["message_id"])
    assert "结果：已批准" in final["text"] and "reply_markup" not in final
