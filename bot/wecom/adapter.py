"""The bot in WeCom: what a member's callback asks for, answered through the same services as in
Telegram (bot.qa.service answers and logs every question), sent back by the application's API.

A template card's button press (template_card_event) runs the feature's card action for the key
it carries (the typed callback data, with the item's id and version: the same unit of work and
checks as a Telegram press), and keeps the event's response code on the card so that the redraw
the decision queues updates this very card. A text that answers a prompt (a 不批准 reason, a 销假
report) goes to the feature's prompt reply; any other text is a question.
"""

import asyncio
import logging
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from bot import plaintext
from bot.db import Person
from bot.errors import DomainError, WeComApiError, WeComApiFailed
from bot.qa import service
from bot.qa.library import ARTICLE_NUMBER
from bot.roster import person_for_wecom
from bot.services import Services
from bot.views import Workflows
from bot.wecom import render
from bot.wecom.api import WeComApi
from bot.wecom.inbound import Inbound
from bot.workflow import inputs
from bot.workflow.models import Card

log = logging.getLogger(__name__)

NOT_ON_ROSTER = (
    "您的企业微信账号还没有登记在工作人员花名册中，暂时不能使用本应用。请联系区政府办公室在花名册中登记后再试。"
)
UNBOUND_NOTE = "您的企业微信账号不在工作人员花名册中：可以查询规则；请假、议题等事项需办公室登记后办理。"
ONLY_TEXT = "目前只能阅读文字消息，请用文字写下您的问题。"
NOTHING_TO_ASK = (
    "请用一句话写下您的问题，例如：副区长离包外出要向谁请示？\n"
    "我依据工作规则回答并注明条文；回复条号（如“第七十九条”）查看全文，回复 /rules 查看目录。"
)
# What asks how to use the bot (Telegram's commands typed out of habit, too).
HELP_WORDS = frozenset({"/help", "/start", "帮助", "使用说明"})
STALE_BUTTON = "这个按钮已失效或无法识别，请重新打开相关消息。"
# A prompt of a form (filled in Telegram's private chat): forms are not filled in WeCom yet.
FORM_NOT_HERE = "企业微信中暂不能填写表单，请联系区政府办公室。"
# A whole message naming one article ("第七十九条", "第79条", "/article 79"): its full text.
ARTICLE_REQUEST = re.compile(rf"/article\s*(.+)|(第\s*(?:{ARTICLE_NUMBER})\s*条)")
# Sending is retried on these (and on no answer at all): the platform is busy or pacing the app.
RETRY_ERRCODES = frozenset({-1, 45009, 45033})
SEND_ATTEMPTS = 4
# The platform drops, without an error, an application's messages to one member beyond 30 a minute
# and 1,000 an hour (发送应用消息, 频率限制): (window in seconds, messages).
MEMBER_LIMITS = ((60.0, 30), (3600.0, 1000))


@dataclass(frozen=True)
class Reply:
    msgtype: str  # "text" or "markdown"
    content: str


class RecipientPacer:
    """Holds a message back until the member's quotas have room again, instead of having it dropped
    (a long article is several messages; someone asking fast may fill a minute)."""

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        pause: Callable[[float], Awaitable[None]] = asyncio.sleep,
        limits: tuple[tuple[float, int], ...] = MEMBER_LIMITS,
    ) -> None:
        self._clock, self._pause, self._limits = clock, pause, limits
        self._longest = max(window for window, _ in limits)
        self._sent: dict[str, deque[float]] = {}

    async def wait_turn(self, userid: str) -> None:
        sent = self._sent.setdefault(userid.lower(), deque())
        while True:
            now = self._clock()
            while sent and sent[0] <= now - self._longest:
                sent.popleft()
            wait = max((self._room_after(sent, window, limit, now) for window, limit in self._limits), default=0.0)
            if wait <= 0:
                # No await between the check and this: two workers cannot both take the last place.
                sent.append(now)
                return
            await self._pause(wait)

    @staticmethod
    def _room_after(sent: deque[float], window: float, limit: int, now: float) -> float:
        recent = [moment for moment in sent if moment > now - window]
        return recent[-limit] + window - now if len(recent) >= limit else 0.0


