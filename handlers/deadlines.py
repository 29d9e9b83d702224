"""Deadlines in chat: /deadline, /consult, /deadlines, the reminder cards and their buttons.

Reminders are outbox cards sent by bot.delivery in working hours; this module draws them, from
the deadline as it is when they go out (a closed one is not reminded), and redraws them when the
deadline moves on.
"""

from dataclasses import dataclass
from datetime import UTC, date

from sqlalchemy import select
from sqlalchemy.orm import Session
from telegram import InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, ContextTypes

from bot import roster
from bot.calendar.labels import local_moment, with_weekday
from bot.deadlines import service
from bot.deadlines.models import Deadline
from bot.deadlines.rules import CloseAction, rules
from bot.deadlines.service import DeadlineStatus, Purpose
from bot.errors import InvalidInput
from bot.leave.models import LeaveRequest
from bot.roster import require_person
from bot.views import Button, Line, Strong, View, field, line, view
from bot.workflow import outbox
from bot.workflow.context import WorkContext
from bot.workflow.models import Card, CardRole, OutboxMessage, Subject
from handlers import leave
from handlers.callbacks import CallbackData
from handlers.common import button, command, private_chat, registered_only, send_html, services, tell
from handlers.features import Feature
from handlers.render import bold, escape, lines_html, view_html
from knowledge import article_label

ESCALATION_HEADING = "⚠️ 逾期未办结"


@dataclass(frozen=True)
class ReminderButton(CallbackData, prefix="dl"):
    """已办结 (done) / 延后 (snz) / 查看依据 (why) on a card drawn for `version`."""

    deadline_id: int
    version: int
    action: str


# ----- rendering -------------------------------------------------------------------------------


def heading(deadline: Deadline, purpose: str | None, today: date, context: WorkContext) -> str:
    """The rule's heading and when the item is due, from the real dates (Friday's reminder of
    Monday's deadline says so, not "tomorrow")."""
    if purpose == Purpose.ESCALATION:
        return ESCALATION_HEADING
    title, due = rules()[deadline.rule_key].heading, deadline.due_date
    if purpose == Purpose.SNOOZE:
        return f"⏰ {title}：延后提醒"
    if due < today:
        return f"⏰ {title}：期限已过（{due.month}月{due.day}日到期），请尽快办理"
    if due == today:
        when = "今日到期"
    elif (due - today).days == 1:
        when = "明日到期"
    elif due == context.calendar.next_workday(today).date:
        when = f"下一个工作日 {due.month}月{due.day}日到期"
    else:
        when = f"{due.month}月{due.day}日到期"
    return f"⏰ {title}（{when}）"


def deadline_lines(deadline: Deadline, today: date) -> list[Line]:
    rule = rules()[deadline.rule_key]
    lines = [
        line(Strong(deadline.title)),
        field("到期", with_weekday(deadline.due_date, today)),
    ]
    if deadline.department:
        lines.append(field("承办", deadline.department))
    elif deadline.responsible:
        lines.append(field("承办", deadline.responsible.name))
    if deadline.article:
        lines.append(field("依据", f"{article_label(deadline.article)} {rule.note}"))
    if deadline.calendar_warning:
        lines.append(line(deadline.calendar_warning))
    return lines


def reminder_buttons(session: Session, deadline: Deadline) -> list[Button]:
    rule = rules()[deadline.rule_key]
    if rule.close_action == CloseAction.LEAVE_RETURN and deadline.source:
        request = session.get(LeaveRequest, int(deadline.source.split(":")[1]))
        assert request is not None
        close = Button("销假", leave.RequesterButton(request.id, request.version, "bk"))
    else:
        close = Button("已办结", ReminderButton(deadline.id, deadline.version, "done"))
    return [
        close,
        *(
            Button(label, ReminderButton(deadline.id, deadline.version, a))
            for label, a in (("延后", "snz"), ("查看依据", "why"))
        ),
    ]


