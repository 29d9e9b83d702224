"""The delivery loop's bookkeeping, without Telegram: what a dead worker left behind, the doorbell."""

import asyncio
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from bot.app import wiring
from bot.delivery import HOST, Delivery
from bot.services import build_services
from bot.workflow.models import OutboxKind, OutboxMessage, OutboxStatus
from bot.workflow.outbox import Doorbell
from tests.conftest import make_settings


def _dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def test_rows_left_by_a_dead_worker_of_this_host_are_settled_at_once(database_url: str, tmp_path: Path) -> None:
    found = build_services(make_settings(tmp_path, database_url=database_url), with_engine=False)
    dead, elsewhere = f"{HOST}:{_dead_pid()}:gone", "another-host:1:alive"
    claimed_at = datetime.now(UTC)

    def left_behind(session) -> list[int]:  # noqa: ANN001
        rows = [
            OutboxMessage(
                kind=OutboxKind.NOTICE,
                recipient="chat:1",
                template="t",
                send_at=claimed_at,
                status=status,
                claimed_by=worker,
                claimed_at=claimed_at,
            )
            for status, worker in (
                (OutboxStatus.CLAIMED, dead),
                (OutboxStatus.SENDING, dead),
                (OutboxStatus.CLAIMED, elsewhere),
            )
        ]
        session.add_all(rows)
        session.flush()
        return [r.id for r in rows]

    ids = found.run(left_behind)
    found.run(Delivery(found, channel=None, renderers=wiring().renderers)._recover)  # type: ignore[arg-type]
    with found.database.session() as session:
        statuses = [session.get(OutboxMessage, i).status for i in ids]
    assert statuses == [
        OutboxStatus.PENDING,  # never handed to the Bot API: sent again now, not after a lease
        OutboxStatus.UNCONFIRMED,  # may be in the chat already: not doubled
        OutboxStatus.CLAIMED,  # another host's worker may be alive: its lease decides
    ]
    found.database.dispose()


def test_a_ring_while_the_loop_is_busy_is_not_lost() -> None:
    async def scenario() -> None:
        doorbell = Doorbell()
        doorbell.ring()  # a commit lands while the loop is still sending
        await asyncio.wait_for(doorbell.wait(3600), timeout=5)

    asyncio.run(scenario())
