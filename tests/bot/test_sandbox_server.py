"""The sandbox Bot API server itself: its people's side answers only its own page and local
clients, webhooks are registered as the Bot API registers them, and its chat journal keeps
messages no longer than the question log."""

import json
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot.sandbox.client import SandboxClient
from bot.sandbox.launch import SANDBOX_TOKEN
from bot.sandbox.server import SandboxServer, SandboxUser

STAFF = 10010


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    server = SandboxServer(SANDBOX_TOKEN, [SandboxUser(STAFF, "郑好（工作人员）")], {})
    server.start_in_thread()
    yield server
    server.stop_thread()


def _messages(server: SandboxServer) -> list[dict]:
    return server.state.messages.get(STAFF, [])


def test_another_web_page_cannot_write_as_someone_or_read_the_chats(server: SandboxServer) -> None:
    api = f"{server.url}/sandbox/api"
    message = {"from_id": STAFF, "chat_id": STAFF, "text": "/console"}
    # A form or text/plain POST needs no CORS preflight: any page could send it.
    simple = httpx.post(f"{api}/messages", content=str(message), headers={"Content-Type": "text/plain"})
    assert simple.status_code == 403
    foreign = httpx.post(f"{api}/messages", json=message, headers={"Origin": "http://evil.example"})
    assert foreign.status_code == 403
    # DNS rebinding: the browser thinks it talks to evil.example, whose name now points here.
    rebound = {"Host": f"evil.example:{server.port}"}
    assert httpx.get(f"{api}/chats/{STAFF}/messages", headers=rebound).status_code == 403
    assert httpx.get(f"{api}/state", headers=rebound).status_code == 403
    assert _messages(server) == [], "nothing was written"

    own_page = httpx.post(f"{api}/messages", json=message, headers={"Origin": f"http://127.0.0.1:{server.port}"})
    assert own_page.status_code == 200
    assert httpx.get(f"{api}/state", headers={"Host": f"localhost:{server.port}"}).status_code == 200
    assert len(_messages(server)) == 1


def test_a_webhook_is_registered_with_its_secret_and_stops_get_updates(server: SandboxServer) -> None:
    bot_api = f"{server.bot_api_base_url}{SANDBOX_TOKEN}"
    bad = httpx.post(f"{bot_api}/setWebhook", data={"url": "https://bot.example/hook", "secret_token": "a b"})
    assert bad.status_code == 400 and "secret token" in bad.json()["description"]
    set_hook = httpx.post(f"{bot_api}/setWebhook", data={"url": "https://bot.example/hook", "secret_token": "s-1"})
    assert set_hook.json() == {"ok": True, "result": True}
    assert server.state.webhook is not None and server.state.webhook.secret_token == "s-1"
    assert httpx.post(f"{bot_api}/getWebhookInfo").json()["result"]["url"] == "https://bot.example/hook"
    assert httpx.post(f"{bot_api}/getUpdates").status_code == 409
    assert httpx.post(f"{bot_api}/deleteWebhook").json()["result"] is True
    assert httpx.post(f"{bot_api}/getUpdates").json() == {"ok": True, "result": []}


def test_the_chat_journal_keeps_messages_only_as_long_as_the_question_log(tmp_path: Path) -> None:
    journal = tmp_path / "sandbox-chats.json"
    chat = {"id": STAFF, "type": "private", "first_name": "郑好"}
    sender = {"id": STAFF, "is_bot": False, "first_name": "郑好"}
    old = {"message_id": 1, "from": sender, "chat": chat, "date": int(time.time()) - 181 * 86400, "text": "旧问题"}
    recent = {"message_id": 2, "from": sender, "chat": chat, "date": int(time.time()) - 86400, "text": "新问题"}
    journal.write_text(json.dumps({"last_id": 2, "messages": {str(STAFF): [old, recent]}, "files": {}}))
    server = SandboxServer(SANDBOX_TOKEN, [SandboxUser(STAFF, "郑好")], {}, journal=journal, keep_days=180)
    server.start_in_thread()
    try:
        assert [m["text"] for m in server.state.messages[STAFF]] == ["新问题"]
        SandboxClient(server.url).send(STAFF, "再问一次")
    finally:
        server.stop_thread()
    saved = journal.read_text(encoding="utf-8")
    assert "旧问题" not in saved and "新问题" in saved and "再问一次" in saved
    assert stat.S_IMODE(journal.stat().st_mode) == 0o600
