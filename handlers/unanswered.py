"""The unanswered-question loop in chat: /unanswered for admins (paged, grouped, with counts), the
答复 button and the typed answer, and the notice that tells each asker (bot.qa.curated).

| state                 | what the admin sees                              | next                        |
|-----------------------|--------------------------------------------------|-----------------------------|
| /unanswered, page N   | groups of similar questions, 答复 per group, ◀ ▶ | 答复 -> awaiting the answer |
| awaiting the answer   | "请输入……的答复：先写条号，再写说明"               | text -> answered (or /cancel) |
"""

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session
from telegram import InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, ContextTypes

from bot.calendar.labels import month_day
from bot.db import CuratedAnswer, PendingInput, Person, QuestionLog
from bot.qa import curated
from bot.roster import require_admin, require_person
from bot.views import Button, View, notice
from bot.workflow.context import WorkContext
from bot.workflow.models import OutboxMessage
from handlers.callbacks import ArticleButton, CallbackData
from handlers.common import button, command, edit_html, private_chat, registered_only, send_html, services
from handlers.features import Feature
from handlers.render import bold, escape, keyboard, local_time

PAGE_SIZE = 5
SHOWN_CHARS = 100  # of each question: a page must stay one message


@dataclass(frozen=True)
class PageButton(CallbackData, prefix="uq"):
    """A page of the unanswered queue."""

    page: int


@dataclass(frozen=True)
class ReplyButton(CallbackData, prefix="ua"):
    """答复: answer the group of question `log_id` (drawn at `version`)."""

    log_id: int
    version: int


def _page(groups: list[curated.QueueGroup], page: int, zone: ZoneInfo) -> tuple[str, InlineKeyboardMarkup | None]:
    pages = max(1, -(-len(groups) // PAGE_SIZE))
    page = min(max(page, 0), pages - 1)
    shown = groups[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
    if not shown:
        return "没有待答复的问题。", None
    lines = [bold(f"❔ 待办公室答复的问题（{len(groups)} 组，第 {page + 1}/{pages} 页）")]
    rows = []
    for number, group in enumerate(shown, start=page * PAGE_SIZE + 1):
        when = month_day(local_time(group.asked_at, zone).date())
        question = group.question if len(group.question) <= SHOWN_CHARS else group.question[:SHOWN_CHARS] + "…"
        revised = "（已答复，但所依据的条文已修订，请重新答复）" if group.revised else ""
        lines.append(f"{number}. {escape(question)}（{group.count} 次，最近 {when}）{revised}")
        rows.append([(f"答复 {number}", ReplyButton(group.log_id, group.version).pack())])
    paging = [("◀ 上一页", PageButton(page - 1).pack())] if page > 0 else []
    paging += [("下一页 ▶", PageButton(page + 1).pack())] if page + 1 < pages else []
    return "\n".join(lines), keyboard([*rows, paging] if paging else rows)


async def _load_page(
    context: ContextTypes.DEFAULT_TYPE, user_id: int, page: int
) -> tuple[str, InlineKeyboardMarkup | None]:
    found = services(context)

    def work(session: Session) -> tuple[str, InlineKeyboardMarkup | None]:
        require_admin(session, user_id)
        return _page(curated.queue(session, found.rules_engine), page, found.settings.timezone)

    return await command(context, work)


@registered_only
async def show_queue(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/unanswered: what the bot could not answer, for the office to answer (admins)."""
    assert update.effective_user is not None
    text, markup = await _load_page(context, update.effective_user.id, 0)
    await send_html(context, await private_chat(update, context), text, markup)


@button(PageButton)
async def turn_page(update: Update, context: ContextTypes.DEFAULT_TYPE, data: PageButton) -> None:
    """◀ ▶ on the queue."""
    assert update.effective_user is not None
    text, markup = await _load_page(context, update.effective_user.id, data.page)
    await edit_html(update, text, markup)


@button(ReplyButton)
async def start_reply(update: Update, context: ContextTypes.DEFAULT_TYPE, data: ReplyButton) -> None:
    """答复: the admin's next text answers this group of questions."""
    assert update.effective_user is not None
    user_id = update.effective_user.id

    def work(session: Session) -> str:
        return curated.await_reply(session, require_person(session, user_id), data.log_id, data.version).question

    question = await command(context, work)
    prompt = (
        f"请输入对“{escape(question)}”的答复：先写依据的条号，再写简短说明（可不写），"
        "例如：56 圈阅即表示同意。发送 /cancel 放弃。"
    )
    await send_html(context, user_id, prompt)


async def on_text(
    update: Update, context: ContextTypes.DEFAULT_TYPE, person: Person, pending: PendingInput, text: str
) -> None:
    """The admin's answer: a curated answer, and every asker of the group told."""
    assert update.effective_chat is not None
    found = services(context)

    def work(session: Session) -> int:
        admin = session.get(Person, person.id)
        assert admin is not None
        return curated.answer_from_queue(
            session,
            found.rules_engine,
            found.library,
            admin,
            pending.target_id,
            pending.target_version or 0,
            text,
            found.clock.now(),
        )

    told = await command(context, work)
    await send_html(
        context, update.effective_chat.id, f"✅ 已答复，并已告知 {told} 位提问人。以后类似的问题会用这个答复回答。"
    )


def render_notice(session: Session, row: OutboxMessage, context: WorkContext) -> View | None:
    """ "您在11月30日问的……，办公室答复：……依据第N条", with the articles as buttons."""
    asked = session.get(QuestionLog, int(row.payload["log_id"]))
    answer = session.get(CuratedAnswer, int(row.payload["curated_id"]))
    if asked is None or answer is None:
        return None
    when: datetime = local_time(asked.asked_at, context.now.tzinfo)  # type: ignore[arg-type]
    explanation = f"：{answer.explanation}" if answer.explanation else ""
    basis = "、".join(row.payload["citations"])
    again = "因规则修订，办公室重新答复" if row.payload.get("revised") else "办公室答复"
    text = f"📬 您在{when.month}月{when.day}日问的“{asked.question}”，{again}{explanation}\n依据：{basis}"
    buttons = [
        Button(f"📄 {label}全文", ArticleButton(rulebook_id, number))
        for (rulebook_id, number), label in zip(row.payload["articles"], row.payload["labels"], strict=True)
    ]
    return notice(text, [buttons])


def build_handlers() -> list[BaseHandler]:
    return [
        CommandHandler("unanswered", show_queue),
        CallbackQueryHandler(turn_page, pattern=PageButton.matches),
        CallbackQueryHandler(start_reply, pattern=ReplyButton.matches),
    ]


FEATURE = Feature(
    name="unanswered",
    handlers=build_handlers,
    models={curated.PREFIX: QuestionLog},
    text_routes={curated.PREFIX: on_text},
    notices={curated.NOTICE: render_notice},
    buttons=(PageButton, ReplyButton),
)
