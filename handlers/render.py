"""All rendering for Telegram in one place: HTML escaping, message splitting, keyboards.

Messages are HTML (parse_mode=HTML). Everything that came from a user or from the rules is
escaped here; nothing else in handlers builds markup by hand.
"""

import html
import re
from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.db import aware
from bot.qa.actions import LABEL as ACTION_LABEL
from bot.qa.library import ArticleView
from bot.qa.service import LoggedAnswer, QuestionStats
from bot.views import Line, Strong, View
from handlers.callbacks import (
    ActionButton,
    ArticleButton,
    BookButton,
    ChapterButton,
    ChapterTextButton,
    FeedbackButton,
    RelatedButton,
)
from knowledge import Rulebook
from retrieval.answer import DECLINE_TEXT, TENTATIVE_TEXT, applies_text, missing_detail_text

MAX_MESSAGE = 4096
_TAG = re.compile(r"<(/?)([a-z-]+)[^>]*>")


def escape(text: str) -> str:
    return html.escape(text, quote=False)


def bold(text: str) -> str:
    return f"<b>{escape(text)}</b>"


def split_html(text: str, limit: int = MAX_MESSAGE) -> list[str]:
    """Split Telegram HTML into parts of at most `limit` characters, each valid on its own.

    Cuts fall on line breaks where possible; a tag open at a cut is closed at the end of the part
    and reopened at the start of the next, and an entity (&amp;) is never cut.
    """
    parts: list[str] = []
    while len(text) > limit:
        cut = _cut_position(text, limit - 64)
        head, tail = text[:cut], text[cut:]
        open_tags = _open_tags(head)
        parts.append(head + "".join(f"</{name}>" for name, _ in reversed(open_tags)))
        text = "".join(tag for _, tag in open_tags) + tail.lstrip("\n")
    if text:
        parts.append(text)
    return parts


def _cut_position(text: str, budget: int) -> int:
    """The last line break within budget, else the last safe character boundary."""
    newline = text.rfind("\n", 0, budget)
    if newline > budget // 2:
        return newline + 1
    cut = budget
    # Never cut inside a tag or an entity.
    last_lt, last_gt = text.rfind("<", 0, cut), text.rfind(">", 0, cut)
    if last_lt > last_gt:
        cut = last_lt
    last_amp, last_semi = text.rfind("&", 0, cut), text.rfind(";", 0, cut)
    if last_amp > last_semi:
        cut = last_amp
    return cut


def _open_tags(fragment: str) -> list[tuple[str, str]]:
    stack: list[tuple[str, str]] = []
    for match in _TAG.finditer(fragment):
        closing, name = match.group(1), match.group(2)
        if closing:
            if stack and stack[-1][0] == name:
                stack.pop()
        else:
            stack.append((name, match.group(0)))
    return stack


def local_time(moment: datetime, zone: ZoneInfo) -> datetime:
    """A stored time in the office's time zone."""
    return aware(moment).astimezone(zone)


def keyboard(rows: Sequence[Sequence[tuple[str, str]]]) -> InlineKeyboardMarkup:
    """An inline keyboard from rows of (label, callback data)."""
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=data) for label, data in row] for row in rows]
    )


def line_html(line: Line) -> str:
    """A view's line as HTML: its label, then its spans (Strong in bold), everything escaped."""
    spans = "".join(bold(s.text) if isinstance(s, Strong) else escape(s) for s in line.spans)
    return f"{escape(line.label)}：{spans}" if line.label else spans


def lines_html(lines: Sequence[Line]) -> str:
    return "\n".join(line_html(line) for line in lines)


def view_html(view: View) -> tuple[str, InlineKeyboardMarkup | None]:
    """A channel-neutral card or notice as Telegram sends it: HTML, and its buttons as a keyboard
    whose callback data are the buttons' packed actions."""
    rows = [[(b.label, b.action.pack()) for b in row] for row in view.buttons]
    return lines_html(view.lines), keyboard(rows) if rows else None


# ----- rules Q&A ---------------------------------------------------------------------------------


def answer_message(logged: LoggedAnswer, show_question: bool) -> str:
    answer = logged.answer
    lines = [f"❓ {escape(answer.question)}", ""] if show_question else []
    quotes = [f"<blockquote>{escape(q.quoted)}</blockquote>\n—— {bold(q.citation.text)}" for q in answer.quotes]
    if answer.declined:
        if answer.missing_detail is not None:
            return "\n".join([*lines, escape(missing_detail_text(answer.missing_detail, bool(quotes))), *quotes])
        return "\n".join([*lines, escape(DECLINE_TEXT)])
    if answer.tentative:
        further = ["其他可能相关的条文见下方按钮。"] if logged.offered else []
        return "\n".join([*lines, escape(TENTATIVE_TEXT), *quotes, *further])
    if logged.office_note is not None:
        lines.append(f"🏛 {bold('办公室答复')}" + (f"：{escape(logged.office_note)}" if logged.office_note else ""))
        lines.append("")
    if answer.applies_to:
        lines.append(bold(escape(applies_text(answer.applies_to))))
    if answer.books_note:
        lines.append(bold(escape(answer.books_note)))
    if answer.generated_text:
        lines.append(escape(answer.generated_text))
        lines.append("")
    return "\n".join([*lines, *quotes])


