"""/console: a one-time link (ten minutes, single use) that signs the person in to the office
console in their browser (bot.console). It is sent without a link preview: the page it opens signs
in only by its button, and no preview fetcher should open it at all."""

from sqlalchemy.orm import Session
from telegram import Update
from telegram.ext import BaseHandler, CommandHandler, ContextTypes

from bot.console import auth
from bot.roster import require_person
from handlers.common import command, registered_only, send_html, services, tell
from handlers.features import Feature
from handlers.render import escape

CONSOLE = "console"  # bot_data key of the running ConsoleServer (bot.app)


@registered_only
async def open_console(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/console: send a sign-in link, in the private chat only."""
    assert update.effective_user is not None and update.effective_chat is not None
    server = context.application.bot_data.get(CONSOLE)
    if server is None:
        await tell(update, context, "办公室控制台没有开启（未在配置中启用，或端口被占用），请联系管理员查看日志。")
        return
    if update.effective_chat.type != "private":
        await tell(update, context, "登录链接只能在与我的私聊中发送，请私聊我 /console。")
        return
    user_id, now = update.effective_user.id, services(context).clock.now()

    def work(session: Session) -> str:
        return auth.issue_login(session, require_person(session, user_id), now)

    link = f"{server.url}/login/{await command(context, work)}"
    minutes = int(auth.LOGIN_VALID.total_seconds() // 60)
    text = f"🖥 办公室控制台登录链接（{minutes} 分钟内有效，只能用一次，请勿转发）：\n{escape(link)}"
    await send_html(context, update.effective_chat.id, text, preview_links=False)


def build_handlers() -> list[BaseHandler]:
    return [CommandHandler("console", open_console)]


FEATURE = Feature(name="console", handlers=build_handlers)
