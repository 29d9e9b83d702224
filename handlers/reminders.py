"""The periodic scan that pushes due reminders; what is due is decided by the domain, from the database."""

import logging

from telegram.error import Forbidden
from telegram.ext import Application, ContextTypes

from bot.calendar.overrides import load_calendar
from bot.leave import service as leave
from handlers.common import blocking, send_html, services
from handlers.render import escape, keyboard

log = logging.getLogger(__name__)


async def scan(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Send every reminder that is due now; each is claimed in the database before it is sent."""
    found = services(context)
    now = found.clock.now()

    def due() -> list[leave.ReturnReminder]:
        with found.database.session() as session:
            reminders = leave.due_return_reminders(session, now, load_calendar(session))
            for reminder in reminders:
                leave.mark_reminded(session, reminder, now)
            return reminders

    for reminder in await blocking(due):
        try:
            await _send_return_reminder(context, reminder)
        except Exception:
            log.exception("销假 reminder for leave #%s failed; it will be retried", reminder.request.id)

            def release(r: leave.ReturnReminder = reminder) -> None:
                with found.database.session() as session:
                    leave.mark_reminded(session, r, None)

            await blocking(release)


async def _send_return_reminder(context: ContextTypes.DEFAULT_TYPE, reminder: leave.ReturnReminder) -> None:
    request = reminder.request
    period = leave.period_label(request)
    if reminder.to_approver:
        target = request.approver
        text = f"⏰ {request.requester.name} 的请假（#{request.id}，{period}）已结束一个工作日以上，仍未销假。"
        markup = None
    else:
        target = request.requester
        text = f"⏰ 您的请假（#{request.id}，{period}）已结束，请及时销假并报告重要情况（第七十九条）。"
        markup = keyboard([[("销假", f"lv:bk:{request.id}")]])
    if target is None or target.telegram_user_id is None:
        return
    try:
        await send_html(context, target.telegram_user_id, escape(text), markup)
    except Forbidden:
        log.warning("%s has blocked the bot; reminder for leave #%s not delivered", target.name, request.id)


def schedule(application: Application, interval_s: float) -> None:
    assert application.job_queue is not None
    application.job_queue.run_repeating(scan, interval=interval_s, first=interval_s, name="reminders")
