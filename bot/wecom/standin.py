"""A local WeCom stand-in (test tooling and the no-credentials start): the platform's side of a
self-built application, over real HTTP, with no corporation.

- The API the bot calls: /cgi-bin/gettoken (tokens that expire, or are expired early on demand),
  /cgi-bin/message/send (text, markdown, template_card of type button_interaction: recorded per
  member, a card answered with a response_code; beyond 30 a minute to one member dropped without
  an error, as the platform does), /cgi-bin/message/update_template_card (a response_code works
  once, for 72 hours), /cgi-bin/appchat/create, /cgi-bin/appchat/get and /cgi-bin/appchat/send.
  Errors are the platform's errcodes.
- What members do: `user_types` and `user_clicks` push callbacks to the bot's callback URL as the
  platform does: encrypted and signed with the same WeComCrypto (whose algorithm the platform's own
  sample pins), delivered again when no acknowledgement comes within the ack timeout (five
  seconds on the platform), up to three more times.
- `/standin/` and `/standin/api/*`: a chat page to type as a roster member and read the replies.

Nothing here is used when WECOM_SECRET is set.
"""

import asyncio
import base64
import json
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import httpx
from aiohttp import web

from bot.web import serve
from bot.wecom.crypto import WeComCrypto

log = logging.getLogger(__name__)

STANDIN_CORP_ID = "wwstandin0000000001"
STANDIN_AGENT_ID = 1000002
TOKEN_LIFETIME_SECONDS = 7200
RESPONSE_CODE_LIFETIME_SECONDS = 72 * 3600
# The platform's limit on a text or markdown message's content.
MAX_CONTENT_BYTES = 2048
# Beyond this many messages a minute to one member the platform drops them, answering errcode 0.
MEMBER_MESSAGES_PER_MINUTE = 30
# The platform gives up on an unacknowledged callback after three more tries, five seconds apart.
ACK_TIMEOUT_SECONDS = 5.0
RETRIES = 3
# errcodes the stand-in answers with (meanings: bot.wecom.api.ERROR_MEANINGS).
INVALID_TOKEN, EXPIRED_TOKEN, INVALID_AGENT, NO_VALID_USER = 40014, 42001, 40056, 81013
SYSTEM_BUSY = -1
SENDS = frozenset({"message/send", "message/update_template_card", "appchat/send"})
INVALID_CREDENTIAL, INVALID_PARAMETER, CONTENT_TOO_LONG, NO_SUCH_CHAT = 40001, 40058, 45002, 86003


def new_encoding_aes_key() -> str:
    """A random EncodingAESKey as the admin console makes one: 43 characters of base64."""
    return base64.b64encode(secrets.token_bytes(32)).decode("ascii").rstrip("=")


def callback_request(
    crypto: WeComCrypto, plaintext: str, timestamp: str, nonce: str, agent_id: int = STANDIN_AGENT_ID
) -> tuple[dict[str, str], str]:
    """The query and body with which the platform POSTs `plaintext` to a callback URL."""
    ciphertext = crypto.encrypt(plaintext)
    query = {"msg_signature": crypto.signature(timestamp, nonce, ciphertext), "timestamp": timestamp, "nonce": nonce}
    body = f"<xml><Encrypt><![CDATA[{ciphertext}]]></Encrypt><AgentID><![CDATA[{agent_id}]]></AgentID></xml>"
    return query, body


def text_message_xml(corp_id: str, userid: str, content: str, msg_id: int, create_time: float) -> str:
    """A member's text message, as the platform's callback carries it."""
    return (
        f"<xml><ToUserName><![CDATA[{corp_id}]]></ToUserName><FromUserName><![CDATA[{userid}]]></FromUserName>"
        f"<CreateTime>{int(create_time)}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{_cdata(content)}]]></Content><MsgId>{msg_id}</MsgId>"
        f"<AgentID>{STANDIN_AGENT_ID}</AgentID></xml>"
    )


