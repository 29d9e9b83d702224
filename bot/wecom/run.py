"""Running the bot in WeCom: the callback server, the queue that handles what it accepted, the API
client; on the local stand-in when there is no WECOM_SECRET (as Telegram runs on its sandbox
without a token)."""

import asyncio
import logging
from dataclasses import dataclass

import httpx
from aiohttp import web
from sqlalchemy import select

from bot.config import WeComSettings
from bot.db import Person
from bot.services import Services
from bot.start_progress import StartProgress
from bot.web import serve
from bot.wecom.adapter import WeComAdapter
from bot.wecom.api import WeComApi
from bot.wecom.callback import KEEP_KEYS, CallbackEndpoint, CallbackInbox, CallbackQueue
from bot.wecom.crypto import WeComCrypto
from bot.wecom.standin import WeComStandIn

log = logging.getLogger(__name__)
PURGE_INTERVAL_S = 24 * 3600
# The stand-in's visitor: a WeCom member the roster does not know.
VISITOR_USERID = "visitor"


@dataclass(frozen=True)
class AppCredentials:
    """What identifies the WeCom application to the bot: from [wecom] and the environment, or the stand-in's."""

    api_base_url: str
    corp_id: str
    agent_id: int
    secret: str
    token: str
    encoding_aes_key: str

    @classmethod
    def configured(cls, settings: WeComSettings) -> "AppCredentials":
        assert settings.secret is not None and settings.encoding_aes_key is not None
        return cls(
            settings.api_base_url,
            settings.corp_id,
            settings.agent_id,
            settings.secret,
            settings.token,
            settings.encoding_aes_key,
        )

    @classmethod
    def of_standin(cls, standin: WeComStandIn) -> "AppCredentials":
        return cls(
            standin.url, standin.corp_id, standin.agent_id, standin.secret, standin.token, standin.encoding_aes_key
        )


class WeComBot:
    """The bot's WeCom side on the running event loop: start, (drain,) stop."""

    def __init__(
        self, services: Services, application: AppCredentials, settings: WeComSettings, engine_ready: asyncio.Event
    ) -> None:
        self._services, self._application, self._settings = services, application, settings
        self._engine_ready = engine_ready
        self._http: httpx.AsyncClient | None = None
        self._runner: web.AppRunner | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.queue: CallbackQueue | None = None
        self.callback_url = ""

    async def start(self) -> str:
        """Listen for callbacks and handle them; the callback URL as served here."""
        app, settings = self._application, self._settings
        self._http = httpx.AsyncClient(timeout=15)
        api = WeComApi(self._http, app.corp_id, app.secret, base_url=app.api_base_url)
        adapter = WeComAdapter(self._services, api, app.agent_id, engine_ready=self._engine_ready)
        inbox = CallbackInbox(self._services.database)
        self.queue = CallbackQueue(inbox, adapter.handle)
        crypto = WeComCrypto(app.token, app.encoding_aes_key, app.corp_id)
        endpoint = CallbackEndpoint(
            crypto,
            inbox,
            self.queue.put,
            path=settings.callback_path,
            max_age_seconds=settings.callback_max_age_seconds,
        )
        self._runner, port = await serve(endpoint.application(), settings.callback_host, settings.callback_port)
        self.callback_url = f"http://{settings.callback_host}:{port}{settings.callback_path}"
        self._tasks = [asyncio.create_task(self.queue.run()), asyncio.create_task(self._purge_daily(inbox))]
        return self.callback_url

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        if self._runner is not None:
            await self._runner.cleanup()
        if self._http is not None:
            await self._http.aclose()

    async def _purge_daily(self, inbox: CallbackInbox) -> None:
        """The question log's retention rule (bot.privacy), and the keys of long-handled callbacks."""
        while True:
            try:
                deleted = await asyncio.to_thread(self._services.purge)
                cutoff = self._services.clock.now() - KEEP_KEYS
                forgotten = await asyncio.to_thread(inbox.forget_handled_before, cutoff)
                log.info("purge: %d old questions, %d old WeCom callback keys deleted", deleted, forgotten)
            except Exception:  # a database outage must not end the loop; the next run catches up
                log.exception("purge failed")
            await asyncio.sleep(PURGE_INTERVAL_S)


def standin_members(services: Services) -> dict[str, str]:
    """The stand-in's members: everyone on the roster with a WeCom account, and a visitor it does not know."""
    with services.database.session() as session:
        people = session.scalars(
            select(Person).where(Person.active, Person.wecom_userid.is_not(None)).order_by(Person.id)
        )
        members = {p.wecom_userid: f"{p.name}（{p.position}）" for p in people if p.wecom_userid}
    return members | {VISITOR_USERID: "访客（不在花名册）"}


async def run_wecom(services: Services) -> None:
    """`zhengwu run` with ZHENGWU_CHANNEL=wecom, until cancelled (Ctrl-C)."""
    settings = services.settings.wecom
    assert settings is not None
    standin: WeComStandIn | None = None
    if settings.uses_standin:
        standin = WeComStandIn(members=standin_members(services))
        sandbox = services.settings.sandbox
        await standin.start(sandbox.host, sandbox.port)
        application = AppCredentials.of_standin(standin)
    else:
        application = AppCredentials.configured(settings)
    engine_ready = asyncio.Event()
    bot = WeComBot(services, application, settings, engine_ready)
    callback_url = await bot.start()
    if standin is not None:
        standin.callback_url = callback_url
        print(
            f"\n企业微信模拟已启动（没有 WECOM_SECRET）：在浏览器打开 {standin.url}/standin/ 与机器人对话\n", flush=True
        )
    else:
        log.info("WeCom callbacks at %s (behind the reverse proxy's public address)", callback_url)
    try:
        if services.engine is None:
            await asyncio.to_thread(services.load_engine, StartProgress())
        engine_ready.set()
        await asyncio.Event().wait()  # until cancelled
    finally:
        await bot.stop()
        if standin is not None:
            await standin.stop()


def main(services: Services) -> None:
    """Run in the foreground until Ctrl-C (bot.cli's `zhengwu run` with ZHENGWU_CHANNEL=wecom)."""
    try:
        asyncio.run(run_wecom(services))
    except KeyboardInterrupt:
        pass
