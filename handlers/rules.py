"""Browsing the rules: /rules (books, chapters, articles by buttons) and /article 50."""

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, ContextTypes

from bot.errors import NotFound
from handlers import render
from handlers.callbacks import BookButton, ChapterButton, ChapterTextButton
from handlers.common import button, edit_html, explains_domain_errors, send_html, services, tell
from handlers.features import Feature

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


@button(BookButton)
async def open_book(update: Update, context: ContextTypes.DEFAULT_TYPE, data: BookButton) -> None:
    """Button: show a rulebook's chapters in place of the current list."""
    text, markup = render.chapters_message(data.rulebook_id, services(context).library.book(data.rulebook_id))
    await edit_html(update, text, markup)


@button(ChapterButton)
async def open_chapter(update: Update, context: ContextTypes.DEFAULT_TYPE, data: ChapterButton) -> None:
    """Button: show a chapter's articles in place of the current list."""
    book = services(context).library.book(data.rulebook_id)
    _require_chapter(len(book.chapters), data.number)
    text, markup = render.chapter_message(data.rulebook_id, book, data.number)
    await edit_html(update, text, markup)


@button(ChapterTextButton)
async def chapter_full_text(update: Update, context: ContextTypes.DEFAULT_TYPE, data: ChapterTextButton) -> None:
    """Button: send a whole chapter's text (split into parts if long)."""
    assert update.effective_chat is not None
    book = services(context).library.book(data.rulebook_id)
    _require_chapter(len(book.chapters), data.number)
    await send_html(context, update.effective_chat.id, render.chapter_text(book, data.number))


def _require_chapter(chapters: int, number: int) -> None:
    if not 1 <= number <= chapters:
        raise NotFound("这一章不存在。")


def build_handlers() -> list[BaseHandler]:
    return [
        CommandHandler("rules", browse),
        CommandHandler("article", show_article),
        CallbackQueryHandler(open_book, pattern=BookButton.matches),
        CallbackQueryHandler(open_chapter, pattern=ChapterButton.matches),
        CallbackQueryHandler(chapter_full_text, pattern=ChapterTextButton.matches),
    ]


FEATURE = Feature(
    name="rules",
    handlers=build_handlers,
    buttons=(BookButton, ChapterButton, ChapterTextButton),
)