def event_xml(
    corp_id: str,
    userid: str,
    event: str,
    create_time: float,
    *,
    event_key: str = "",
    task_id: str = "",
    response_code: str = "",
) -> str:
    """An event (a template card's button pressed: template_card_event), as the callback carries it."""
    return (
        f"<xml><ToUserName><![CDATA[{corp_id}]]></ToUserName><FromUserName><![CDATA[{userid}]]></FromUserName>"
        f"<CreateTime>{int(create_time)}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
        f"<Event><![CDATA[{event}]]></Event><EventKey><![CDATA[{_cdata(event_key)}]]></EventKey>"
        f"<TaskId><![CDATA[{_cdata(task_id)}]]></TaskId><CardType><![CDATA[button_interaction]]></CardType>"
        f"<ResponseCode><![CDATA[{response_code}]]></ResponseCode><AgentID>{STANDIN_AGENT_ID}</AgentID></xml>"
    )


def _cdata(text: str) -> str:
    # "]]>" would end the section: split it across two, as XML writers do.
    return text.replace("]]>", "]]]]><![CDATA[>")


@dataclass
class Sent:
    """A message the application sent to a member or group chat, as the stand-in recorded it."""

    msgid: str
    msgtype: str
    body: dict[str, Any]
    sent_at: float
    updates: list[dict[str, Any]] = field(default_factory=list)

    @property
    def card(self) -> dict[str, Any] | None:
        """A template card as the member sees it now: as sent, or as its latest update made it."""
        cards = [u["template_card"] for u in self.updates if "template_card" in u]
        return cards[-1] if cards else self.body.get("template_card")

    @property
    def text(self) -> str:
        """What a member reads: a text's or markdown's content; a card's title, description, text,
        fields, and what replaced its buttons."""
        if self.msgtype in ("text", "markdown"):
            return str(self.body[self.msgtype]["content"])
        card = self.card or {}
        main = card.get("main_title", {})
        fields = [f"{f.get('keyname', '')}：{f.get('value', '')}" for f in card.get("horizontal_content_list", [])]
        parts = [main.get("title", ""), main.get("desc", ""), card.get("sub_title_text", ""), *fields]
        return "\n".join(filter(None, [*parts, card.get("replace_text", "")]))

    @property
    def buttons(self) -> dict[str, str]:
        """The card's buttons as the member sees them now: label → key."""
        return {b["text"]: b["key"] for b in (self.card or {}).get("button_list", [])}


@dataclass
class ResponseCode:
    userid: str
    task_id: str
    issued_at: float
    used: bool = False


@dataclass
class Delivery:
    """How the platform fared pushing one callback: each attempt's HTTP status (None: no answer in time)."""

    statuses: list[int | None] = field(default_factory=list)

    @property
    def acknowledged(self) -> bool:
        return 200 in self.statuses


