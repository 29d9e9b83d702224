"""The delivery loop's Telegram side (bot.delivery.Channel): recipients are chats, views are HTML
with inline keyboards (handlers.render.view_html), and the Bot API's errors become the loop's
outcomes: 429 waits, 5xx and lost connections retry, 403 and permanent 400s are refused for good,
a timeout after the request left may have been delivered."""

from datetime import timedelta
from typing import NoReturn

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session
from telegram import Bot
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut

from bot.config import Settings
from bot.db import Person
from bot.delivery import MaybeSent, Refused, RetryLater, SendFailed
from bot.views import View
from bot.workflow.outbox import Recipient, parse_recipient
from handlers.render import view_html


class TelegramChannel:
    def __init__(self, bot: Bot, settings: Settings) -> None:
        self.bot, self.settings = bot, settings

    def address(self, session: Session, recipient: Recipient) -> int | None:
        kind, ref = parse_recipient(recipient)
        if kind == "person" and ref.isdigit():
            person = session.get(Person, int(ref))
            return person.telegram_user_id if person is not None else None
        if kind == "group":
            return self.settings.groups.get(ref)
        try:
            return int(ref) if kind == "chat" else None
        except ValueError:
            return None

    def describe(self, session: Session, recipient: Recipient) -> str:
        """A chat by its id: a roster person's private chat, the group configured with it, else the id."""
        chat_id = self.address(session, recipient)
        person = session.scalar(select(Person).where(Person.telegram_user_id == chat_id)) if chat_id else None
        if person is not None:
            return f"{person.name}（{person.position}）的私聊"
        group = next((name for name, chat in self.settings.groups.items() if chat == chat_id), None)
        if group is not None:
            return self.settings.group_label(group)
        return f"未登记的会话（编号 {chat_id if chat_id is not None else parse_recipient(recipient)[1]}）"

    async def send(self, address: int, view: View) -> str:
        text, markup = view_html(view)
        try:
            message = await self.bot.send_message(address, text, parse_mode=ParseMode.HTML, reply_markup=markup)
        except TelegramError as error:
            _failed(error)
        return str(message.message_id)

    async def edit(self, address: int, handle: str, view: View) -> str:
        text, markup = view_html(view)
        try:
            await self.bot.edit_message_text(
                text, chat_id=address, message_id=int(handle), parse_mode=ParseMode.HTML, reply_markup=markup
            )
        except BadRequest as error:
            if "not modified" not in error.message.lower():  # already showing this: done
                _failed(error)
        except TelegramError as error:
            _failed(error)
        return handle


def _failed(error: TelegramError) -> NoReturn:
    """The Bot API's error as the delivery loop's outcome."""
    if isinstance(error, RetryAfter):
        wait = error.retry_after if isinstance(error.retry_after, int | float) else error.retry_after.total_seconds()
        raise RetryLater(f"429 retry after {wait}", retry_after=timedelta(seconds=wait)) from error
    if isinstance(error, Forbidden):
        raise Refused(f"403: {error.message}") from error
    if isinstance(error, BadRequest):
        raise Refused(f"400: {error.message}") from error
    if isinstance(error, TimedOut):
        if isinstance(error.__cause__, httpx.ConnectTimeout | httpx.PoolTimeout):
            raise RetryLater("timeout before sending") from error
        raise MaybeSent("timeout: the Bot API may have accepted it") from error
    if isinstance(error, NetworkError):
        raise RetryLater(f"network: {error.message}") from error
    raise SendFailed(str(error)) from error
