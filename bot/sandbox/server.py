"""A local Bot API server that python-telegram-bot 22 talks to unmodified, plus a chat page.

It keeps the "Telegram side" in memory: users, chats, messages, pending updates and callback
queries. The bot reaches it at /bot<token>/<method>; people (the browser page) and tests reach it
at /sandbox/api/...; faults such as 429 or 403 can be injected to test delivery. Updates are
fetched with getUpdates or, once setWebhook names a URL, posted there one at a time with the
registered secret_token in X-Telegram-Bot-Api-Secret-Token (retried until the bot answers 2xx),
as Telegram does; unlike Telegram, a plain-http URL is accepted (everything here is local).
"""

import asyncio
import base64
import html
import itertools
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from bot.datadir import write_private
from bot.sandbox.telegram_html import EntityParseError, parse_telegram_html, utf16_length
from bot.web import serve

STATIC = Path(__file__).parent / "static"
_CHANGES_CHATS = {"sendmessage", "senddocument", "editmessagetext", "editmessagereplymarkup", "deletemessage"}
MAX_TEXT = 4096
MAX_CALLBACK_DATA = 64
# What a person can send besides text (tests send these with `media`), as the Bot API shows them.
_FILE = {"file_id": "sandbox-file", "file_unique_id": "sandbox-file"}
MEDIA: dict[str, Any] = {
    "photo": [_FILE | {"width": 640, "height": 480}],
    "sticker": _FILE | {"type": "regular", "width": 512, "height": 512, "is_animated": False, "is_video": False},
    "voice": _FILE | {"duration": 3},
    "document": _FILE | {"file_name": "材料.pdf"},
    "location": {"latitude": 40.65, "longitude": 109.84},
}
WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
WEBHOOK_RETRY_S = 0.2


class BotApiError(Exception):
    """An error reply in Telegram's shape."""

    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code, self.description, self.retry_after = code, description, retry_after

    def response(self) -> web.Response:
        body: dict[str, Any] = {"ok": False, "error_code": self.code, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return web.json_response(body, status=self.code)


def _bad_request(description: str) -> BotApiError:
    return BotApiError(400, f"Bad Request: {description}")


@dataclass
class SandboxUser:
    id: int
    first_name: str
    username: str | None = None
    blocked_bot: bool = False
    # A roster person whose Telegram account is not bound yet (the chat page says how to bind it).
    unbound: bool = False

    def to_api(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "is_bot": False,
            "first_name": self.first_name,
            "language_code": "zh-hans",
        }
        if self.username:
            data["username"] = self.username
        return data


@dataclass
class Fault:
    """What the server does to the next `count` calls of `method`: answer with error `status`, or
    (status 200 and a `delay_s`) answer correctly but late, as a slow Bot API does."""

    method: str
    status: int
    count: int
    retry_after: int | None = None
    delay_s: float = 0.0


@dataclass
class Webhook:
    """What setWebhook registered; `last_error` as getWebhookInfo reports it."""

    url: str
    secret_token: str | None
    last_error: str | None = None


@dataclass
class SandboxState:
    token: str
    bot: dict[str, Any]
    users: dict[int, SandboxUser]
    groups: dict[int, str]
    messages: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    updates: list[dict[str, Any]] = field(default_factory=list)
    callbacks: dict[str, dict[str, Any]] = field(default_factory=dict)
    commands: list[dict[str, Any]] = field(default_factory=list)
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)
    calls: dict[str, int] = field(default_factory=dict)
    # Every call the server refused (method, description), injected faults included: tests check
    # that hostile input never makes the bot send something the Bot API rejects.
    refused: list[tuple[str, str]] = field(default_factory=list)
    webhook: Webhook | None = None
    # What the chat page shows while the bot is not answering yet (a first start building the
    # rules index): {"text", "done", "total"}; None once it answers.
    preparing: dict[str, Any] | None = None

    def chat(self, chat_id: int) -> dict[str, Any]:
        if chat_id in self.groups:
            return {"id": chat_id, "type": "supergroup", "title": self.groups[chat_id]}
        user = self.users.get(chat_id)
        if user is None:
            raise _bad_request("chat not found")
        return {"id": chat_id, "type": "private", "first_name": user.first_name}


