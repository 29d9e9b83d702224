"""What all handler modules share: services, running blocking work, replies, the error handler."""

import asyncio
import functools
import html
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

import httpx
from sqlalchemy.orm import Session
from telegram import InlineKeyboardMarkup, LinkPreviewOptions, Update
from telegram.constants import ChatAction, ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, TelegramError, TimedOut
from telegram.ext import ApplicationHandlerStop, ContextTypes

from bot import privacy
from bot.db import PendingInput, Person
from bot.errors import DomainError
from bot.roster import require_person
from bot.services import Services
from bot.views import FormFlow, TextReply
from handlers.callbacks import CallbackData, MalformedCallback
from handlers.render import split_html, view_html

log = logging.getLogger(__name__)
T = TypeVar("T")
# python-telegram-bot's handlers take coroutine functions (its callback type is Coroutine, not Awaitable).
Handler = Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, Any]]
APOLOGY = "抱歉，处理您的请求时出错了，已记录下来。请稍后再试。"
NO_PRIVATE_CHAT = "我无法私聊您：请先打开与我的私聊并发送 /start，然后再试。"


def services(context: ContextTypes.DEFAULT_TYPE) -> Services:
    return context.application.bot_data["services"]


async def blocking(function: Callable[..., T], *args: Any) -> T:
    """Run database and retrieval work off the event loop."""
    return await asyncio.to_thread(function, *args)


async def command(context: ContextTypes.DEFAULT_TYPE, work: Callable[[Session], T]) -> T:
    """Run one unit of work off the event loop: one session, one commit, then the outbox is woken."""
    return await blocking(services(context).run, work)


C = TypeVar("C", bound=CallbackData)
ButtonHandler = Callable[[Update, ContextTypes.DEFAULT_TYPE, C], Awaitable[str | None]]
STALE_BUTTON = "这个按钮已失效或无法识别，请重新打开相关消息（或重新发送命令）。"


async def card_action(
    update: Update, context: ContextTypes.DEFAULT_TYPE, run: Callable[[Session, Services, Person, C], T], data: C
) -> T:
    """A feature's channel-free card action (bot.views.CardAction) for whoever pressed, as one unit
    of work; what they are told."""
    query = update.callback_query
    assert query is not None
    found = services(context)
    return await command(context, lambda s: run(s, found, require_person(s, query.from_user.id), data))