class WeComStandIn:
    """The platform's side of one self-built application; `callback_url` is where the bot listens."""

    def __init__(
        self,
        *,
        members: dict[str, str],
        corp_id: str = STANDIN_CORP_ID,
        agent_id: int = STANDIN_AGENT_ID,
        secret: str | None = None,
        token: str | None = None,
        encoding_aes_key: str | None = None,
        callback_url: str = "",
        clock: Callable[[], float] = time.time,
        ack_timeout: float = ACK_TIMEOUT_SECONDS,
        retries: int = RETRIES,
    ) -> None:
        self.members = dict(members)  # userid → name shown on the chat page
        self.corp_id, self.agent_id = corp_id, agent_id
        self.secret = secret or secrets.token_urlsafe(24)
        self.token = token or secrets.token_urlsafe(12)
        self.encoding_aes_key = encoding_aes_key or new_encoding_aes_key()
        self.crypto = WeComCrypto(self.token, self.encoding_aes_key, corp_id)
        self.callback_url = callback_url
        self.clock, self.ack_timeout, self.retries = clock, ack_timeout, retries
        self.tokens: dict[str, float] = {}  # token → when it expires
        self.messages: dict[str, list[Sent]] = {}  # userid → what the application sent them
        self.chats: dict[str, dict[str, Any]] = {}  # appchat chatid → {"name", "users", "messages"}
        self.response_codes: dict[str, ResponseCode] = {}
        # The next n acknowledgements are "lost": the platform delivers those callbacks again.
        self.lose_acknowledgements = 0
        # While set, every send (message/send, update_template_card, appchat/send) is answered
        # errcode -1 (系统繁忙): nothing reaches anyone, and the bot is to try again later.
        self.busy = False
        self.api_calls: list[str] = []
        self.dropped: dict[str, int] = {}  # userid → messages dropped over the per-minute quota
        self._next_msg_id = 7_000_000_000_000_000_000 + secrets.randbelow(10**15)
        self._arrived = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.url = ""

    # ----- running ----------------------------------------------------------------------------

    def application(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/cgi-bin/gettoken", self._gettoken)
        app.router.add_post("/cgi-bin/message/send", self._message_send)
        app.router.add_post("/cgi-bin/message/update_template_card", self._update_template_card)
        app.router.add_post("/cgi-bin/appchat/create", self._appchat_create)
        app.router.add_get("/cgi-bin/appchat/get", self._appchat_get)
        app.router.add_post("/cgi-bin/appchat/send", self._appchat_send)
        app.router.add_get("/", self._to_page)
        app.router.add_get("/standin/", self._page)
        app.router.add_get("/standin/api/state", self._api_state)
        app.router.add_post("/standin/api/type", self._api_type)
        app.router.add_post("/standin/api/click", self._api_click)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on the running event loop; the base URL (the bot's api_base_url)."""
        self._runner, real_port = await serve(self.application(), host, port)
        self.url = f"http://{host}:{real_port}"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # ----- what tests and the page do -----------------------------------------------------------

    def expire_tokens(self) -> None:
        """Every token issued so far expires now (the platform may end one before its expires_in)."""
        now = self.clock()
        self.tokens = {token: min(until, now) for token, until in self.tokens.items()}

    def messages_for(self, userid: str) -> list[Sent]:
        return list(self.messages.get(userid.lower(), []))

    async def wait_for_messages(self, userid: str, count: int, timeout: float = 30.0) -> list[Sent]:
        """The member's messages once at least `count` have arrived (the bot answers after acknowledging)."""

        def enough() -> bool:
            return len(self.messages.get(userid.lower(), [])) >= count

        async with self._arrived:
            await asyncio.wait_for(self._arrived.wait_for(enough), timeout)
        return self.messages_for(userid)

    async def user_types(self, userid: str, text: str) -> Delivery:
        """The member sends `text` to the application: a text callback, pushed as the platform does."""
        self._next_msg_id += 1
        return await self.push(text_message_xml(self.corp_id, userid, text, self._next_msg_id, self.clock()))

    async def user_clicks(self, userid: str, task_id: str, event_key: str) -> Delivery:
        """The member presses a button of a template card: a template_card_event with a fresh response_code."""
        code = secrets.token_urlsafe(16)
        self.response_codes[code] = ResponseCode(userid.lower(), task_id, self.clock())
        plaintext = event_xml(
            self.corp_id,
            userid,
            "template_card_event",
            self.clock(),
            event_key=event_key,
            task_id=task_id,
            response_code=code,
        )
        return await self.push(plaintext)

    async def push(self, plaintext: str) -> Delivery:
        """Deliver one callback; again (the same request) after no acknowledgement within ack_timeout."""
        query, body = callback_request(self.crypto, plaintext, str(int(self.clock())), secrets.token_hex(5))
        delivery = Delivery()
        async with httpx.AsyncClient(timeout=self.ack_timeout) as http:
            for _ in range(1 + self.retries):
                try:
                    answer = await http.post(self.callback_url, params=query, content=body)
                    status: int | None = answer.status_code
                except httpx.TransportError:  # no answer in time, or the bot is not listening (yet)
                    status = None
                delivery.statuses.append(status)
                if status == 200 and self.lose_acknowledgements > 0:
                    self.lose_acknowledgements -= 1
                    continue
                if status == 200 or (status is not None and 400 <= status < 500):
                    break  # acknowledged, or refused for good: the platform does not retry a 4xx
        return delivery

    # ----- the platform's API -------------------------------------------------------------------

    async def _gettoken(self, request: web.Request) -> web.Response:
        self.api_calls.append("gettoken")
        if request.query.get("corpid") != self.corp_id or request.query.get("corpsecret") != self.secret:
            return _error(INVALID_CREDENTIAL, "invalid credential")
        token = secrets.token_urlsafe(32)
        self.tokens[token] = self.clock() + TOKEN_LIFETIME_SECONDS
        return web.json_response(
            {"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": TOKEN_LIFETIME_SECONDS}
        )

    async def _authorised(self, request: web.Request, name: str) -> tuple[dict[str, Any] | None, web.Response | None]:
        self.api_calls.append(name)
        token = request.query.get("access_token", "")
        if token not in self.tokens:
            return None, _error(INVALID_TOKEN, "invalid access_token")
        if self.clock() >= self.tokens[token]:
            return None, _error(EXPIRED_TOKEN, "access_token expired")
        if self.busy and name in SENDS:
            return None, _error(SYSTEM_BUSY, "system busy")
        try:
            payload = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            return None, _error(INVALID_PARAMETER, "invalid json")
        if not isinstance(payload, dict):
            return None, _error(INVALID_PARAMETER, "invalid json")
        return payload, None

    async def _message_send(self, request: web.Request) -> web.Response:
        payload, refused = await self._authorised(request, "message/send")
        if refused is not None:
            return refused
        assert payload is not None
        if payload.get("agentid") != self.agent_id:
            return _error(INVALID_AGENT, "invalid agentid")
        problem = _message_problem(payload)
        if problem is not None:
            return _error(*problem)
        wanted = [u for u in str(payload.get("touser", "")).split("|") if u]
        if wanted == ["@all"]:
            wanted = list(self.members)
        known = [u for u in wanted if u.lower() in self.members]
        unknown = [u for u in wanted if u.lower() not in self.members]
        if not known:
            return _error(NO_VALID_USER, "all touser invalid")
        self._next_msg_id += 1
        msgid = f"standin-{self._next_msg_id}"
        answer: dict[str, Any] = {"errcode": 0, "errmsg": "ok", "msgid": msgid}
        if payload["msgtype"] == "template_card":  # it may update the card it came with, once
            code = secrets.token_urlsafe(16)
            task_id = str(payload["template_card"]["task_id"])
            self.response_codes[code] = ResponseCode(known[0].lower(), task_id, self.clock())
            answer["response_code"] = code
        async with self._arrived:
            for userid in known:
                received = self.messages.setdefault(userid.lower(), [])
                if sum(1 for s in received if s.sent_at > self.clock() - 60) >= MEMBER_MESSAGES_PER_MINUTE:
                    self.dropped[userid.lower()] = self.dropped.get(userid.lower(), 0) + 1
                    continue
                received.append(Sent(msgid, str(payload["msgtype"]), payload, self.clock()))
            self._arrived.notify_all()
        if unknown:
            answer["invaliduser"] = "|".join(unknown)
        return web.json_response(answer)

    async def _update_template_card(self, request: web.Request) -> web.Response:
        payload, refused = await self._authorised(request, "message/update_template_card")
        if refused is not None:
            return refused
        assert payload is not None
        code = self.response_codes.get(str(payload.get("response_code", "")))
        # A response_code updates the card it came from once, within its lifetime.
        if code is None or code.used or self.clock() - code.issued_at > RESPONSE_CODE_LIFETIME_SECONDS:
            return _error(INVALID_PARAMETER, "invalid response_code")
        code.used = True
        card = next(
            (
                sent
                for sent in reversed(self.messages.get(code.userid, []))
                if sent.msgtype == "template_card" and sent.body["template_card"].get("task_id") == code.task_id
            ),
            None,
        )
        if card is not None:
            async with self._arrived:
                card.updates.append(payload)
                self._arrived.notify_all()
        return web.json_response({"errcode": 0, "errmsg": "ok", "invaliduser": []})

    async def _appchat_create(self, request: web.Request) -> web.Response:
        payload, refused = await self._authorised(request, "appchat/create")
        if refused is not None:
            return refused
        assert payload is not None
        chatid = str(payload.get("chatid") or f"chat{len(self.chats) + 1}")
        users = [str(u).lower() for u in payload.get("userlist", [])]
        self.chats[chatid] = {"name": str(payload.get("name", "")), "users": users, "messages": []}
        return web.json_response({"errcode": 0, "errmsg": "ok", "chatid": chatid})

    async def _appchat_get(self, request: web.Request) -> web.Response:
        self.api_calls.append("appchat/get")
        token = request.query.get("access_token", "")
        if token not in self.tokens or self.clock() >= self.tokens[token]:
            return _error(INVALID_TOKEN, "invalid access_token")
        chat = self.chats.get(request.query.get("chatid", ""))
        if chat is None:
            return _error(NO_SUCH_CHAT, "chatid not found")
        info = {"chatid": request.query["chatid"], "name": chat["name"], "userlist": chat["users"]}
        return web.json_response({"errcode": 0, "errmsg": "ok", "chat_info": info})

    async def _appchat_send(self, request: web.Request) -> web.Response:
        payload, refused = await self._authorised(request, "appchat/send")
        if refused is not None:
            return refused
        assert payload is not None
        chat = self.chats.get(str(payload.get("chatid", "")))
        if chat is None:
            return _error(NO_SUCH_CHAT, "chatid not found")
        problem = _message_problem(payload)
        if problem is not None:
            return _error(*problem)
        self._next_msg_id += 1
        async with self._arrived:
            chat["messages"].append(
                Sent(f"standin-{self._next_msg_id}", str(payload["msgtype"]), payload, self.clock())
            )
            self._arrived.notify_all()
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    # ----- the chat page --------------------------------------------------------------------------

    async def _to_page(self, request: web.Request) -> web.Response:
        raise web.HTTPFound("/standin/")

    async def _page(self, request: web.Request) -> web.Response:
        page = resources.files("bot.wecom").joinpath("standin.html").read_text(encoding="utf-8")
        return web.Response(text=page, content_type="text/html")

    async def _api_state(self, request: web.Request) -> web.Response:
        userid = request.query.get("user", "").lower()
        sent = [
            {"type": s.msgtype, "text": s.text, "at": s.sent_at, "card": s.card} for s in self.messages.get(userid, [])
        ]
        return web.json_response({"members": self.members, "messages": sent})

    async def _api_type(self, request: web.Request) -> web.Response:
        payload, refused = await _page_request(request, self.members)
        if refused is not None:
            return refused
        text = str(payload.get("text", ""))
        if not text.strip():
            return web.json_response({"error": "请输入内容"}, status=400)
        delivery = await self.user_types(str(payload["user"]), text)
        return web.json_response({"statuses": delivery.statuses})

    async def _api_click(self, request: web.Request) -> web.Response:
        payload, refused = await _page_request(request, self.members)
        if refused is not None:
            return refused
        task_id, key = str(payload.get("task_id", "")), str(payload.get("key", ""))
        if not task_id or not key:
            return web.json_response({"error": "没有这个按钮"}, status=400)
        delivery = await self.user_clicks(str(payload["user"]), task_id, key)
        return web.json_response({"statuses": delivery.statuses})


async def _page_request(request: web.Request, members: dict[str, str]) -> tuple[dict[str, Any], web.Response | None]:
    """The chat page's JSON body, for a member of the stand-in. A JSON body only: a form post from
    another web page cannot drive the stand-in."""
    if request.content_type != "application/json":
        return {}, web.json_response({"error": "请求格式不对"}, status=415)
    try:
        payload = await request.json()
    except json.JSONDecodeError:
        return {}, web.json_response({"error": "请求格式不对"}, status=400)
    if not isinstance(payload, dict) or str(payload.get("user", "")).lower() not in members:
        return {}, web.json_response({"error": "请选择成员"}, status=400)
    return payload, None


def _message_problem(payload: dict[str, Any]) -> tuple[int, str] | None:
    """What the platform would refuse in a message's body, as (errcode, errmsg)."""
    msgtype = payload.get("msgtype")
    if msgtype in ("text", "markdown"):
        content = payload.get(msgtype, {}).get("content") if isinstance(payload.get(msgtype), dict) else None
        if not isinstance(content, str) or not content:
            return INVALID_PARAMETER, f"{msgtype}.content missing"
        if len(content.encode()) > MAX_CONTENT_BYTES:
            return CONTENT_TOO_LONG, f"content over {MAX_CONTENT_BYTES} bytes"
        return None
    if msgtype == "template_card":
        card = payload.get("template_card")
        if not isinstance(card, dict) or card.get("card_type") != "button_interaction":
            return INVALID_PARAMETER, "only button_interaction cards are served here"
        if not card.get("task_id") or not card.get("button_list") or not card.get("main_title"):
            return INVALID_PARAMETER, "template_card needs task_id, main_title and button_list"
        return None
    return INVALID_PARAMETER, f"msgtype {msgtype!r} not served here"


def _error(errcode: int, errmsg: str) -> web.Response:
    return web.json_response({"errcode": errcode, "errmsg": errmsg})