class SandboxServer:
    """The server; start it with `start()` inside a loop or `start_in_thread()` beside one."""

    def __init__(
        self,
        token: str,
        users: list[SandboxUser],
        groups: dict[int, str],
        bot_username: str = "zhengwu_bot",
        bot_name: str = "政务助手",
        host: str = "127.0.0.1",
        port: int = 0,
        journal: Path | None = None,
        keep_days: int | None = None,
    ) -> None:
        """`journal`: a file that keeps the chats across restarts (the chat page of `zhengwu run`), so
        the conversation, its buttons and the cards the bot edits later are still there. It keeps
        messages `keep_days` days (the question log's retention: the chats hold the questions too)."""
        bot_id = int(token.split(":", 1)[0])
        bot = {
            "id": bot_id,
            "is_bot": True,
            "first_name": bot_name,
            "username": bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }
        self.state = SandboxState(token, bot, {u.id: u for u in users}, dict(groups))
        self.host, self.port = host, port
        self._journal, self._keep_days = journal, keep_days
        self._ids = itertools.count(self._recall() + 1)
        self._update_ids = itertools.count(1)
        self._new_update: asyncio.Event | None = None
        # Set when the server stops: a long poll in progress returns at once instead of holding
        # the shutdown for the rest of its timeout.
        self._closing = False
        self._new_message: asyncio.Condition | None = None
        self._webhook_due: asyncio.Event | None = None
        self._webhook_task: asyncio.Task | None = None
        self._runner: web.AppRunner | None = None
        self._thread_loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def _recall(self) -> int:
        """Load the journal, if any; the highest message id it holds."""
        if self._journal is None or not self._journal.exists():
            return 0
        saved = json.loads(self._journal.read_text(encoding="utf-8"))
        self.state.messages = _recent(saved["messages"], self._keep_days)
        self.state.files = {k: (name, base64.b64decode(data)) for k, (name, data) in saved["files"].items()}
        return int(saved["last_id"])

    def _remember(self) -> None:
        """Write the journal (atomically: a crash leaves the old one)."""
        if self._journal is None:
            return
        last_id = max((m["message_id"] for ms in self.state.messages.values() for m in ms), default=0)
        self.state.messages = _recent(self.state.messages, self._keep_days)
        files = {k: (name, base64.b64encode(data).decode()) for k, (name, data) in self.state.files.items()}
        saved = {"last_id": last_id, "messages": self.state.messages, "files": files}
        write_private(self._journal, json.dumps(saved, ensure_ascii=False).encode("utf-8"))

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def bot_api_base_url(self) -> str:
        return f"{self.url}/bot"

    def app(self) -> web.Application:
        app = web.Application(client_max_size=50 * 1024 * 1024, middlewares=[self._people_side_guard])
        app.router.add_route("*", "/bot{token}/{method}", self._bot_api)
        app.router.add_get("/", self._page)
        app.router.add_get("/sandbox/api/state", self._api_state)
        app.router.add_post("/sandbox/api/messages", self._api_send)
        app.router.add_post("/sandbox/api/callbacks", self._api_press)
        app.router.add_get("/sandbox/api/callbacks/{id}", self._api_callback)
        app.router.add_get("/sandbox/api/chats/{chat_id}/messages", self._api_messages)
        app.router.add_post("/sandbox/api/faults", self._api_fault)
        app.router.add_delete("/sandbox/api/faults", self._api_clear_faults)
        app.router.add_post("/sandbox/api/users/{id}/blocked", self._api_block)
        app.router.add_get("/sandbox/api/files/{file_id}", self._api_file)
        app.router.add_static("/static/", STATIC)
        return app

    async def start(self) -> None:
        self._new_update = asyncio.Event()
        self._new_message = asyncio.Condition()
        self._webhook_due = asyncio.Event()
        self._runner, self.port = await serve(self.app(), self.host, self.port)
        self._webhook_task = asyncio.get_running_loop().create_task(self._deliver_to_webhook())

    async def stop(self) -> None:
        if self._webhook_task:
            self._webhook_task.cancel()
        if self._new_update:
            self._closing = True
            self._new_update.set()
        if self._runner:
            await self._runner.cleanup()

    def start_in_thread(self) -> None:
        """Run the server on its own event loop in a daemon thread (the bot keeps the main loop)."""
        loop = asyncio.new_event_loop()
        self._thread_loop = loop
        ready = threading.Event()

        def serve() -> None:
            asyncio.set_event_loop(loop)
            loop.run_until_complete(self.start())
            ready.set()
            loop.run_forever()

        self._thread = threading.Thread(target=serve, name="sandbox-bot-api", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("sandbox Bot API server did not start")

    def stop_thread(self) -> None:
        if self._thread_loop and self._thread:
            asyncio.run_coroutine_threadsafe(self.stop(), self._thread_loop).result(10)
            self._thread_loop.call_soon_threadsafe(self._thread_loop.stop)
            self._thread.join(10)

    # ----- the Bot API ---------------------------------------------------------------------------

    async def _bot_api(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.state.token:
            return BotApiError(401, "Unauthorized").response()
        method = request.match_info["method"]
        handler = getattr(self, f"_m_{method.lower()}", None)
        if handler is None:
            return BotApiError(404, "Not Found: method not found").response()
        self.state.calls[method] = self.state.calls.get(method, 0) + 1
        try:
            fault = await self._maybe_fail(method)
            params = await _read_params(request)
            result = await handler(params)
            if method.lower() in _CHANGES_CHATS:
                self._remember()
            if fault is not None:
                # A slow success: the call took effect, only the reply is late (the bot may give up
                # waiting for it, as it would with Telegram).
                await asyncio.sleep(fault.delay_s)
        except BotApiError as exc:
            self.state.refused.append((method, exc.description))
            return exc.response()
        return web.json_response({"ok": True, "result": result})

    async def _maybe_fail(self, method: str) -> Fault | None:
        """Raise the next injected failure of `method`; a slow success (status 200) is returned."""
        for fault in self.state.faults:
            if fault.method == method and fault.count > 0:
                fault.count -= 1
                if fault.status == 200:
                    return fault
                if fault.delay_s:
                    await asyncio.sleep(fault.delay_s)
                if fault.status == 429:
                    raise BotApiError(429, f"Too Many Requests: retry after {fault.retry_after}", fault.retry_after)
                raise BotApiError(fault.status, "Injected failure")
        return None

    async def _m_getme(self, params: dict[str, Any]) -> dict[str, Any]:
        return self.state.bot

    async def _m_deletewebhook(self, params: dict[str, Any]) -> bool:
        self.state.webhook = None
        self._drop_pending(params)
        return True

    async def _m_setwebhook(self, params: dict[str, Any]) -> bool:
        url = str(params.get("url") or "")
        if not url:  # as in the Bot API, an empty URL removes the webhook
            return await self._m_deletewebhook(params)
        if not url.startswith(("https://", "http://")):
            raise _bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.get("secret_token")
        if secret is not None and not WEBHOOK_SECRET.fullmatch(str(secret)):
            raise _bad_request("secret token contains unallowed characters")
        self.state.webhook = Webhook(url, secret)
        self._drop_pending(params)
        assert self._webhook_due is not None
        self._webhook_due.set()
        return True

    async def _m_getwebhookinfo(self, params: dict[str, Any]) -> dict[str, Any]:
        hook = self.state.webhook
        info: dict[str, Any] = {
            "url": hook.url if hook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self.state.updates),
        }
        if hook and hook.last_error:
            info["last_error_message"] = hook.last_error
        return info

    def _drop_pending(self, params: dict[str, Any]) -> None:
        if _bool(params.get("drop_pending_updates")):
            self.state.updates.clear()

    async def _deliver_to_webhook(self) -> None:
        """Post pending updates to the registered webhook in order, each until the bot takes it."""
        assert self._webhook_due is not None
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http:
            while True:
                await self._webhook_due.wait()
                self._webhook_due.clear()
                while (hook := self.state.webhook) is not None and self.state.updates:
                    update = self.state.updates[0]
                    headers = {SECRET_HEADER: hook.secret_token} if hook.secret_token else {}
                    try:
                        async with http.post(hook.url, json=update, headers=headers) as reply:
                            hook.last_error = (
                                None
                                if reply.status < 300
                                else f"Wrong response from the webhook: {reply.status} {reply.reason}"
                            )
                    except (aiohttp.ClientError, TimeoutError) as exc:
                        hook.last_error = f"Connection failed: {exc.__class__.__name__}"
                    if hook.last_error is None:
                        if self.state.updates and self.state.updates[0] is update:
                            self.state.updates.pop(0)
                    else:
                        await asyncio.sleep(WEBHOOK_RETRY_S)

    async def _m_getupdates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        if self.state.webhook is not None:
            raise BotApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
            )
        offset = _int(params.get("offset", 0), "offset")
        limit = min(_int(params.get("limit", 100), "limit"), 100)
        timeout = min(_int(params.get("timeout", 0), "timeout"), 50)
        if offset:
            self.state.updates = [u for u in self.state.updates if u["update_id"] >= offset]
        deadline = time.monotonic() + timeout
        assert self._new_update is not None
        while not self.state.updates and time.monotonic() < deadline and not self._closing:
            self._new_update.clear()
            try:
                await asyncio.wait_for(self._new_update.wait(), deadline - time.monotonic())
            except TimeoutError:
                break
        return self.state.updates[:limit]

    async def _m_sendmessage(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._writable_chat(params)
        text, safe_html = _text(params)
        markup = _markup(params.get("reply_markup"))
        # Kept on the message as the Bot API returns it: tests check where previews are off.
        previews = _json(params.get("link_preview_options"), "link_preview_options")
        return self._store(
            chat, self.state.bot, text=text, html=safe_html, reply_markup=markup, link_preview_options=previews
        )

    async def _m_senddocument(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._writable_chat(params)
        upload = params.get("document")
        if not isinstance(upload, tuple):
            raise _bad_request("there is no document in the request")
        file_id = f"file-{next(self._ids)}"
        self.state.files[file_id] = upload
        caption = params.get("caption")
        document = {"file_id": file_id, "file_unique_id": file_id, "file_name": upload[0], "file_size": len(upload[1])}
        return self._store(
            chat,
            self.state.bot,
            document=document,
            caption=caption,
            html=None,
            text=None,
            reply_markup=_markup(params.get("reply_markup")),
        )

    async def _m_editmessagetext(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._message(params)
        text, safe_html = _text(params)
        markup = _markup(params.get("reply_markup"))
        if message.get("text") == text and message.get("reply_markup") == markup:
            raise _bad_request(
                "message is not modified: specified new message content and reply markup are exactly the same "
                "as a current content and reply markup of the message"
            )
        message.update(text=text, html=safe_html, edit_date=int(time.time()))
        _set_markup(message, markup)
        return _public(message)

    async def _m_editmessagereplymarkup(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._message(params)
        markup = _markup(params.get("reply_markup"))
        if message.get("reply_markup") == markup:
            raise _bad_request(
                "message is not modified: specified new message content and reply markup are exactly the same"
            )
        _set_markup(message, markup)
        message["edit_date"] = int(time.time())
        return _public(message)

    async def _m_deletemessage(self, params: dict[str, Any]) -> bool:
        message = self._message(params, missing="message to delete not found")
        message["deleted"] = True
        return True

    async def _m_answercallbackquery(self, params: dict[str, Any]) -> bool:
        query = self.state.callbacks.get(str(params.get("callback_query_id")))
        if query is None or query["answered"]:
            raise _bad_request("query is too old and response timeout expired or query ID is invalid")
        query.update(answered=True, text=params.get("text"), show_alert=_bool(params.get("show_alert")))
        return True

    async def _m_setmycommands(self, params: dict[str, Any]) -> bool:
        commands = _json(params.get("commands"), "commands")
        if not isinstance(commands, list) or not all({"command", "description"} <= set(c) for c in commands):
            raise _bad_request("can't parse BotCommand array")
        self.state.commands = commands
        return True

    async def _m_getmycommands(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        return self.state.commands

    async def _m_deletemycommands(self, params: dict[str, Any]) -> bool:
        self.state.commands = []
        return True

    async def _m_sendchataction(self, params: dict[str, Any]) -> bool:
        self._writable_chat(params)
        return True

    def _writable_chat(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self.state.chat(_int(params.get("chat_id"), "chat_id"))
        user = self.state.users.get(chat["id"])
        if user is not None and user.blocked_bot:
            raise BotApiError(403, "Forbidden: bot was blocked by the user")
        return chat

    def _message(self, params: dict[str, Any], missing: str = "message to edit not found") -> dict[str, Any]:
        chat_id = _int(params.get("chat_id"), "chat_id")
        message_id = _int(params.get("message_id"), "message_id")
        for message in self.state.messages.get(chat_id, []):
            if message["message_id"] == message_id and not message.get("deleted"):
                if message["from"]["id"] != self.state.bot["id"] and missing.endswith("edit not found"):
                    raise _bad_request("message can't be edited")
                return message
        raise _bad_request(missing)

    def _store(self, chat: dict[str, Any], sender: dict[str, Any], **fields: Any) -> dict[str, Any]:
        message = {"message_id": next(self._ids), "from": sender, "chat": chat, "date": int(time.time())}
        for key, value in fields.items():
            if key == "reply_markup":
                _set_markup(message, value)
            elif value is not None or key == "html":
                message[key] = value
        self.state.messages.setdefault(chat["id"], []).append(message)
        asyncio.get_running_loop().create_task(self._announce_message())
        return _public(message)

    async def _announce_message(self) -> None:
        assert self._new_message is not None
        async with self._new_message:
            self._new_message.notify_all()

    def _push_update(self, update: dict[str, Any]) -> int:
        update_id = next(self._update_ids)
        self.state.updates.append({"update_id": update_id, **update})
        assert self._new_update is not None and self._webhook_due is not None
        self._new_update.set()
        self._webhook_due.set()
        return update_id

    # ----- the people's side: the chat page and tests ----------------------------------------------

    @web.middleware
    async def _people_side_guard(self, request: web.Request, handler: Callable) -> web.StreamResponse:
        """/sandbox/api/* acts as any roster person and shows the bot's messages (login links among
        them), so only this server's own page and local clients may use it: another web page in the
        same browser may not post to it (a JSON body needs a CORS preflight, which is never granted;
        its Origin is not ours), nor read it through a rebound DNS name (its Host is not ours)."""
        if request.path.startswith("/sandbox/api/"):
            if refusal := self._refusal(request):
                return web.json_response(
                    {"ok": False, "error_code": 403, "description": f"Forbidden: {refusal}"}, status=403
                )
        return await handler(request)

    def _refusal(self, request: web.Request) -> str | None:
        hosts = {f"{name}:{self.port}" for name in ("127.0.0.1", "localhost", "[::1]", self.host)}
        if request.host not in hosts:
            return "unknown Host"
        origin = request.headers.get("Origin")
        if origin is not None and origin not in {f"http://{host}" for host in hosts}:
            return "foreign Origin"
        if request.method not in {"GET", "HEAD"} and request.content_type != "application/json":
            return "a JSON body is required"
        return None

    async def _page(self, request: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC / "index.html")

    async def _api_state(self, request: web.Request) -> web.Response:
        users = [u.to_api() | {"blocked_bot": u.blocked_bot, "unbound": u.unbound} for u in self.state.users.values()]
        groups = [self.state.chat(g) for g in self.state.groups]
        return web.json_response(
            {
                "bot": self.state.bot,
                "users": users,
                "groups": groups,
                "commands": self.state.commands,
                "preparing": self.state.preparing,
            }
        )

    async def _api_send(self, request: web.Request) -> web.Response:
        body = await request.json()
        try:
            user = self._user(body)
            chat = self.state.chat(int(body.get("chat_id", user.id)))
            if chat["type"] == "private" and chat["id"] != user.id:
                raise _bad_request("a user can only write in their own private chat with the bot")
            media = body.get("media")
            if media is not None and media not in MEDIA:
                raise _bad_request(f"no such kind of message: {media}")
            text = str(body.get("text", ""))
            if media is None and (not text.strip() or utf16_length(text) > MAX_TEXT):
                raise _bad_request("message text is empty or too long")
        except BotApiError as exc:
            return exc.response()
        if media is not None:
            stored = self._store(chat, user.to_api(), **{media: MEDIA[media]})
        else:
            stored = self._store(
                chat, user.to_api(), text=text, html=None, entities=_entities(text, self.state.bot["username"])
            )
        self._remember()
        update_id = self._push_update({"message": stored})
        return web.json_response({"ok": True, "message": stored, "update_id": update_id})

    async def _api_press(self, request: web.Request) -> web.Response:
        body = await request.json()
        try:
            user = self._user(body)
            chat_id = int(body["chat_id"])
            message = next(
                m for m in self.state.messages.get(chat_id, []) if m["message_id"] == int(body["message_id"])
            )
        except (KeyError, StopIteration, ValueError):
            return _bad_request("message not found").response()
        except BotApiError as exc:
            return exc.response()
        data = str(body["data"])
        if not body.get("forged"):
            buttons = [b for row in message.get("reply_markup", {}).get("inline_keyboard", []) for b in row]
            if not any(b.get("callback_data") == data for b in buttons):
                return _bad_request("the message has no button with this callback data").response()
        query_id = str(next(self._ids) * 7919)
        self.state.callbacks[query_id] = {"answered": False, "text": None, "show_alert": False}
        query = {
            "id": query_id,
            "from": user.to_api(),
            "message": _public(message),
            "chat_instance": str(chat_id),
            "data": data,
        }
        update_id = self._push_update({"callback_query": query})
        return web.json_response({"ok": True, "callback_query_id": query_id, "update_id": update_id})

    async def _api_callback(self, request: web.Request) -> web.Response:
        query = self.state.callbacks.get(request.match_info["id"])
        if query is None:
            return _bad_request("unknown callback query").response()
        return web.json_response({"ok": True, **query})

    async def _api_messages(self, request: web.Request) -> web.Response:
        """Messages after id `after`; with `wait` seconds, held open until the bot has said something."""
        chat_id = int(request.match_info["chat_id"])
        after = int(request.query.get("after", 0))
        wait = min(float(request.query.get("wait", 0)), 30.0)
        assert self._new_message is not None

        def bot_spoke() -> bool:
            return any(
                m["message_id"] > after and m["from"]["id"] == self.state.bot["id"]
                for m in self.state.messages.get(chat_id, [])
            )

        if wait:
            async with self._new_message:
                try:
                    await asyncio.wait_for(self._new_message.wait_for(bot_spoke), wait)
                except TimeoutError:
                    pass
        messages = [
            _public(m) | {"html": m.get("html"), "deleted": m.get("deleted", False)}
            for m in self.state.messages.get(chat_id, [])
            if m["message_id"] > after
        ]
        return web.json_response({"ok": True, "messages": messages})

    async def _api_fault(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.state.faults.append(
            Fault(
                body["method"],
                int(body["status"]),
                int(body.get("count", 1)),
                body.get("retry_after"),
                float(body.get("delay_s", 0)),
            )
        )
        return web.json_response({"ok": True})

    async def _api_clear_faults(self, request: web.Request) -> web.Response:
        self.state.faults.clear()
        return web.json_response({"ok": True})

    async def _api_block(self, request: web.Request) -> web.Response:
        body = await request.json()
        user = self.state.users.get(int(request.match_info["id"]))
        if user is None:
            return _bad_request("user not found").response()
        user.blocked_bot = bool(body.get("blocked", True))
        return web.json_response({"ok": True})

    async def _api_file(self, request: web.Request) -> web.Response:
        stored = self.state.files.get(request.match_info["file_id"])
        if stored is None:
            raise web.HTTPNotFound()
        name, content = stored
        return web.Response(body=content, headers={"Content-Disposition": f'attachment; filename="{name}"'})

    def _user(self, body: dict[str, Any]) -> SandboxUser:
        user = self.state.users.get(int(body.get("from_id", 0)))
        if user is None:
            raise _bad_request(f"unknown sandbox user {body.get('from_id')!r}")
        return user


async def _read_params(request: web.Request) -> dict[str, Any]:
    params: dict[str, Any] = dict(request.query)
    if request.content_type == "application/json":
        params.update(await request.json())
    elif request.content_type.startswith("multipart/"):
        async for part in await request.multipart():
            # A Bot API call's form data is flat: every part is a body part (never a nested multipart).
            assert isinstance(part, aiohttp.BodyPartReader)
            if part.name is None:
                continue  # no parameter without a name
            if part.filename:
                params[part.name] = (part.filename, await part.read())
            else:
                params[part.name] = await part.text()
    elif request.can_read_body:
        params.update(await request.post())
    return params


def _recent(messages: dict[Any, list[dict[str, Any]]], keep_days: int | None) -> dict[int, list[dict[str, Any]]]:
    """The chats by id without the messages older than `keep_days` days (None: all kept)."""
    cutoff = 0 if keep_days is None else time.time() - keep_days * 86400
    return {int(chat): [m for m in chat_messages if m["date"] >= cutoff] for chat, chat_messages in messages.items()}


def _int(value: Any, name: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise _bad_request(f"invalid {name} {value!r}") from None


def _bool(value: Any) -> bool:
    return value in (True, "true", "True", "1")


def _json(value: Any, name: str) -> Any:
    if value is None or not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        raise _bad_request(f"can't parse {name} JSON object") from None


def _text(params: dict[str, Any]) -> tuple[str, str]:
    text = params.get("text")
    if not text:
        raise _bad_request("message text is empty")
    if params.get("parse_mode") == "HTML":
        try:
            parsed = parse_telegram_html(text)
        except EntityParseError as exc:
            raise _bad_request(str(exc)) from None
        plain, safe = parsed.plain, parsed.safe_html
    else:
        plain, safe = text, html.escape(text, quote=False)
    if utf16_length(plain) > MAX_TEXT:
        raise _bad_request("message is too long")
    return plain, safe


def _markup(raw: Any) -> dict[str, Any] | None:
    markup = _json(raw, "reply_markup")
    if markup is None:
        return None
    keyboard = markup.get("inline_keyboard") if isinstance(markup, dict) else None
    if keyboard is None:
        return markup
    for row in keyboard:
        for button in row:
            if not button.get("text"):
                raise _bad_request("text buttons are unallowed in the inline keyboard")
            data = button.get("callback_data")
            if data is not None and not 1 <= len(data.encode()) <= MAX_CALLBACK_DATA:
                raise _bad_request("BUTTON_DATA_INVALID")
    return markup


def _set_markup(message: dict[str, Any], markup: dict[str, Any] | None) -> None:
    if markup and markup.get("inline_keyboard"):
        message["reply_markup"] = markup
    else:
        message.pop("reply_markup", None)


def _public(message: dict[str, Any]) -> dict[str, Any]:
    """The message as the Bot API returns it (without the page's rendering fields)."""
    return {k: v for k, v in message.items() if k not in {"html", "deleted"}}


def _entities(text: str, bot_username: str) -> list[dict[str, Any]]:
    entities: list[dict[str, Any]] = []
    if text.startswith("/"):
        command = text.split()[0]
        entities.append({"type": "bot_command", "offset": 0, "length": utf16_length(command)})
    mention = f"@{bot_username}"
    start = text.find(mention)
    if start > 0 or (start == 0 and not text.startswith("/")):
        entities.append({"type": "mention", "offset": utf16_length(text[:start]), "length": utf16_length(mention)})
    return entities
