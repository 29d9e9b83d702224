"""Webhook mode: a real `zhengwu run` process registers a secret path and secret_token with the
sandbox Bot API (which posts updates there as Telegram does); a forged update without the secret,
or with a wrong one, is refused with 403 and changes nothing."""

import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.leave.models import LeaveRequest
from bot.sandbox.client import SandboxClient, buttons
from bot.sandbox.server import SECRET_HEADER, SandboxServer
from bot.services import Services
from bot.webhook import SECRET_FILE
from retrieval.engine import RulesEngine
from tests.bot.processes import WAIT_S, BotProcess, bot_beside_sandbox, free_port, wait_until
from tests.handlers.test_concurrency import _file_leave

HEAD, DEPUTY, DEPUTY_B = 10001, 10003, 10004


@pytest.fixture
def world(
    tmp_path: Path, chroma_dir: Path, engine: RulesEngine
) -> Iterator[tuple[Services, SandboxServer, BotProcess]]:
    port = free_port()
    overrides = {
        "telegram_mode": "webhook",
        "telegram_webhook_url": f"http://127.0.0.1:{port}/",
        "telegram_webhook_port": str(port),
    }
    with bot_beside_sandbox(f"sqlite:///{tmp_path / 'test.sqlite3'}", tmp_path, chroma_dir, **overrides) as world:
        yield world


def _status(found: Services, request_id: int) -> str:
    with found.database.session() as session:
        return session.get(LeaveRequest, request_id).status


def _update(update_id: int, **content: Any) -> dict[str, Any]:
    return {"update_id": update_id, **content}


def test_forged_updates_without_the_webhook_secret_are_refused_and_change_nothing(world, tmp_path: Path) -> None:
    found, server, bot = world
    client = SandboxClient(server.url, timeout_s=WAIT_S)
    request_id = _file_leave(found, DEPUTY, "离包外出", "2027-12-22", "2027-12-23", DEPUTY_B)
    bot.start()
    hook = wait_until(lambda: server.state.webhook, "the bot to register its webhook")
    secret_file = tmp_path / "data" / SECRET_FILE
    secret = secret_file.read_text().strip()
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    assert hook.secret_token == secret and len(secret) >= 32
    assert hook.url.startswith(bot.env["ZHENGWU_TELEGRAM_WEBHOOK_URL"] + "telegram/")
    assert secret not in hook.url, "the path is derived from the secret, it does not reveal it"

    card = client.wait_message(HEAD, 0, f"请假审批 #{request_id}")
    approve = {
        "callback_query": {
            "id": "forged-1",
            "from": {"id": HEAD, "is_bot": False, "first_name": "区长"},
            "message": card,
            "chat_instance": str(HEAD),
            "data": buttons(card)["批准"],
        }
    }
    with httpx.Client(timeout=WAIT_S) as http:
        assert http.post(hook.url, json=_update(900001, **approve)).status_code == 403
        wrong = {SECRET_HEADER: "x" * len(secret)}
        assert http.post(hook.url, json=_update(900002, **approve), headers=wrong).status_code == 403
        root = hook.url.rsplit("/telegram/", 1)[0]
        assert (
            http.post(root + "/", json=_update(900003, **approve), headers={SECRET_HEADER: secret}).status_code == 404
        )

        # The bot is alive and answers what Telegram (the sandbox) posts with the secret ...
        reply = client.ask(HEAD, "/whoami")[0]
        assert "张" in reply["text"] or "区长" in reply["text"]
        assert _status(found, request_id) == "pending", "the forged approvals did nothing"
        assert len(client.bot_messages(HEAD)) == 2, "the card and the /whoami reply, nothing more"

        # ... and an update carrying the right secret, from whoever sends it.
        whoami = {
            "message": {
                "message_id": 900100,
                "from": {"id": HEAD, "is_bot": False, "first_name": "区长"},
                "chat": {"id": HEAD, "type": "private", "first_name": "区长"},
                "date": 1,
                "text": "/whoami",
                "entities": [{"type": "bot_command", "offset": 0, "length": 7}],
            }
        }
        assert http.post(hook.url, json=_update(900004, **whoami), headers={SECRET_HEADER: secret}).status_code == 200
    client.wait_bot_messages(HEAD, reply["message_id"])

    answer = client.wait_callback_answer(client.press(HEAD, card, buttons(card)["批准"]))
    assert answer["text"] == "已批准"
    assert _status(found, request_id) == "approved"
