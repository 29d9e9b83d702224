"""Deadlines in chat: /deadline, /consult, /deadlines, the reminder buttons, and delivery.

Delivery is a periodic scan of the database (never in-memory jobs): claim what is due, send it,
record the outcome. A 429 puts the reminder back for after `retry_after`; a 403 records the
blocked chat and tells the admins.
"""

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from telegram import Bot, InlineKeyboardMarkup, Update
from telegram.error import Forbidden, NetworkError, RetryAfter
from telegram.ext import Application, BaseHandler, CallbackQueryHandler, CommandHandler, ContextTypes

from bot.db import Deadline, Person, Reminder
from bot.deadlines import service
from bot.deadlines.rules import rules
from bot.errors import InvalidInput
from bot.roster import require_person
from bot.services import Services
from handlers.common import blocking, explains_domain_errors, registered_only, send_html, services, tell
from handlers.render import bold, escape, keyboard, local_time, split_html

log = logging.getLogger(__name__)
PURPOSE_HEADING = {
    "before": "⏰ 期限提醒（明日到期）",
    "due": "⏰ 期限提醒（今日到期）",
    "after": "⏰ 期限已过，请尽快办理",
    "snooze": "⏰ 延后提醒",
    "escalation": "⚠️ 逾期未办结",
}


# ----- rendering -------------------------------------------------------------------------------


def deadline_lines(deadline: Deadline) -> list[str]:
    rule = rules()[deadline.rule_key]
    lines = [
        bold(deadline.title),
        f"到期：{deadline.due_date.month}月{deadline.due_date.day}日（{deadline.due_date.isoformat()}）",
    ]
    if deadline.department:
        lines.append(f"承办：{escape(deadline.department)}")
    elif deadline.responsible:
        lines.append(f"承办：{escape(deadline.responsible.name)}")
    if deadline.article:
        lines.append(f"依据：第{deadline.article}条 {escape(rule.note)}")
    if deadline.calendar_warning:
        lines.append(escape(deadline.calendar_warning))
    return lines


def reminder_keyboard(deadline: Deadline) -> InlineKeyboardMarkup:
    done = (
        ("销假", f"lv:bk:{deadline.source.split(':')[1]}")
        if deadline.rule_key == "leave_return" and deadline.source
        else ("已办结", f"dl:done:{deadline.id}")
    )
    return keyboard([[done, ("延后", f"dl:snz:{deadline.id}"), ("查看依据", f"dl:why:{deadline.id}")]])


# ----- delivery ----------------------------------------------------------------------------------


async def deliver_due(found: Services, bot: Bot, batch: int = 50) -> tuple[int, int]:
    """Claim one batch of due reminders and send them; returns (claimed, sent)."""
    now = found.clock.now()

    def claim() -> list[Reminder]:
        with found.database.session() as session:
            return service.claim_due(session, now, found.context(session).calendar, batch)

    claimed = await blocking(claim)
    sent = 0
    for reminder in claimed:
        sent += await _deliver_one(found, bot, reminder)
    await _report_blocked(found, bot)
    return len(claimed), sent


async def _deliver_one(found: Services, bot: Bot, reminder: Reminder) -> int:
    deadline = reminder.deadline
    text = "\n".join([PURPOSE_HEADING[reminder.purpose], *deadline_lines(deadline)])
    if reminder.purpose == "escalation" and deadline.rule_key == "consultation_reply":
        text += "\n按第六十条，逾期不回复视为无不同意见。"
    markup = None if reminder.purpose == "escalation" else reminder_keyboard(deadline)
    try:
        for part in split_html(text):
            await bot.send_message(reminder.chat_id, part, parse_mode="HTML", reply_markup=markup)
    except RetryAfter as exc:
        retry = exc.retry_after if isinstance(exc.retry_after, int | float) else exc.retry_after.total_seconds()
        await _record(
            found, service.retry_later, reminder.id, found.clock.now() + timedelta(seconds=retry), f"429: {exc}"
        )
        return 0
    except Forbidden as exc:
        await _record(found, service.mark_blocked, reminder.id, reminder.chat_id, f"403: {exc}")
        return 0
    except NetworkError as exc:
        await _record(
            found, service.retry_later, reminder.id, found.clock.now() + timedelta(minutes=1), f"network: {exc}"
        )
        return 0
    await _record(found, service.mark_sent, reminder.id, found.clock.now())
    return 1


async def _record(found: Services, action: Callable[..., None], *args: Any) -> None:
    """Record a delivery outcome in its own unit of work."""

    def work() -> None:
        with found.database.session() as session:
            action(session, *args)

    await blocking(work)


