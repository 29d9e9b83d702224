"""What all handler modules share: services, running blocking work, replies, the error handler."""

import asyncio
import functools
import html
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy.orm import Session
from telegram import InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden
from telegram.ext import ContextTypes

from bot.db import Person
from bot.errors import DomainError
from bot.roster import require_person
from bot.services import Services
from handlers.render import split_html

log = logging.getLogger(__name__)
T = TypeVar("T")
Handler = Callable[[Update, ContextTypes.DEFAULT_TYPE], Awaitable[Any]]
APOLOGY = "抱歉，处理您的请求时出错了，已记录下来。请稍后再试。"


def services(context: ContextTypes.DEFAULT_TYPE) -> Services:
    return context.application.bot_data["services"]


async def blocking(function: Callable[..., T], *args: Any) -> T:
    """Run database and retrieval work off the event loop."""
    return await asyncio.to_thread(function, *args)


async def send_html(
    context: ContextTypes.DEFAULT_TYPE, chat_id: int, text: str, markup: InlineKeyboardMarkup | None = None
) -> None:
    """Send HTML in as many parts as needed; the keyboard goes with the last part."""
    parts = split_html(text)
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        await context.bot.send_message(chat_id, part, parse_mode=ParseMode.HTML, reply_markup=markup if last else None)


async def notify(
    context: ContextTypes.DEFAULT_TYPE, person: Person | None, text: str, markup: InlineKeyboardMarkup | None = None
) -> bool:
    """Message a roster person privately; False if they have no bound account or cannot be reached."""
    if person is None or person.telegram_user_id is None:
        return False
    try:
        await send_html(context, person.telegram_user_id, text, markup)
    except Forbidden:
        return False
    return True


async def edit_html(update: Update, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    """Replace the pressed message's text; pressing the same button twice is not an error."""
    query = update.callback_query
    assert query is not None
    try:
        await query.edit_message_text(text, parse_mode=ParseMode.HTML, reply_markup=markup)
    except BadRequest as exc:
        if "not modified" not in str(exc).lower():
            raise


async def show(
    update: Update, context: ContextTypes.DEFAULT_TYPE, text: str, markup: InlineKeyboardMarkup | None, edit: bool
) -> None:
    """Replace the pressed message (edit) or send a new one in the current chat."""
    if edit and update.callback_query:
        await edit_html(update, text, markup)
    else:
        assert update.effective_chat is not None
        await send_html(context, update.effective_chat.id, text, markup)


async def tell(update: Update, context: ContextTypes.DEFAULT_TYPE, message: str) -> None:
    """Say something short: an alert on a button press, a message otherwise."""
    if update.callback_query:
        await update.callback_query.answer(message[:200], show_alert=True)
    elif update.effective_chat:
        await context.bot.send_message(
            update.effective_chat.id, html.escape(message, quote=False), parse_mode=ParseMode.HTML
        )


def explains_domain_errors(handler: Handler) -> Handler:
    """Turn a DomainError into its Chinese message for the user; nothing else is swallowed."""

    @functools.wraps(handler)
    async def wrapper(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Any:
        try:
            return await handler(update, context)
        except DomainError as exc:
            await tell(update, context, str(exc))
            return None

    return wrapper


def registered_only(handler: Handler) -> Handler:
    """Let only people bound to the roster reach a workflow."""

    @functools.wraps(handler)
    async def wrapper(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Any:
        user = update.effective_user
        if user is None:
            return None

        def check() -> None:
            with services(context).database.session() as session:
                require_person(session, user.id)

        await blocking(check)
        return await handler(update, context)

    return explains_domain_errors(wrapper)


FormShower = Callable[[Update, ContextTypes.DEFAULT_TYPE, int, bool], Awaitable[None]]


def form_command(open_form: Callable[[Session, Person], Any], show_form: FormShower, private_hint: str) -> Handler:
    """A /command that starts or resumes a person's form in a private chat and shows its current step."""

    @registered_only
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_user is not None and update.effective_chat is not None
        if update.effective_chat.type != "private":
            await tell(update, context, private_hint)
            return

        def work() -> int:
            with services(context).database.session() as session:
                return open_form(session, require_person(session, update.effective_user.id)).id

        await show_form(update, context, await blocking(work), False)

    return start


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log the traceback; tell the user briefly; never let an error stop the bot."""
    log.error("unhandled error while handling %r", update, exc_info=context.error)
    if not isinstance(update, Update):
        return
    try:
        if update.callback_query:
            await update.callback_query.answer(APOLOGY, show_alert=True)
        elif update.effective_chat:
            await context.bot.send_message(update.effective_chat.id, APOLOGY)
    except Exception:  # the apology itself failed (e.g. the network is down); the log has the cause
        log.exception("could not send the apology")
