"""A small HTTP client for the sandbox's people side: write as a user, press buttons, read chats.

Tests and the chat benchmark use it; it talks HTTP to the server like the browser page does.
"""

import time
from collections.abc import Callable
from typing import Any

import httpx

Message = dict[str, Any]


class SandboxClient:
    def __init__(self, base_url: str, timeout_s: float = 15.0) -> None:
        self._http = httpx.Client(base_url=base_url, timeout=timeout_s)
        self.timeout_s = timeout_s

    def close(self) -> None:
        self._http.close()

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        reply = self._http.post(f"/sandbox/api/{path}", json=body).json()
        if not reply.get("ok"):
            raise AssertionError(f"sandbox refused {path} {body!r}: {reply.get('description')!r}")
        return reply

    def send(self, user_id: int, text: str, chat_id: int | None = None) -> Message:
        """Write `text` as `user_id` in a chat (their private chat by default); returns the stored message."""
        return self._post("messages", {"from_id": user_id, "chat_id": chat_id or user_id, "text": text})["message"]

    def send_media(self, user_id: int, media: str, chat_id: int | None = None) -> Message:
        """Send a photo, sticker, voice message, document or location (bot.sandbox.server.MEDIA)."""
        return self._post("messages", {"from_id": user_id, "chat_id": chat_id or user_id, "media": media})["message"]

    def press(self, user_id: int, message: Message, data: str, forged: bool = False) -> str:
        """Press a button of `message` (forged: data that is not on the message); returns the query id."""
        body = {
            "from_id": user_id,
            "chat_id": message["chat"]["id"],
            "message_id": message["message_id"],
            "data": data,
            "forged": forged,
        }
        return self._post("callbacks", body)["callback_query_id"]

    def callback_answer(self, query_id: str) -> dict[str, Any]:
        return self._http.get(f"/sandbox/api/callbacks/{query_id}").json()

    def wait_callback_answer(self, query_id: str) -> dict[str, Any]:
        return self.wait_for(
            lambda: (a := self.callback_answer(query_id)).get("answered") and a, f"answer to {query_id}"
        )

    def messages(self, chat_id: int, after: int = 0, wait_s: float = 0.0) -> list[Message]:
        """A chat's messages after id `after`; `wait_s` holds the request until the bot speaks."""
        params = {"after": after, "wait": wait_s}
        return self._http.get(f"/sandbox/api/chats/{chat_id}/messages", params=params).json()["messages"]

    def bot_messages(self, chat_id: int, after: int = 0, wait_s: float = 0.0) -> list[Message]:
        return [m for m in self.messages(chat_id, after, wait_s) if m["from"].get("is_bot")]

    def wait_bot_messages(self, chat_id: int, after: int, count: int = 1) -> list[Message]:
        """Wait until the bot has sent at least `count` messages in the chat after message `after`."""

        def arrived() -> list[Message] | None:
            found = self.bot_messages(chat_id, after, wait_s=5.0)
            return found if len(found) >= count else None

        return self.wait_for(arrived, f"{count} bot message(s) in {chat_id}")

    def wait_message(self, chat_id: int, after: int, *contains: str) -> Message:
        """Wait for a bot message in the chat after `after` that contains every one of `contains`
        (notices arrive from the outbox, in no fixed order with other messages)."""

        def arrived() -> Message | None:
            return next(
                (m for m in self.bot_messages(chat_id, after) if all(c in m.get("text", "") for c in contains)), None
            )

        return self.wait_for(arrived, f"a message in {chat_id} with {contains!r}")

    def message(self, chat_id: int, message_id: int) -> Message:
        return next(m for m in self.messages(chat_id) if m["message_id"] == message_id)

    def wait_edit(self, message: Message, contains: str) -> Message:
        """Wait until the bot's message shows `contains` (it edits messages in place)."""
        chat_id, message_id = message["chat"]["id"], message["message_id"]
        return self.wait_for(
            lambda: (m := self.message(chat_id, message_id)) and contains in m.get("text", "") and m,
            f"message {message_id} to show {contains!r}",
        )

    def ask(self, user_id: int, text: str, chat_id: int | None = None, count: int = 1) -> list[Message]:
        """Send and wait for the bot's reply (its first `count` messages)."""
        sent = self.send(user_id, text, chat_id)
        return self.wait_bot_messages(sent["chat"]["id"], sent["message_id"], count)

    def inject_fault(
        self, method: str, status: int, count: int = 1, retry_after: int | None = None, delay_s: float = 0.0
    ) -> None:
        """The next `count` calls of `method` fail with `status` (200: succeed, after `delay_s`)."""
        body = {"method": method, "status": status, "count": count, "retry_after": retry_after, "delay_s": delay_s}
        self._post("faults", body)

    def clear_faults(self) -> None:
        self._http.request("DELETE", "/sandbox/api/faults", json={})

    def set_blocked(self, user_id: int, blocked: bool) -> None:
        self._post(f"users/{user_id}/blocked", {"blocked": blocked})

    def state(self) -> dict[str, Any]:
        return self._http.get("/sandbox/api/state").json()

    def wait_for(self, probe: Callable[[], Any], what: str) -> Any:
        """Poll `probe` until it returns something truthy (or time out)."""
        deadline = time.monotonic() + self.timeout_s
        while time.monotonic() < deadline:
            result = probe()
            if result:
                return result
            time.sleep(0.02)
        raise TimeoutError(f"timed out waiting for {what}")


def buttons(message: Message) -> dict[str, str]:
    """A message's inline buttons as {label: callback data}."""
    rows = message.get("reply_markup", {}).get("inline_keyboard", [])
    return {b["text"]: b.get("callback_data", "") for row in rows for b in row}