async def _report_blocked(found: Services, bot: Bot) -> None:
    def work() -> tuple[list[str], list[int]]:
        with found.database.session() as session:
            rows = service.blocked_chats_to_report(session, found.clock.now())
            admins = session.scalars(select(Person.telegram_user_id).where(Person.is_admin, Person.active)).all()
            return [f"{r.chat_id}（{r.description}）" for r in rows], [a for a in admins if a]

    blocked, admins = await blocking(work)
    if not blocked:
        return
    text = "⚠️ 以下会话拒收机器人消息，提醒未能送达，请核实：\n" + "\n".join(f"• {escape(b)}" for b in blocked)
    for admin in admins:
        try:
            await bot.send_message(admin, text, parse_mode="HTML")
        except Forbidden:
            log.warning("admin %s has blocked the bot too", admin)


async def scan(context: ContextTypes.DEFAULT_TYPE) -> None:
    """JobQueue callback: deliver what is due."""
    await deliver_due(services(context), context.bot)


def schedule(application: Application, interval_s: float) -> None:
    assert application.job_queue is not None
    application.job_queue.run_repeating(scan, interval=interval_s, first=interval_s, name="reminders")


# ----- commands and buttons ----------------------------------------------------------------------


@registered_only
async def create_adhoc(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/deadline 报送材料，3个工作日，@区财政局: an ad-hoc deadline with reminders."""
    await _create(update, context, "adhoc")


@registered_only
async def start_consultation(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/consult 关于……的征求意见，@区财政局: an Art. 60 consultation with its 5-working-day clock."""
    await _create(update, context, "consultation_reply")


async def _create(update: Update, context: ContextTypes.DEFAULT_TYPE, rule_key: str) -> None:
    assert update.effective_user is not None and update.effective_chat is not None
    text = " ".join(context.args or [])
    found = services(context)

    def work() -> Deadline:
        with found.database.session() as session:
            person = require_person(session, update.effective_user.id)
            departments = set(session.scalars(select(Person.department).where(Person.department.is_not(None))))
            if rule_key == "consultation_reply":
                text_with_period = text if "工作日" in text else f"{text}，5个工作日"
                wanted = service.parse_adhoc(text_with_period, departments)
                if wanted.department is None:
                    raise InvalidInput(
                        "请用 @ 写明征求意见的部门，例如：/consult 关于老旧小区改造方案的意见，@区财政局"
                    )
            else:
                wanted = service.parse_adhoc(text, departments)
            work_context = found.context(session)
            deadline = service.create_deadline(
                session,
                rule_key,
                work_context.now.date(),
                work_context.now,
                work_context.calendar,
                found.settings.groups,
                title=wanted.title,
                workdays=wanted.workdays,
                department=wanted.department,
                requester=person,
                source=rule_key,
            )
            session.commit()
            return deadline

    deadline = await blocking(work)
    await send_html(context, update.effective_chat.id, "\n".join(["✅ 已登记期限事项：", *deadline_lines(deadline)]))


@registered_only
async def list_open(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/deadlines: open items for me or my department."""
    assert update.effective_user is not None and update.effective_chat is not None

    def work() -> list[Deadline]:
        with services(context).database.session() as session:
            return service.open_for(session, require_person(session, update.effective_user.id))

    items = await blocking(work)
    if not items:
        await tell(update, context, "没有未办结的期限事项。")
        return
    for deadline in items:
        await send_html(
            context, update.effective_chat.id, "\n".join(deadline_lines(deadline)), reminder_keyboard(deadline)
        )


@explains_domain_errors
async def reminder_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """已办结 / 延后 / 查看依据 under a reminder."""
    query = update.callback_query
    assert query is not None and query.data is not None and query.message is not None
    _, action, deadline_id = query.data.split(":")
    found = services(context)
    zone = found.settings.timezone

    def work() -> str:
        with found.database.session() as session:
            if action == "why":
                deadline = service.get(session, int(deadline_id))
                return str(deadline.article or 0)
            person = require_person(session, query.from_user.id)
            work_context = found.context(session)
            if action == "done":
                deadline = service.close(session, int(deadline_id), person, work_context.now)
                return f"✅ 已办结：{deadline.title}（{person.name}）"
            at = service.snooze(
                session, int(deadline_id), person, query.message.chat.id, work_context.now, work_context.calendar
            )
            return f"好的，{local_time(at, zone).strftime('%m月%d日 %H:%M')} 再提醒一次。"

    outcome = await blocking(work)
    if action == "why":
        await query.answer()
        views = found.library.find(f"第{outcome}条") if outcome != "0" else []
        text = (
            "\n\n".join(f"{bold(v.citation)}\n{escape(v.article.text)}" for v in views)
            or "这是交办事项，没有对应条文。"
        )
        await send_html(context, query.message.chat.id, text)
    elif action == "done":
        await query.answer("已标记办结")
        await send_html(context, query.message.chat.id, escape(outcome))
    else:
        await query.answer(outcome)


def build_handlers() -> list[BaseHandler]:
    return [
        CommandHandler("deadline", create_adhoc),
        CommandHandler("consult", start_consultation),
        CommandHandler("deadlines", list_open),
        CallbackQueryHandler(reminder_button, pattern=r"^dl:(done|snz|why):\d+$"),
    ]
