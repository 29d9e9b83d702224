"""Assemble the Telegram application and run it (sandbox, polling or webhook)."""

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from telegram import BotCommand, Update
from telegram.error import InvalidToken
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder, CallbackQueryHandler, MessageHandler, filters
from telegram.request import HTTPXRequest

from bot.config import Settings
from bot.console.server import ConsoleServer
from bot.delivery import Delivery
from bot.sandbox.launch import SANDBOX_TOKEN, start_sandbox_server
from bot.services import Services, build_services
from bot.start_progress import StartProgress
from bot.webhook import webhook_path, webhook_secret, webhook_url
from handlers import admin, deadlines, leave, qa, rules, start, topics, unanswered
from handlers import console as console_handlers
from handlers.channel import TelegramChannel
from handlers.common import on_error, unknown_button
from handlers.features import Feature, Wiring, assemble

log = logging.getLogger(__name__)
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
    BotCommand("console", "打开办公室控制台（网页，一次性登录链接）"),
    BotCommand("stats", "问答统计（管理员）"),
    BotCommand("unanswered", "未能回答的问题，由办公室答复（管理员）"),
    BotCommand("help", "使用说明"),
]
# The bot's features, their handlers in this order of precedence: the Q&A catch-all for private
# text comes last.
FEATURES: tuple[Feature, ...] = (
    start.FEATURE,
    rules.FEATURE,
    admin.FEATURE,
    leave.FEATURE,
    topics.FEATURE,
    deadlines.FEATURE,
    unanswered.FEATURE,
    console_handlers.FEATURE,
    qa.FEATURE,
)


def wiring() -> Wiring:
    """The tables of this bot's features (handlers.features): built here, on each call, not at import."""
    return assemble(FEATURES)


DELIVERY, BACKGROUND_TASKS, TOKEN_REFUSED = "delivery", "background_tasks", "token_refused"
PURGE_INTERVAL_S = 24 * 3600


class RateLimiter(AIORateLimiter):
    """PTB's limiter for everything but the typing indicator: counted, it would halve the answers
    a second the bot may send, and its 429 would hold every reply back for the whole wait."""

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        if endpoint == "sendChatAction":
            return await callback(*args, **kwargs)
        return await super().process_request(callback, args, kwargs, endpoint, data, rate_limit_args)