def render_card(session: Session, card: Card, row: OutboxMessage, context: WorkContext) -> View | None:
    deadline = session.get(Deadline, card.subject_id)
    if deadline is None:
        return None
    is_open = deadline.status == DeadlineStatus.OPEN
    if card.message_id is None and not is_open:
        return None  # not sent yet and no longer owed
    purpose = row.template if card.message_id is None else _purpose(session, card)
    lines = deadline_lines(deadline, context.now.date())
    if not is_open:
        # A closed item's card says so first, whenever it is redrawn (never "今日到期").
        who = deadline.closed_by.name if deadline.closed_by else ""
        when = local_moment(deadline.closed_at, context.now.tzinfo or UTC) if deadline.closed_at else ""
        return view([f"✅ 已办结（{who}，{when}）", *lines], version=deadline.version)
    if card.role == CardRole.NEW_DEADLINE:
        top = "📌 新的期限事项"
    else:
        top = heading(deadline, purpose, context.now.date(), context)
    rule = rules()[deadline.rule_key]
    if purpose == Purpose.ESCALATION and rule.escalation_note:
        lines.append(line(rule.escalation_note))
    buttons = [] if purpose == Purpose.ESCALATION else [reminder_buttons(session, deadline)]
    return view([top, *lines], buttons, deadline.version)


def _purpose(session: Session, card: Card) -> str | None:
    """The purpose a card was first sent for (its first outbox row)."""
    return session.scalar(
        select(OutboxMessage.template).where(OutboxMessage.card_id == card.id).order_by(OutboxMessage.id).limit(1)
    )


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
    text, user_id, found = " ".join(context.args or []), update.effective_user.id, services(context)

    def work(session: Session) -> str:
        person = require_person(session, user_id)
        departments = set(roster.departments(session))
        if rule_key == "consultation_reply":
            text_with_period = text if "工作日" in text else f"{text}，5个工作日"
            wanted = service.parse_adhoc(text_with_period, departments)
            if wanted.department is None:
                raise InvalidInput("请用 @ 写明征求意见的部门，例如：/consult 关于老旧小区改造方案的意见，@区财政局")
        else:
            wanted = service.parse_adhoc(text, departments)
        work_context = found.context(session)
        deadline = service.create_deadline(
            session,
            rule_key,
            work_context.now.date(),
            work_context,
            title=wanted.title,
            workdays=wanted.workdays,
            department=wanted.department,
            requester=person,
            source=rule_key,
        )
        return "\n".join(
            ["✅ 已登记期限事项（已通知承办方）：", lines_html(deadline_lines(deadline, work_context.now.date()))]
        )

    await send_html(context, update.effective_chat.id, await command(context, work))


@registered_only
async def list_open(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/deadlines: open items for me or my department."""
    assert update.effective_user is not None and update.effective_chat is not None
    user_id, today = update.effective_user.id, services(context).clock.today()

    def work(session: Session) -> list[tuple[str, InlineKeyboardMarkup | None]]:
        items = service.open_for(session, require_person(session, user_id))
        return [view_html(view(deadline_lines(d, today), [reminder_buttons(session, d)])) for d in items]

    items = await command(context, work)
    if not items:
        await tell(update, context, "没有未办结的期限事项。")
        return
    chat_id = await private_chat(update, context)
    for text, markup in items:
        await send_html(context, chat_id, text, markup)


@button(ReminderButton)
async def reminder_button(update: Update, context: ContextTypes.DEFAULT_TYPE, data: ReminderButton) -> str | None:
    """已办结 / 延后 / 查看依据 under a reminder."""
    query = update.callback_query
    assert query is not None and query.message is not None
    found, chat_id = services(context), query.message.chat.id
    zone = found.settings.timezone

    def work(session: Session) -> str:
        if data.action == "why":
            return str(service.get(session, data.deadline_id).article or 0)
        person = require_person(session, query.from_user.id)
        work_context = found.context(session)
        if data.action == "done":
            service.close(session, data.deadline_id, data.version, person, work_context)
            return "已标记办结"
        if data.action == "snz":
            where = outbox.chat_recipient(chat_id)
            at = service.snooze(session, data.deadline_id, data.version, person, where, work_context)
            return f"好的，{local_moment(at, zone, work_context.now.date())} 再提醒一次。"
        raise InvalidInput("这个按钮已失效。")

    outcome = await command(context, work)
    if data.action != "why":
        return outcome
    views = found.library.find(f"第{outcome}条") if outcome != "0" else []
    text = "\n\n".join(f"{bold(v.citation)}\n{escape(v.article.text)}" for v in views) or "这是交办事项，没有对应条文。"
    await send_html(context, chat_id, text)
    return None


def build_handlers() -> list[BaseHandler]:
    return [
        CommandHandler("deadline", create_adhoc),
        CommandHandler("consult", start_consultation),
        CommandHandler("deadlines", list_open),
        CallbackQueryHandler(reminder_button, pattern=ReminderButton.matches),
    ]


FEATURE = Feature(
    name="deadlines",
    handlers=build_handlers,
    models={Subject.DEADLINE: Deadline},
    cards={Subject.DEADLINE: render_card},
    buttons=(ReminderButton,),
)
