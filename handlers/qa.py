"""Rules Q&A: text in a private chat, /ask or a mention in a group, and the buttons under answers."""

from telegram import MessageEntity, Update
from telegram.constants import ChatAction
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, ContextTypes, MessageHandler, filters

from bot.qa import service
from bot.roster import require_person
from handlers import render
from handlers.common import blocking, explains_domain_errors, send_html, services, tell

USAGE = "请在 /ask 后面写上问题，例如：/ask 副区长离包外出要向谁请示？"


async def _answer(update: Update, context: ContextTypes.DEFAULT_TYPE, question: str) -> None:
    chat, user = update.effective_chat, update.effective_user
    assert chat is not None and user is not None
    found = services(context)

    def work() -> service.LoggedAnswer:
        with found.database.session() as session:
            if not found.settings.unbound_can_ask:
                require_person(session, user.id)
            return service.answer_question(session, found.rules_engine, found.library, user.id, chat.id, question)

    await context.bot.send_chat_action(chat.id, ChatAction.TYPING)
    logged = await blocking(work)
    show_question = chat.type != chat.PRIVATE or len(question) > 40
    await send_html(context, chat.id, render.answer_message(logged, show_question), render.answer_keyboard(logged))


@explains_domain_errors
async def ask_in_private(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Treat any text in a private chat as a question."""
    assert update.message is not None and update.message.text is not None
    await _answer(update, context, update.message.text.strip())


@explains_domain_errors
async def ask_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/ask 问题: ask in a group (or anywhere)."""
    question = " ".join(context.args or []).strip()
    if not question:
        await tell(update, context, USAGE)
        return
    await _answer(update, context, question)


@explains_domain_errors
async def ask_by_mention(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A group message that mentions the bot is a question."""
    message = update.message
    assert message is not None and message.text is not None
    mention = f"@{context.bot.username}"
    mentions = message.parse_entities([MessageEntity.MENTION]).values()
    if not any(m.lower() == mention.lower() for m in mentions):
        return
    question = message.text.replace(mention, " ").strip()
    if not question:
        await tell(update, context, USAGE)
        return
    await _answer(update, context, question)


@explains_domain_errors
async def show_article(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """📄 button: send an article's full text (pressing again simply sends it again)."""
    query = update.callback_query
    assert query is not None and query.data is not None and query.message is not None
    _, rulebook_id, number = query.data.split(":")
    view = services(context).library.article(int(rulebook_id), int(number))
    await query.answer()
    await send_html(context, query.message.chat.id, render.article_message(view))


@explains_domain_errors
async def show_related(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """🔗 button: list the further articles retrieval ranked for the question."""
    query = update.callback_query
    assert query is not None and query.data is not None and query.message is not None
    log_id = int(query.data.split(":")[1])
    found = services(context)

    def work():
        with found.database.session() as session:
            return service.related_articles(session, found.library, log_id)

    views = await blocking(work)
    await query.answer()
    await send_html(context, query.message.chat.id, render.related_message(views), render.related_keyboard(views))


@explains_domain_errors
async def give_feedback(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """👍/👎 buttons: record the asker's opinion of an answer."""
    query = update.callback_query
    assert query is not None and query.data is not None
    _, log_id, value = query.data.split(":")

    def work() -> bool:
        with services(context).database.session() as session:
            return service.record_feedback(session, int(log_id), query.from_user.id, int(value))

    changed = await blocking(work)
    await query.answer("谢谢反馈，已记录。" if changed else "已经记录过了。")


def build_handlers() -> list[BaseHandler]:
    return [
        CommandHandler("ask", ask_command),
        MessageHandler(filters.ChatType.PRIVATE & filters.TEXT & ~filters.COMMAND, ask_in_private),
        MessageHandler(filters.ChatType.GROUPS & filters.TEXT & filters.Entity(MessageEntity.MENTION), ask_by_mention),
        CallbackQueryHandler(show_article, pattern=r"^art:\d+:\d+$"),
        CallbackQueryHandler(show_related, pattern=r"^rel:\d+$"),
        CallbackQueryHandler(give_feedback, pattern=r"^fb:\d+:-?1$"),
    ]