class WeComAdapter:
    """Handles the accepted callbacks of one application (bot.wecom.callback calls `handle`)."""

    def __init__(
        self,
        services: Services,
        api: WeComApi,
        agent_id: int,
        *,
        engine_ready: asyncio.Event | None = None,
        pause: Callable[[float], Awaitable[None]] = asyncio.sleep,
        pacer: RecipientPacer | None = None,
        workflows: Workflows | None = None,
    ) -> None:
        self._services, self._api, self._agent_id, self._pause = services, api, agent_id, pause
        self._pacer = pacer or RecipientPacer(pause=pause)
        self._workflows = workflows or Workflows({}, {}, {})
        # While a first start still builds the rules engine, questions wait (as in Telegram).
        if engine_ready is None:
            engine_ready = asyncio.Event()
            engine_ready.set()
        self._engine_ready = engine_ready

    async def handle(self, inbound: Inbound) -> None:
        userid = inbound.from_user
        if inbound.msg_type == "event":
            if inbound.event == "template_card_event":
                told = await asyncio.to_thread(self.press, inbound)
                await self.send(userid, Reply("text", told))
            return  # entering the application and the like need no answer
        if inbound.msg_type != "text":
            await self.send(userid, Reply("text", ONLY_TEXT))
            return
        await self._engine_ready.wait()
        for reply in await asyncio.to_thread(self.reply_to_text, userid, inbound.content or ""):
            await self.send(userid, reply)

    def press(self, inbound: Inbound) -> str:
        """A template card's button pressed: the card action its key names, for the roster person who
        pressed it, in one unit of work; what they are told."""
        key = inbound.event_key or ""
        action = self._workflows.actions.get(key.split(":")[0])
        if action is None:
            return STALE_BUTTON

        def work(session: Session) -> str:
            person = person_for_wecom(session, inbound.from_user)
            if person is None:
                return NOT_ON_ROSTER
            try:
                data = action.parse(key)
            except ValueError:  # forged, truncated or from an older release
                return STALE_BUTTON
            told = action.run(session, self._services, person, data)
            _keep_response_code(session, person, inbound.task_id, inbound.response_code)
            return told

        try:
            return self._services.run(work)
        except DomainError as error:  # already decided, not yours to decide …: rolled back, told why
            return str(error)

    def answer_prompt(self, userid: str, text: str) -> str | None:
        """A member's text that answers one of their prompts (a 不批准 reason …): what they are told;
        None when no prompt waits for them."""
        workflows = self._workflows

        def work(session: Session) -> str | None:
            person = person_for_wecom(session, userid)
            if person is None:
                return None
            pending = inputs.awaited(session, person.id, workflows.models)
            reply = workflows.replies.get(pending.purpose.split(":")[0]) if pending is not None else None
            if pending is None or reply is None:
                return None
            return reply(session, self._services, person, pending, text) or FORM_NOT_HERE

        try:
            return self._services.run(work)
        except DomainError as error:
            return str(error)

    def reply_to_text(self, userid: str, text: str) -> list[Reply]:
        """What the bot says to a member's text: an article, the contents, the answer to a prompt, or
        the answer to a question."""
        typed = plaintext.clean(text)
        if not plaintext.has_words(typed):
            return [Reply("text", NOTHING_TO_ASK)]
        found = self._services
        if typed.strip() in HELP_WORDS:
            return [Reply("text", NOTHING_TO_ASK)]
        if (answered := self.answer_prompt(userid, typed)) is not None:
            return [Reply("text", answered)]
        try:
            if typed.strip() == "/rules":
                return _markdown(render.contents_markdown(list(found.library.by_id.values())))
            article = ARTICLE_REQUEST.fullmatch(typed.strip())
            if article is not None:
                views = found.library.find(article[1] or article[2])
                return [r for view in views for r in _markdown(render.article_markdown(view))]
            with found.database.session() as session:
                person = person_for_wecom(session, userid)
                if person is None and not found.settings.unbound_can_ask:
                    return [Reply("text", NOT_ON_ROSTER)]
                asker = service.Asker(wecom_userid=userid.lower())
                logged = service.answer_as(session, found.rules_engine, found.library, person, asker, typed)
        except DomainError as error:  # a Chinese message for the member (no such article …)
            return [Reply("text", str(error))]
        return _markdown(render.answer_markdown(logged, UNBOUND_NOTE if person is None else ""))

    async def send(self, userid: str, reply: Reply) -> None:
        """Send one message to a member, again when the platform is busy or unreachable (an expired
        token is renewed by WeComApi itself); a refusal for good is logged with its meaning."""
        payload = {"touser": userid, "agentid": self._agent_id, "msgtype": reply.msgtype}
        payload[reply.msgtype] = {"content": reply.content}
        await self._pacer.wait_turn(userid)
        for attempt in range(1, SEND_ATTEMPTS + 1):
            try:
                await self._api.post("/cgi-bin/message/send", payload)
                return
            except WeComApiError as error:
                if error.errcode not in RETRY_ERRCODES or attempt == SEND_ATTEMPTS:
                    raise
            except WeComApiFailed:
                if attempt == SEND_ATTEMPTS:
                    raise
            await self._pause(2.0 ** (attempt - 1))


def _keep_response_code(session: Session, person: Person, task_id: str | None, code: str | None) -> None:
    """The press's response code may update the pressed card once: it replaces the card's spent or
    older one, so the redraw the action queued updates the card in place."""
    if not task_id or not code:
        return
    card = session.scalar(
        select(Card).where(
            Card.person_id == person.id, or_(Card.message_id == task_id, Card.message_id.startswith(f"{task_id} "))
        )
    )
    if card is not None:
        card.message_id = render.card_handle(task_id, code)


def _markdown(text: str) -> list[Reply]:
    return [Reply("markdown", part) for part in render.split_markdown(text)]