def button(kind: type[C]) -> Callable[[ButtonHandler[C]], Handler]:
    """A button press: the data parsed as `kind`, the handler run, and the press answered exactly
    once, after the handler's edits, with what it returns (or the DomainError's message)."""

    def wrap(handler: ButtonHandler[C]) -> Handler:
        @functools.wraps(handler)
        async def wrapper(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
            query = update.callback_query
            assert query is not None
            alert = True
            try:
                reply = await handler(update, context, kind.parse(query.data or ""))
                alert = False
            except MalformedCallback:
                reply = STALE_BUTTON
            except DomainError as exc:
                reply = str(exc)
            await answer_press(update, reply, alert)

        return wrapper

    return wrap


async def answer_press(update: Update, text: str | None, alert: bool = False) -> None:
    """Answer a press. An answer the Bot API refuses (too old, 5xx, timeout) is not an error: what
    the press did is committed, and its cards and notices go out through the outbox."""
    assert update.callback_query is not None
    try:
        await update.callback_query.answer(text[:200] if text else None, show_alert=alert and bool(text))
    except TelegramError as exc:
        log.info("could not answer a button press: %s", exc.message)


async def unknown_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Any press no handler claims (forged, or from a button this release no longer has)."""
    await answer_press(update, STALE_BUTTON, alert=True)


async def send_html(
    context: ContextTypes.DEFAULT_TYPE,
    chat_id: int,
    text: str,
    markup: InlineKeyboardMarkup | None = None,
    *,
    preview_links: bool = True,
) -> None:
    """Send HTML in as many parts as needed; the keyboard goes with the last part. `preview_links`
    False: Telegram fetches no link preview (a fetcher would use up a one-time link)."""
    parts = split_html(text)
    previews = None if preview_links else LinkPreviewOptions(is_disabled=True)
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        await _send_part(context, chat_id, part, markup if last else None, previews)


SEND_ATTEMPTS, RETRY_PAUSE_S = 3, 0.5


async def _send_part(
    context: ContextTypes.DEFAULT_TYPE,
    chat_id: int,
    text: str,
    markup: InlineKeyboardMarkup | None,
    previews: LinkPreviewOptions | None = None,
) -> None:
    """One message, sent again after a 5xx or a failed connection (the Bot API did not take it).
    A read timeout is not retried: the Bot API may have delivered the message, and a reply the
    user sees twice is worse than a late one (429s are waited out by the rate limiter)."""
    for attempt in range(1, SEND_ATTEMPTS + 1):
        try:
            await context.bot.send_message(
                chat_id, text, parse_mode=ParseMode.HTML, reply_markup=markup, link_preview_options=previews
            )
            return
        except TimedOut as exc:
            if not isinstance(exc.__cause__, httpx.ConnectTimeout | httpx.PoolTimeout):
                log.warning("a reply to chat %s timed out after it was sent; not sending it again", chat_id)
                return
            if attempt == SEND_ATTEMPTS:
                raise
        except BadRequest:  # a NetworkError in PTB's tree, but sending it again cannot help
            raise
        except NetworkError:
            if attempt == SEND_ATTEMPTS:
                raise
        await asyncio.sleep(RETRY_PAUSE_S * attempt)


TYPING_AFTER_S = 0.5
_typing_tasks: set[asyncio.Task[None]] = set()


async def while_typing(context: ContextTypes.DEFAULT_TYPE, chat_id: int, work: Awaitable[T]) -> T:
    """Await `work`; if it is not done within TYPING_AFTER_S, show "typing…" once, on the side:
    the indicator's failure, 429 or slowness never delays or loses what `work` produces."""
    task = asyncio.ensure_future(work)
    done, _ = await asyncio.wait({task}, timeout=TYPING_AFTER_S)
    if not done:
        typing = asyncio.create_task(_show_typing(context, chat_id))
        _typing_tasks.add(typing)  # the loop keeps only weak references to tasks
        typing.add_done_callback(_typing_tasks.discard)
    return await task


async def _show_typing(context: ContextTypes.DEFAULT_TYPE, chat_id: int) -> None:
    try:
        await context.bot.send_chat_action(chat_id, ChatAction.TYPING)
    except TelegramError as exc:
        log.info("typing indicator for chat %s failed: %s", chat_id, type(exc).__name__)


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


async def private_chat(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """Where a person's lists, histories and exports go (bot.privacy): their private chat. Asked in
    a group, the group is told where the answer went."""
    assert update.effective_chat is not None and update.effective_user is not None
    if update.effective_chat.type != "private":
        await send_html(context, update.effective_chat.id, html.escape(privacy.GROUP_NOTE, quote=False))
    return update.effective_user.id


async def send_overview(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    waiting_note: str | None,
    mine: tuple[str, InlineKeyboardMarkup | None] | None,
    nothing: str,
) -> None:
    """A list command's reply, in the private chat: a note that cards for what awaits the person
    follow (they come from the outbox), then the person's own items, or `nothing`."""
    chat_id = await private_chat(update, context)
    if waiting_note is None and mine is None:
        await send_html(context, chat_id, html.escape(nothing, quote=False))
    if waiting_note is not None:
        await send_html(context, chat_id, waiting_note)
    if mine is not None:
        await send_html(context, chat_id, *mine)


async def show_form(
    update: Update, context: ContextTypes.DEFAULT_TYPE, flow: FormFlow, form_id: int, edit: bool
) -> None:
    """The form at its current step, as Telegram shows it: replacing the pressed message (edit) or
    as a new one."""
    found = services(context)

    def load() -> tuple[str, InlineKeyboardMarkup | None]:
        with found.database.session() as session:
            return view_html(flow.screen(session, found, form_id))

    text, markup = await blocking(load)
    await show(update, context, text, markup, edit)


def form_command(flow: FormFlow, private_hint: str) -> Handler:
    """A /command that starts or resumes a person's form in a private chat and shows its current step."""

    @registered_only
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_user is not None and update.effective_chat is not None
        if update.effective_chat.type != "private":
            await tell(update, context, private_hint)
            return

        user_id = update.effective_user.id
        form_id = await command(context, lambda session: flow.open(session, require_person(session, user_id)))
        await show_form(update, context, flow, form_id, False)

    return start


def prompt_route(
    flow: FormFlow, reply: TextReply
) -> Callable[[Update, ContextTypes.DEFAULT_TYPE, Person, PendingInput, str], Awaitable[None]]:
    """A feature's typed answers in Telegram (handlers.inputs routes them here): `reply` takes the
    text (a form field, a reason, a report); the form's next step or what it says is shown."""

    async def on_text(
        update: Update, context: ContextTypes.DEFAULT_TYPE, person: Person, pending: PendingInput, text: str
    ) -> None:
        assert update.effective_chat is not None
        found = services(context)

        def work(session: Session) -> str | None:
            actor = session.get(Person, person.id)
            assert actor is not None
            return reply(session, found, actor, pending, text)

        told = await command(context, work)
        if told is None:
            await show_form(update, context, flow, pending.target_id, edit=False)
        else:
            await send_html(context, update.effective_chat.id, html.escape(told, quote=False))

    return on_text


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log the traceback with the update's kind and ids only (never what people wrote); tell the
    user briefly; stop the update so no later handler (Q&A) also takes it."""
    if isinstance(context.error, Forbidden):
        log.info("a private chat is closed to the bot while handling %s", describe(update))
        message = NO_PRIVATE_CHAT
    else:
        log.error("unhandled error while handling %s", describe(update), exc_info=context.error)
        message = APOLOGY
    if isinstance(update, Update):
        try:
            if update.callback_query:
                await update.callback_query.answer(message, show_alert=True)
            elif update.effective_chat:
                await context.bot.send_message(update.effective_chat.id, message)
        except Exception:  # the apology itself failed (e.g. the network is down); the log has the cause
            log.exception("could not tell the user about the error")
    raise ApplicationHandlerStop


def describe(update: object) -> str:
    """An update as kind and ids, for logs: reasons and questions stay out of them."""
    if not isinstance(update, Update):
        return type(update).__name__
    kind = "callback" if update.callback_query else "message" if update.message else "update"
    chat = update.effective_chat.id if update.effective_chat else None
    user = update.effective_user.id if update.effective_user else None
    return f"{kind} update {update.update_id} (chat {chat}, user {user})"
