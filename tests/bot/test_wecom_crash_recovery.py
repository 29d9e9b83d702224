"""WeCom: the bot process is killed (SIGKILL) after a card decision commits and before its messages go
out; after a restart every message arrives exactly once and the pressed card shows the decision.

As for Telegram (test_crash_recovery.py, whose tooling this reuses): a real `zhengwu run` process,
here with ZHENGWU_CHANNEL=wecom and credentials for the stand-in, which runs in the test and pushes
the 区长's press to the process as an encrypted callback. While the kill is prepared the stand-in
answers every send "系统繁忙", so the decision is committed but nothing has reached anyone.
"""

import asyncio
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from bot.leave.models import LeaveRequest
from bot.services import build_services
from bot.wecom.run import standin_members
from bot.wecom.standin import Sent, WeComStandIn
from bot.workflow.models import OutboxStatus, Subject, WorkflowEvent
from retrieval.engine import RulesEngine
from tests.bot.processes import WAIT_S, BotProcess, free_port
from tests.bot.test_crash_recovery import _outbox
from tests.conftest import bot_process_env, make_settings
from tests.handlers.test_concurrency import _file_leave

HEAD, DEPUTY, DEPUTY_B = "wangjianguo", "zhangwei", "liuyang"
DEPUTY_TG, DEPUTY_B_TG = 10003, 10004  # the same people's Telegram ids, which the filing helper names


async def _until(probe: Callable[[], Any], what: str) -> Any:
    """Wait on the test's event loop (the stand-in serves on it) until `probe` gives something."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_S
    while loop.time() < deadline:
        if result := probe():
            return result
        await asyncio.sleep(0.05)
    raise TimeoutError(f"timed out waiting for {what}")


async def test_killed_after_a_card_decision_commits_everyone_is_told_once_after_restart(
    database_url: str, tmp_path: Path, chroma_dir: Path, engine: RulesEngine
) -> None:
    shutil.copytree(chroma_dir, tmp_path / "chroma")  # the process starts without re-embedding
    found = build_services(make_settings(tmp_path, database_url=database_url, channel="wecom"), with_engine=False)
    standin = WeComStandIn(members=standin_members(found))
    await standin.start()
    port = free_port()
    standin.callback_url = f"http://127.0.0.1:{port}/wecom/callback"
    env = bot_process_env(
        "http://127.0.0.1:9",  # Telegram is not used
        database_url,
        tmp_path / "data",
        channel="wecom",
        console_port="0",
        retrieval_chroma_dir=str(tmp_path / "chroma"),
        wecom_api_base_url=standin.url,
        wecom_corp_id=standin.corp_id,
        wecom_agent_id=str(standin.agent_id),
        wecom_token=standin.token,
        wecom_callback_port=str(port),
    )
    env |= {"WECOM_SECRET": standin.secret, "WECOM_ENCODING_AES_KEY": standin.encoding_aes_key}
    bot = BotProcess(env, tmp_path / "bot.log")

    def told(userid: str, *contains: str) -> list[Sent]:
        return [s for s in standin.messages_for(userid) if all(c in s.text for c in contains)]

    try:
        request_id = await asyncio.to_thread(
            _file_leave, found, DEPUTY_TG, "离包外出", "2027-12-22", "2027-12-23", DEPUTY_B_TG
        )
        bot.start()
        [card] = await _until(lambda: told(HEAD, f"请假审批 #{request_id}"), "the approval card")
        standin.busy = True
        sent_before = len(_outbox(found))
        task_id = card.body["template_card"]["task_id"]
        assert (await standin.user_clicks(HEAD, task_id, card.buttons["批准"])).acknowledged

        def decided_and_tried() -> bool:
            caused = _outbox(found)[sent_before:]
            return bool(caused) and all(r.status == OutboxStatus.PENDING and r.attempts >= 1 for r in caused)

        await _until(decided_and_tried, "the decision committed and its sends failed once")
        bot.kill()
        office = standin.chats[found.settings.wecom.groups["office"]]["messages"]
        assert not told(DEPUTY_B) and not office and not card.updates, "nothing went out before the kill"

        standin.busy = False
        bot.start()
        await _until(lambda: all(r.status == OutboxStatus.SENT for r in _outbox(found)), "everything sent")

        assert len(told(DEPUTY, f"我的请假单 #{request_id}")) == 1
        assert "结果：已批准" in told(DEPUTY, f"我的请假单 #{request_id}")[0].text
        assert len(told(DEPUTY_B, "期间由您代行职责")) == 1
        assert len([s for s in office if "离包外出" in s.text]) == 1
        assert len(card.updates) == 1 and "结果：已批准" in card.text, "the pressed card, updated once"
        with found.database.session() as session:
            assert session.get(LeaveRequest, request_id).status == "approved"
            approvals = select(func.count()).where(
                WorkflowEvent.subject == Subject.LEAVE,
                WorkflowEvent.subject_id == request_id,
                WorkflowEvent.action == "approve",
            )
            assert session.scalar(approvals) == 1
    finally:
        bot.stop()
        await standin.stop()
        found.database.dispose()
