"""Typed answers to a workflow's question: routes a private text to the form or prompt awaiting it.

Runs before the Q&A handler; when nothing is awaited the text falls through and is a question.
"""

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import Session
from telegram import Update
from telegram.ext import ApplicationHandlerStop, BaseHandler, CommandHandler, ContextTypes, MessageHandler, filters

from bot import plaintext
from bot.db import PendingInput, Person, utcnow
from bot.errors import DomainError
from bot.roster import person_for
from bot.workflow import inputs
from bot.workflow.inputs import FormHooks
from bot.workflow.transitions import Versioned
from handlers.common import command, explains_domain_errors, services, tell

TextRoute = Callable[[Update, ContextTypes.DEFAULT_TYPE, Person, PendingInput, str], Awaitable[None]]
EXPIRED = "之前等待您输入的内容已超过 {minutes} 分钟，已取消（表单可重新发送命令继续填写）。这条消息按普通消息处理。"


@dataclass(frozen=True)
class TypedInputs:
    """The router over the features' tables (assembled by bot.app), each keyed by purpose prefix
    ("leave"): who takes the text, which form /cancel abandons, whose version a prompt is for."""

    routes: Mapping[str, TextRoute]
    forms: Mapping[str, FormHooks]
    models: Mapping[str, type[Versioned]]

    async def route_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Give a private text to the form or prompt that awaits it (else let Q&A have it)."""
        assert update.effective_user is not None and update.message is not None
        user_id, text = update.effective_user.id, plaintext.clean(update.message.text or "")
        found = services(context)
        max_age = timedelta(minutes=found.settings.prompt_expiry_minutes)

        def lookup(session: Session) -> tuple[bool, tuple[Person, PendingInput] | None]:
            person = person_for(session, user_id)
            if person is None:
                return False, None
            # Real time, not the office clock (which tests and replays move): how long the person was away.
            expired = inputs.drop_expired(session, person.id, utcnow(), max_age)
            pending = inputs.awaited(session, person.id, self.models)  # drops a stale prompt
            # A numbered menu another channel showed: a text here is not its answer (buttons are).
            if pending is not None and pending.purpose.endswith(f":{inputs.CHOICE}"):
                pending = None
            return expired, (person, pending) if pending else None

        expired, awaited = await command(context, lookup)
        if expired:
            await tell(update, context, EXPIRED.format(minutes=found.settings.prompt_expiry_minutes))
        if awaited is None:
            return
        person, pending = awaited
        route = self.routes.get(pending.purpose.split(":")[0])
        try:
            if route is not None:
                await route(update, context, person, pending, text)
        except DomainError as exc:
            # Bad input changes nothing; the same question stands and the text is not a rules question.
            await tell(update, context, str(exc))
        # The text belonged to the prompt: it is never also taken as a question (nor after an error:
        # the error handler stops the update as well).
        raise ApplicationHandlerStop

    async def cancel(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/cancel: abandon whatever form or prompt is awaiting your text."""
        assert update.effective_user is not None
        user_id = update.effective_user.id

        def work(session: Session) -> bool:
            person = person_for(session, user_id)
            return person is not None and inputs.cancel_awaited(session, person, self.forms)

        await tell(update, context, "已取消。" if await command(context, work) else "现在没有正在填写的内容。")
        raise ApplicationHandlerStop  # answered: the unknown-command reply must not follow

    def build_handlers(self) -> list[BaseHandler]:
        return [
            CommandHandler("cancel", explains_domain_errors(self.cancel)),
            MessageHandler(filters.ChatType.PRIVATE & filters.TEXT & ~filters.COMMAND, self.route_text),
        ]