def answer_keyboard(logged: LoggedAnswer, private: bool) -> InlineKeyboardMarkup | None:
    """📄 for each quoted article (and a hedge's further ones), the workflow the answer leads to
    (forms are filled in private chats only), then 🔗 and the votes."""
    votes = [("👍", FeedbackButton(logged.log_id, "1").pack()), ("👎", FeedbackButton(logged.log_id, "-1").pack())]
    articles = [(f"📄 {v.article.label}全文", article_callback(v)) for v in logged.cited]
    articles += [(f"📄 {v.article.label}", article_callback(v)) for v in logged.offered]
    actions = [(ACTION_LABEL[a], ActionButton(logged.log_id, a.value).pack()) for a in logged.actions if private]
    if logged.answer.related and not logged.answer.tentative:
        votes.insert(0, ("🔗 相关条文", RelatedButton(logged.log_id).pack()))
    return keyboard([row for row in (articles, actions, votes) if row])


def article_callback(view: ArticleView) -> str:
    return ArticleButton(view.rulebook_id, view.article.number).pack()


def article_message(view: ArticleView) -> str:
    body = "\n".join(escape(p.full_text) for p in view.article.paragraphs)
    if view.superseded:
        return f"📜 旧版（已被替代，仅供对照）\n{bold(view.citation)}\n\n{body}"
    hint = ""
    if view.changed_since is not None:
        number = view.article.number
        hint = f"\n\n修订前的{escape(view.changed_since.cited_title)}本条不同：/article {number} 旧版"
    return f"{bold(view.citation)}\n\n{body}{hint}"


def related_message(views: Sequence[ArticleView]) -> str:
    if not views:
        return "没有其他相关条文。"
    return "🔗 相关条文：\n" + "\n".join(f"• {escape(v.citation)}" for v in views)


def related_keyboard(views: Sequence[ArticleView]) -> InlineKeyboardMarkup | None:
    if not views:
        return None
    return keyboard([[(f"📄 {v.article.label}", article_callback(v))] for v in views])


# ----- browsing ----------------------------------------------------------------------------------


def rulebooks_message(books: dict[int, Rulebook]) -> tuple[str, InlineKeyboardMarkup]:
    text = "📚 规则库，请选择："
    rows = [[(f"《{book.title}》", BookButton(rid).pack())] for rid, book in books.items()]
    return text, keyboard(rows)


def chapters_message(rulebook_id: int, book: Rulebook) -> tuple[str, InlineKeyboardMarkup]:
    facts = [f"📚 {bold('《' + book.title + '》')}"]
    if book.doc_number:
        facts.append(f"文号：{escape(book.doc_number)}")
    if book.issued_on:
        facts.append(f"印发：{book.issued_on.year}年{book.issued_on.month}月{book.issued_on.day}日")
    facts.append(f"共 {len(book.chapters)} 章 {len(book.articles)} 条，请选择章：")
    rows = [
        [
            (
                f"{c.heading}（{c.articles[0].number}–{c.articles[-1].number}）",
                ChapterButton(rulebook_id, c.number).pack(),
            )
        ]
        for c in book.chapters
    ]
    return "\n".join(facts), keyboard(rows)


def chapter_message(rulebook_id: int, book: Rulebook, chapter_number: int) -> tuple[str, InlineKeyboardMarkup]:
    chapter = book.chapters[chapter_number - 1]
    text = f"{bold(chapter.heading)}\n请选择条文："
    buttons = [(a.label, ArticleButton(rulebook_id, a.number).pack()) for a in chapter.articles]
    rows = [buttons[i : i + 4] for i in range(0, len(buttons), 4)]
    back = ("⬅️ 返回目录", BookButton(rulebook_id).pack())
    rows.append([("📖 本章全文", ChapterTextButton(rulebook_id, chapter_number).pack()), back])
    return text, keyboard(rows)


def chapter_text(book: Rulebook, chapter_number: int) -> str:
    chapter = book.chapters[chapter_number - 1]
    articles = [f"{bold(a.label)} " + "\n".join(escape(p.full_text) for p in a.paragraphs) for a in chapter.articles]
    return f"{bold('《' + book.title + '》' + chapter.heading)}\n\n" + "\n\n".join(articles)


# ----- admin -------------------------------------------------------------------------------------


def stats_message(stats: QuestionStats, days: int) -> str:
    lines = [
        bold(f"📊 近 {days} 天问答统计"),
        f"提问 {stats.total} 次，未能作答 {stats.declined} 次（{stats.decline_rate:.0%}），"
        f"只给出可能相关条文 {stats.tentative} 次",
        f"平均响应 {stats.mean_latency_ms:.0f} 毫秒；👍 {stats.thumbs_up}  👎 {stats.thumbs_down}",
    ]
    if stats.disliked:
        lines += ["", bold("👎 的回答："), *(f"• {escape(q)}" for q in stats.disliked)]
    if stats.top_unanswered:
        lines += ["", bold("未能作答的高频问题："), *(f"• {escape(q)}（{n} 次）" for q, n in stats.top_unanswered)]
    return "\n".join(lines)
