"""Rules Q&A: text in a private chat, /ask or a mention in a group, and the buttons under answers."""

from sqlalchemy.orm import Session
from telegram import MessageEntity, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, ContextTypes, MessageHandler, filters

from bot import plaintext
from bot.errors import InvalidInput
from bot.qa import actions, service
from bot.roster import require_person
from handlers import leave as leave_handlers
from handlers import render
from handlers import topics as topic_handlers
from handlers.callbacks import ActionButton, ArticleButton, FeedbackButton, FeedbackReasonButton, RelatedButton
from handlers.common import (
    blocking,
    button,
    command,
    edit_html,
    explains_domain_errors,
    send_html,
    services,
    show_form,
    tell,
    while_typing,
)
from handlers.features import Feature

WHY_NOT = "这个回答哪里不好？（可选，选一项即可）"
USAGE = "请在 /ask 后面写上问题，例如：/ask 副区长离包外出要向谁请示？"
NOTHING_TO_ASK = (
    "请用一句话写下您的问题，例如：副区长离包外出要向谁请示？\n"
    "我依据《昆都仑区人民政府工作规则》回答并注明条文；发送 /help 查看请假、议题等全部功能。"
)


async def _answer(update: Update, context: ContextTypes.DEFAULT_TYPE, text: str) -> None:
    chat, user = update.effective_chat, update.effective_user
    assert chat is not None and user is not None
    question = plaintext.clean(text)
    if not plaintext.has_words(question):
        await tell(update, context, NOTHING_TO_ASK)
        return
    found = services(context)

    def work() -> service.LoggedAnswer:
        with found.database.session() as session:
            if not found.settings.unbound_can_ask:
                require_person(session, user.id)
            return service.answer_question(session, found.rules_engine, found.library, user.id, chat.id, question)

    logged = await while_typing(context, chat.id, blocking(work))
    show_question = chat.type != chat.PRIVATE or len(question) > 40
    private = chat.type == chat.PRIVATE
    keyboard = render.answer_keyboard(logged, private)
    await send_html(context, chat.id, render.answer_message(logged, show_question), keyboard)


@explains_domain_errors
async def ask_in_private(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Treat any text in a private chat as a question."""
    assert update.message is not None
    await _answer(update, context, update.message.text or "")


@explains_domain_errors
async def ask_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/ask 问题: ask in a group (or anywhere)."""
    question = " ".join(context.args or [])
    if not plaintext.clean(question):
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
    question = message.text.replace(mention, " ")
    if not plaintext.clean(question):
        await tell(update, context, USAGE)
        return
    await _answer(update, context, question)


@button(ArticleButton)
async def show_article(update: Update, context: ContextTypes.DEFAULT_TYPE, data: ArticleButton) -> None:
    """📄 button: send an article's full text (pressing again simply sends it again)."""
    assert update.effective_chat is not None
    view = services(context).library.article(data.rulebook_id, data.number)
    await send_html(context, update.effective_chat.id, render.article_message(view))


@button(RelatedButton)
async def show_related(update: Update, context: ContextTypes.DEFAULT_TYPE, data: RelatedButton) -> None:
    """🔗 button: list the further articles retrieval ranked for the question."""
    assert update.effective_chat is not None and update.effective_user is not None
    found, user_id, chat_id = services(context), update.effective_user.id, update.effective_chat.id
    views = await command(
        context, lambda session: service.related_articles(session, found.library, data.log_id, user_id, chat_id)
    )
    await send_html(context, update.effective_chat.id, render.related_message(views), render.related_keyboard(views))


@button(ActionButton)
async def start_workflow(update: Update, context: ContextTypes.DEFAULT_TYPE, data: ActionButton) -> str | None:
    """📝 / 📋 / ⏰ under an answer (private chats only): the workflow the cited article leads to,
    filled from the question where it can be."""
    assert update.effective_user is not None and update.effective_chat is not None
    if update.effective_chat.type != update.effective_chat.PRIVATE:
        raise InvalidInput("请在与我的私聊中办理。")
    try:
        action = actions.Action(data.action)
    except ValueError:
        raise InvalidInput("这个按钮已失效。") from None
    user_id, today = update.effective_user.id, services(context).clock.today()

    def work(session: Session) -> int | None:
        question = service.asked_by(session, data.log_id, user_id)
        person = require_person(session, user_id)
        if action == actions.Action.LEAVE:
            return actions.open_leave_form(session, person, question, today)
        if action == actions.Action.TOPIC:
            return actions.open_topic_form(session, person, question)
        return None

    form_id = await command(context, work)
    if form_id is None:
        await send_html(context, update.effective_chat.id, render.escape(actions.DEADLINE_HOW))
    else:
        flow = leave_handlers.FORM_FLOW if action == actions.Action.LEAVE else topic_handlers.FORM_FLOW
        await show_form(update, context, flow, form_id, edit=False)
    return None


@button(FeedbackButton)
async def give_feedback(update: Update, context: ContextTypes.DEFAULT_TYPE, data: FeedbackButton) -> str:
    """👍/👎 buttons: record the asker's opinion of an answer (👎 then asks why, optionally)."""
    assert update.effective_user is not None and update.effective_chat is not None
    if data.value not in ("1", "-1"):
        raise InvalidInput("这个按钮已失效。")
    user_id = update.effective_user.id

    def work(session: Session) -> bool:
        return service.record_feedback(session, data.log_id, user_id, int(data.value))

    if not await command(context, work):
        return "已经记录过了。"
    if data.value == "-1":
        reasons = [
            (label, FeedbackReasonButton(data.log_id, key).pack()) for key, label in service.FEEDBACK_REASONS.items()
        ]
        await send_html(context, update.effective_chat.id, WHY_NOT, render.keyboard([reasons]))
    return "已记录 👎，谢谢反馈。" if data.value == "-1" else "已记录 👍，谢谢反馈。"


@button(FeedbackReasonButton)
async def give_reason(update: Update, context: ContextTypes.DEFAULT_TYPE, data: FeedbackReasonButton) -> str:
    """The optional reason for a 👎."""
    assert update.effective_user is not None
    user_id = update.effective_user.id
    await command(context, lambda session: service.record_feedback_reason(session, data.log_id, user_id, data.reason))
    label = service.FEEDBACK_REASONS[data.reason]
    await edit_html(update, f"已记录：{label}。谢谢，办公室会查看这个问题。")
    return "已记录"


def build_handlers() -> list[BaseHandler]:
    return [
        CommandHandler("ask", ask_command),
        MessageHandler(filters.ChatType.PRIVATE & filters.TEXT & ~filters.COMMAND, ask_in_private),
        MessageHandler(
            filters.ChatType.GROUPS & filters.TEXT & ~filters.COMMAND & filters.Entity(MessageEntity.MENTION),
            ask_by_mention,
        ),
        CallbackQueryHandler(show_article, pattern=ArticleButton.matches),
        CallbackQueryHandler(show_related, pattern=RelatedButton.matches),
        CallbackQueryHandler(start_workflow, pattern=ActionButton.matches),
        CallbackQueryHandler(give_feedback, pattern=FeedbackButton.matches),
        CallbackQueryHandler(give_reason, pattern=FeedbackReasonButton.matches),
    ]


FEATURE = Feature(
    name="qa",
    handlers=build_handlers,
    buttons=(ArticleButton, RelatedButton, ActionButton, FeedbackButton, FeedbackReasonButton),
)
