"""The bot in WeCom: what a member's callback asks for, answered through the same services as in
Telegram (bot.qa.service answers and logs every question), sent back by the application's API.

A template card's button press (template_card_event) runs the feature's card action for the key
it carries (the typed callback data, with the item's id and version: the same unit of work and
checks as a Telegram press), and keeps the event's response code on the card so that the redraw
the decision queues updates this very card. A text that answers a prompt (a 不批准 reason, a 销假
report) goes to the feature's prompt reply; any other text is a question.

Forms (/leave, /topic: bot.views.FormFlow) are filled as a dialogue of text messages: a step that
asks for text shows its question; a step with choices shows them as a numbered menu, answered by
the choice's number. Not as template cards: a button_interaction card holds at most six buttons,
and a form step may offer more (six kinds of leave and 取消; 提交, 取消 and one 改… per field;
every department); each step would also be one more card against the member's message quota,
updated only through a single-use response code. The menu is a prompt at the draft's version
("leave:choice"), so a number answers the step it was shown for, never a later one.
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
from bot.db import PendingInput, Person
from bot.errors import DomainError, WeComApiError, WeComApiFailed
from bot.qa import service
from bot.qa.library import ARTICLE_NUMBER
from bot.roster import person_for_wecom
from bot.services import Services
from bot.views import Button, OpenForm, Outcome, View, Workflows
from bot.wecom import render
from bot.wecom.api import WeComApi
from bot.wecom.inbound import Inbound
from bot.workflow import inputs
from bot.workflow.models import Card
from bot.workflow.transitions import current_version

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
NOTHING_TO_CANCEL = "现在没有正在填写的内容。"
WRONG_NUMBER = "请回复 1–{count} 之间的数字选择（发送 /cancel 取消）。"
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
        self._workflows = workflows or Workflows({}, {}, {}, {})
        # While a first start still builds the rules engine, questions wait (as in Telegram).
        if engine_ready is None:
            engine_ready = asyncio.Event()
            engine_ready.set()
        self._engine_ready = engine_ready

    async def handle(self, inbound: Inbound) -> None:
        userid = inbound.from_user
        if inbound.msg_type == "event":
            if inbound.event == "template_card_event":
                await self.send(userid, await asyncio.to_thread(self.press, inbound))
            return  # entering the application and the like need no answer
        if inbound.msg_type != "text":
            await self.send(userid, Reply("text", ONLY_TEXT))
            return
        await self._engine_ready.wait()
        for reply in await asyncio.to_thread(self.reply_to_text, userid, inbound.content or ""):
            await self.send(userid, reply)

    def press(self, inbound: Inbound) -> Reply:
        """A template card's button pressed: the card action its key names, for the roster person who
        pressed it, in one unit of work; what they are told (or the form it opens)."""
        key = inbound.event_key or ""
        action = self._workflows.actions.get(key.split(":")[0])
        if action is None:
            return Reply("text", STALE_BUTTON)

        def work(session: Session) -> Reply:
            person = person_for_wecom(session, inbound.from_user)
            if person is None:
                return Reply("text", NOT_ON_ROSTER)
            try:
                data = action.parse(key)
            except ValueError:  # forged, truncated or from an older release
                return Reply("text", STALE_BUTTON)
            outcome = action.run(session, self._services, person, data)
            _keep_response_code(session, person, inbound.task_id, inbound.response_code)
            return self._outcome(session, person, outcome)

        return self._unit(work) or Reply("text", STALE_BUTTON)

    def _unit(self, work: Callable[[Session], Reply | None]) -> Reply | None:
        """One unit of work; a DomainError (already decided, not yours …) rolls it back and is told."""
        try:
            return self._services.run(work)
        except DomainError as error:
            return Reply("text", str(error))

    def _outcome(self, session: Session, person: Person, outcome: Outcome) -> Reply:
        if isinstance(outcome, OpenForm):
            return self._screen(session, person, outcome.prefix, outcome.record_id)
        return Reply("text", outcome)

    def _screen(self, session: Session, person: Person, prefix: str, record_id: int) -> Reply:
        """The form's current step: what it asks, and its choices as a numbered menu whose number the
        member's next message gives. A step that awaits text keeps its prompt (a number still picks
        one of its choices, e.g. a department); a step of choices only awaits the number (a prompt at
        the draft's version). A typed step's only button, 取消, is /cancel, which its question names."""
        screen = self._workflows.forms[prefix].screen(session, self._services, record_id)
        session.flush()  # a prompt the step cleared is gone, not just marked for deletion
        pending = session.get(PendingInput, person.id)
        if pending is None or not pending.purpose.startswith(f"{prefix}:") or pending.target_id != record_id:
            version = current_version(session, self._workflows.models[prefix], record_id)
            assert version is not None
            inputs.expect_text(session, person.id, f"{prefix}:{inputs.CHOICE}", record_id, version)
        elif len(_choices(screen)) < 2:
            return Reply("markdown", render.view_markdown(screen))
        return Reply("markdown", render.menu_markdown(screen))

    def _choose(self, session: Session, person: Person, pending: PendingInput, text: str) -> Reply | None:
        """A number answering a form's menu: that choice's button pressed. None when the text is no
        number, or the step awaits text and shows no menu: then the text is the step's answer (or a
        question, at a step of choices only, as a text is in Telegram while a form shows buttons)."""
        number = text.strip().rstrip(".、。")
        prefix, kind = pending.purpose.split(":")[0], pending.purpose.split(":")[-1]
        flow = self._workflows.forms.get(prefix)
        if not number.isdigit() or flow is None or kind not in inputs.FORM_PROMPTS:
            return None
        choices = _choices(flow.screen(session, self._services, pending.target_id))
        if pending.purpose != f"{prefix}:{inputs.CHOICE}" and len(choices) < 2:
            return None
        if not 1 <= int(number) <= len(choices):
            return Reply("text", WRONG_NUMBER.format(count=len(choices)))
        told = flow.press(session, self._services, person, choices[int(number) - 1].action)
        return self._outcome(session, person, OpenForm(prefix, pending.target_id) if told is None else told)

    def answer_prompt(self, userid: str, text: str) -> Reply | None:
        """A member's text that answers one of their prompts (a 不批准 reason, a form's field or menu
        …): what they are told or the form's next step; None when no prompt waits for this text."""
        workflows = self._workflows

        def work(session: Session) -> Reply | None:
            person = person_for_wecom(session, userid)
            if person is None:
                return None
            pending = inputs.awaited(session, person.id, workflows.models)
            if pending is None:
                return None
            prefix = pending.purpose.split(":")[0]
            chosen = self._choose(session, person, pending, text)
            reply = workflows.replies.get(prefix)
            if chosen is not None or pending.purpose == f"{prefix}:{inputs.CHOICE}" or reply is None:
                return chosen
            told = reply(session, self._services, person, pending, text)
            return self._outcome(session, person, OpenForm(prefix, pending.target_id) if told is None else told)

        return self._unit(work)

    def form_command(self, userid: str, text: str) -> Reply | None:
        """/cancel, or a form's command ("/leave", "请假"): the form started or resumed at its step;
        None when the text is neither."""
        flows = self._workflows.forms
        prefix = next((key for key, flow in flows.items() if text in flow.commands), None)
        if prefix is None and text != "/cancel":
            return None

        def work(session: Session) -> Reply:
            person = person_for_wecom(session, userid)
            if person is None:
                return Reply("text", NOT_ON_ROSTER)
            if prefix is None:
                hooks = {key: flow.hooks for key, flow in flows.items()}
                return Reply("text", "已取消。" if inputs.cancel_awaited(session, person, hooks) else NOTHING_TO_CANCEL)
            return self._screen(session, person, prefix, flows[prefix].open(session, person))

        return self._unit(work)

    def reply_to_text(self, userid: str, text: str) -> list[Reply]:
        """What the bot says to a member's text: a form's step, an article, the contents, the answer
        to a prompt, or the answer to a question."""
        typed = plaintext.clean(text)
        if not plaintext.has_words(typed):
            return [Reply("text", NOTHING_TO_ASK)]
        found = self._services
        if typed.strip() in HELP_WORDS:
            return [Reply("text", NOTHING_TO_ASK)]
        if (started := self.form_command(userid, typed.strip())) is not None:
            return [started]
        if (answered := self.answer_prompt(userid, typed)) is not None:
            return [answered]
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


def _choices(screen: View) -> list[Button]:
    return [button for row in screen.buttons for button in row]


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
