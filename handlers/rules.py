"""Browsing the rules: /rules (books, chapters, articles by buttons) and /article 50."""

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, ContextTypes

from handlers import render
from handlers.common import edit_html, explains_domain_errors, send_html, services, tell

USAGE = "请写明条号，例如：/article 50 或 /article 第五十条"


async def browse(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/rules: the table of contents (of each rulebook if there are several)."""
    assert update.effective_chat is not None
    books = services(context).library.by_id
    if len(books) == 1:
        rulebook_id, book = next(iter(books.items()))
        text, markup = render.chapters_message(rulebook_id, book)
    else:
        text, markup = render.rulebooks_message(books)
    await send_html(context, update.effective_chat.id, text, markup)


@explains_domain_errors
async def show_article(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/article 50 or /article 第五十条: one article in full."""
    assert update.effective_chat is not None
    if not context.args:
        await tell(update, context, USAGE)
        return
    for view in services(context).library.find(" ".join(context.args)):
        await send_html(context, update.effective_chat.id, render.article_message(view))


@explains_domain_errors
async def open_book(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Button: show a rulebook's chapters in place of the current list."""
    query = update.callback_query
    assert query is not None and query.data is not None
    rulebook_id = int(query.data.split(":")[1])
    text, markup = render.chapters_message(rulebook_id, services(context).library.book(rulebook_id))
    # Edit before answering: whoever acts on the answer must find the new list in place.
    await edit_html(update, text, markup)
    await query.answer()


@explains_domain_errors
async def open_chapter(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Button: show a chapter's articles in place of the current list."""
    query = update.callback_query
    assert query is not None and query.data is not None
    _, rulebook_id, number = query.data.split(":")
    book = services(context).library.book(int(rulebook_id))
    if not 1 <= int(number) <= len(book.chapters):
        await tell(update, context, "这一章不存在。")
        return
    text, markup = render.chapter_message(int(rulebook_id), book, int(number))
    await edit_html(update, text, markup)
    await query.answer()


@explains_domain_errors
async def chapter_full_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Button: send a whole chapter's text (split into parts if long)."""
    query = update.callback_query
    assert query is not None and query.data is not None and query.message is not None
    _, rulebook_id, number = query.data.split(":")
    book = services(context).library.book(int(rulebook_id))
    if not 1 <= int(number) <= len(book.chapters):
        await tell(update, context, "这一章不存在。")
        return
    await query.answer()
    await send_html(context, query.message.chat.id, render.chapter_text(book, int(number)))


def build_handlers() -> list[BaseHandler]:
    return [
        CommandHandler("rules", browse),
        CommandHandler("article", show_article),
        CallbackQueryHandler(open_book, pattern=r"^book:\d+$"),
        CallbackQueryHandler(open_chapter, pattern=r"^ch:\d+:\d+$"),
        CallbackQueryHandler(chapter_full_text, pattern=r"^chtext:\d+:\d+$"),
    ]
