"""Assemble the Telegram application and run it (sandbox, polling or webhook)."""

import logging

from sqlalchemy import select
from telegram import BotCommand, Update
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder

from bot.config import Settings
from bot.db import Person
from bot.sandbox.server import SandboxServer, SandboxUser
from bot.services import Services, build_services
from handlers import admin, deadlines, inputs, leave, qa, rules, start, topics
from handlers.common import on_error

log = logging.getLogger(__name__)
SANDBOX_TOKEN = "1000001:sandbox-token"
VISITOR_ID = 99999
# People on the roster without a Telegram id get sandbox accounts from here on, unbound.
_UNBOUND_SANDBOX_IDS = 20000
COMMANDS = [
    BotCommand("ask", "提问规则（群聊中用 /ask 问题）"),
    BotCommand("leave", "请假（填写请假单）"),
    BotCommand("back", "销假"),
    BotCommand("leaves", "我的请假和待我审批"),
    BotCommand("topic", "申报会议议题"),
    BotCommand("topics", "我的议题和待我审核"),
    BotCommand("agenda", "会议议程"),
    BotCommand("deadlines", "我和本部门未办结的期限事项"),
    BotCommand("deadline", "登记交办期限，如：报送材料，3个工作日，@部门"),
    BotCommand("consult", "征求意见（5个工作日，第六十条）"),
    BotCommand("cancel", "取消正在填写的内容"),
    BotCommand("rules", "按章浏览工作规则"),
    BotCommand("article", "查看某一条，如 /article 50"),
    BotCommand("whoami", "查看账号绑定情况"),
    BotCommand("stats", "问答统计（管理员）"),
    BotCommand("help", "使用说明"),
]
# Handler modules in order of precedence: the Q&A catch-all for private text comes last.
HANDLER_MODULES = (start, rules, admin, leave, topics, deadlines, qa)


async def _post_init(application: Application) -> None:
    await application.bot.set_my_commands(COMMANDS)


def build_application(services: Services, token: str, base_url: str, *, limit_rate: bool = True) -> Application:
    """The PTB application with every handler; `limit_rate` False drops the send-rate caps
    (the sandbox has no flood limits) but keeps retrying on 429."""
    limiter = (
        AIORateLimiter(max_retries=5)
        if limit_rate
        else AIORateLimiter(overall_max_rate=0, group_max_rate=0, max_retries=5)
    )
    application = (
        ApplicationBuilder()
        .token(token)
        .base_url(base_url)
        .base_file_url(base_url.replace("/bot", "/file/bot"))
        .rate_limiter(limiter)
        .concurrent_updates(8)
        .post_init(_post_init)
        .build()
    )
    application.bot_data["services"] = services
    # Typed answers to a workflow's question go first; unclaimed text falls through to Q&A.
    application.add_handlers(inputs.build_handlers(), group=-1)
    for module in HANDLER_MODULES:
        application.add_handlers(module.build_handlers())
    application.add_error_handler(on_error)
    deadlines.schedule(application, services.settings.reminder_scan_seconds)
    return application


def sandbox_users(services: Services) -> list[SandboxUser]:
    """Sandbox accounts: everyone on the roster (bound where the roster gives an id) and a visitor."""
    users = []
    with services.database.session() as session:
        for person in session.scalars(select(Person).where(Person.active).order_by(Person.id)):
            user_id = person.telegram_user_id or _UNBOUND_SANDBOX_IDS + person.id
            users.append(SandboxUser(user_id, f"{person.name}（{person.position}）"))
    users.append(SandboxUser(VISITOR_ID, "访客（未绑定）"))
    return users


def sandbox_server(services: Services, host: str, port: int) -> SandboxServer:
    groups = {chat_id: name for name, chat_id in services.settings.groups.items()}
    return SandboxServer(SANDBOX_TOKEN, sandbox_users(services), groups, host=host, port=port)


def run(settings: Settings) -> None:
    """Run until interrupted: on the sandbox without a token, else on the configured Bot API."""
    services = build_services(settings)
    telegram = settings.telegram
    if settings.uses_sandbox:
        server = sandbox_server(services, settings.sandbox.host, settings.sandbox.port)
        server.start_in_thread()
        print(f"\n沙盒已启动（没有 TELEGRAM_BOT_TOKEN）：在浏览器打开 {server.url}/ 与机器人对话\n", flush=True)
        application = build_application(services, SANDBOX_TOKEN, server.bot_api_base_url, limit_rate=False)
    else:
        assert telegram.token is not None
        application = build_application(services, telegram.token, telegram.api_base_url)
    if telegram.mode == "webhook" and not settings.uses_sandbox:
        application.run_webhook(
            listen=telegram.webhook_listen,
            port=telegram.webhook_port,
            webhook_url=telegram.webhook_url,
            allowed_updates=Update.ALL_TYPES,
        )
    else:
        application.run_polling(allowed_updates=Update.ALL_TYPES)