class TokenWatchingRequest(HTTPXRequest):
    """PTB's HTTP transport, noting a 401 (the token was revoked) in `refused`. PTB ends its polling
    on a 401 but keeps the process alive, so no supervisor would restart it: the application stops
    instead (bot.app.run) and the process exits non-zero.

    For polls (`polls`) a 401 is answered as "no updates" once noted: PTB would log each refused
    poll with a traceback, and the stop follows at once."""

    def __init__(self, refused: asyncio.Event, *, polls: bool = False, connection_pool_size: int) -> None:
        super().__init__(connection_pool_size=connection_pool_size)
        self._refused, self._polls = refused, polls

    # PTB marks post final (subclasses are to override do_request), but a revoked token surfaces
    # only here, as the InvalidToken post's wrapper raises after do_request has returned the 401.
    async def post(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[misc]
        if self._polls and self._refused.is_set():
            return []
        try:
            return await super().post(*args, **kwargs)
        except InvalidToken:
            self._refused.set()
            if self._polls:
                return []
            raise


async def _stop_when_token_refused(application: Application) -> None:
    await application.bot_data[TOKEN_REFUSED].wait()
    application.stop_running()


async def _post_init(application: Application) -> None:
    await application.bot.set_my_commands(COMMANDS)
    delivery: Delivery = application.bot_data[DELIVERY]
    services: Services = application.bot_data["services"]
    loop = asyncio.get_running_loop()
    application.bot_data[BACKGROUND_TASKS] = [
        loop.create_task(delivery.run(services.settings.reminder_scan_seconds)),
        loop.create_task(_purge_daily(services)),
        loop.create_task(_stop_when_token_refused(application)),
    ]
    console_settings = services.settings.console
    if console_settings is not None:
        server = ConsoleServer(services, console_settings.host, console_settings.port, console_settings.public_url)
        try:
            await server.start()
        except OSError as exc:  # e.g. the port is taken: the bot still runs, /console says it is off
            log.error(
                "the office console could not start on %s:%s: %s", console_settings.host, console_settings.port, exc
            )
        else:
            application.bot_data[console_handlers.CONSOLE] = server
            log.info("office console at %s", server.url)


async def _post_stop(application: Application) -> None:
    for task in application.bot_data.pop(BACKGROUND_TASKS, []):
        task.cancel()
    server = application.bot_data.pop(console_handlers.CONSOLE, None)
    if server is not None:
        await server.stop()


async def _purge_daily(services: Services) -> None:
    """The retention rule (bot.privacy), at start and then once a day; and once a day the rulebooks
    in force (a version whose effective date has come, a book published or retired meanwhile)."""
    while True:
        try:
            deleted = await asyncio.to_thread(services.purge)
            log.info("question log purge: %d old questions deleted", deleted)
        except Exception:  # a database outage must not end the loop; the next run catches up
            log.exception("question log purge failed")
        if services.engine is not None:
            try:
                if await asyncio.to_thread(services.refresh_rules):
                    log.info("rulebooks in force changed: the rules engine was rebuilt")
            except Exception:  # a broken rules folder leaves the loaded rules answering
                log.exception("reloading the rulebooks failed")
        await asyncio.sleep(PURGE_INTERVAL_S)


def build_application(services: Services, token: str, base_url: str, *, limit_rate: bool = True) -> Application:
    """The PTB application with every handler; `limit_rate` False drops the send-rate caps
    (the sandbox has no flood limits) but keeps retrying on 429."""
    limiter = (
        RateLimiter(max_retries=5) if limit_rate else RateLimiter(overall_max_rate=0, group_max_rate=0, max_retries=5)
    )
    refused = asyncio.Event()
    tables = wiring()
    application = (
        ApplicationBuilder()
        .token(token)
        # PTB's own pool sizes: many concurrent sends, one long poll.
        .request(TokenWatchingRequest(refused, connection_pool_size=256))
        .get_updates_request(TokenWatchingRequest(refused, polls=True, connection_pool_size=1))
        .base_url(base_url)
        .base_file_url(base_url.replace("/bot", "/file/bot"))
        .rate_limiter(limiter)
        .concurrent_updates(8)
        .post_init(_post_init)
        .post_stop(_post_stop)
        .build()
    )
    application.bot_data["services"] = services
    application.bot_data[TOKEN_REFUSED] = refused
    # Sends the outbox (notices, cards, reminders): at once after a commit, else every scan interval.
    application.bot_data[DELIVERY] = Delivery(
        services, TelegramChannel(application.bot, services.settings), tables.renderers
    )
    # Typed answers to a workflow's question go first; unclaimed text falls through to Q&A.
    application.add_handlers(tables.inputs.build_handlers(), group=-1)
    for feature in tables.features:
        application.add_handlers(feature.handlers())
    # Last in the same group: they take only the presses and commands no handler above claimed.
    application.add_handler(CallbackQueryHandler(unknown_button))
    application.add_handler(MessageHandler(filters.COMMAND, start.unknown_command))
    application.add_error_handler(on_error)
    return application


def run(settings: Settings) -> None:
    """Run until interrupted: on the sandbox without a token, else on the configured Bot API."""
    # The rules engine is loaded after the database: the sandbox's chat page is up meanwhile.
    services = build_services(settings, with_engine=False)
    telegram = settings.telegram
    if settings.uses_sandbox:
        server = start_sandbox_server(services, settings.sandbox.host, settings.sandbox.port)
        application = build_application(services, SANDBOX_TOKEN, server.bot_api_base_url, limit_rate=False)
    else:
        assert telegram.token is not None
        services.load_engine(StartProgress())
        application = build_application(services, telegram.token, telegram.api_base_url)
    if telegram.mode == "webhook" and not settings.uses_sandbox:
        # PTB answers 403 to a request without this secret before reading it; Telegram sends it.
        secret = webhook_secret(settings)
        application.run_webhook(
            listen=telegram.webhook_listen,
            port=telegram.webhook_port,
            url_path=webhook_path(secret),
            webhook_url=webhook_url(settings, secret),
            secret_token=secret,
            allowed_updates=Update.ALL_TYPES,
        )
    else:
        application.run_polling(allowed_updates=Update.ALL_TYPES)
    if application.bot_data[TOKEN_REFUSED].is_set():
        raise InvalidToken("the Bot API refused the token (401)")  # bot.cli: one line, exit code 2
