"""/stats for admins: question volume, declines, disliked answers, top unanswered questions."""

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler, ContextTypes

from bot.qa.service import QuestionStats, question_stats
from bot.roster import require_admin
from handlers import render
from handlers.common import blocking, private_chat, registered_only, send_html, services
from handlers.features import Feature

DAYS = 30


@registered_only
async def stats(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/stats: the last 30 days of questions (admins only)."""
    user, chat = update.effective_user, update.effective_chat
    assert user is not None and chat is not None

    def work() -> QuestionStats:
        with services(context).database.session() as session:
            require_admin(session, user.id)
            return question_stats(session, DAYS)

    message = render.stats_message(await blocking(work), DAYS)
    await send_html(context, await private_chat(update, context), message)


def build_handlers() -> list[BaseHandler]:
    return [CommandHandler("stats", stats)]


FEATURE = Feature(name="admin", handlers=build_handlers)
