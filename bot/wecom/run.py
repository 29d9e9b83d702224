"""Running the bot in WeCom: the callback server, the queue that handles what it accepted, the API
client, the delivery loop sending the outbox through the WeCom channel (cards, notices, reminders,
group pushes), the application group chats; on the local stand-in when there is no WECOM_SECRET
(as Telegram runs on its sandbox without a token)."""

import asyncio
import logging
from dataclasses import dataclass

import httpx
from aiohttp import web
from sqlalchemy import select

from bot.config import WeComSettings
from bot.db import Person
from bot.delivery import Delivery, Renderers
from bot.errors import WeComApiError, WeComApiFailed
from bot.services import Services
from bot.start_progress import StartProgress
from bot.views import Workflows
from bot.web import serve
from bot.wecom.adapter import RecipientPacer, WeComAdapter
from bot.wecom.api import NO_SUCH_CHAT, WeComApi
from bot.wecom.callback import KEEP_KEYS, CallbackEndpoint, CallbackInbox, CallbackQueue
from bot.wecom.channel import WeComChannel
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


@dataclass(frozen=True)
class Features:
    """What the assembled features give the WeCom side (bot.app's wiring, handed in by bot.cli)."""

    renderers: Renderers
    workflows: Workflows


class WeComBot:
    """The bot's WeCom side on the running event loop: start, (drain,) stop."""

    def __init__(
        self,
        services: Services,
        application: AppCredentials,
        settings: WeComSettings,
        engine_ready: asyncio.Event,
        features: Features,
    ) -> None:
        self._services, self._application, self._settings = services, application, settings
        self._engine_ready, self._features = engine_ready, features
        self.delivery: Delivery | None = None
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
        pacer = RecipientPacer()  # one per application: answers and outbox messages share a member's quota
        adapter = WeComAdapter(
            self._services,
            api,
            app.agent_id,
            engine_ready=self._engine_ready,
            pacer=pacer,
            workflows=self._features.workflows,
        )
        channel = WeComChannel(api, settings, app.agent_id, pacer, self._features.workflows.actions)
        self.delivery = Delivery(self._services, channel, self._features.renderers)
        await ensure_group_chats(self._services, api, settings)
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
        self._tasks = [
            asyncio.create_task(self.queue.run()),
            asyncio.create_task(self._purge_daily(inbox)),
            asyncio.create_task(self.delivery.run(self._services.settings.reminder_scan_seconds)),
        ]
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


async def ensure_group_chats(services: Services, api: WeComApi, settings: WeComSettings) -> None:
    """Create each [wecom.groups] chat the platform does not know yet (appchat only reaches chats the
    application created): "office" with everyone on the roster who has a WeCom account, a
    department's with its members. A chat the platform refuses to create is logged, not fatal: its
    messages fail and the admins are told."""
    for name, chatid in settings.groups.items():
        try:
            await api.get("/cgi-bin/appchat/get", {"chatid": chatid})
            continue
        except WeComApiError as error:
            if error.errcode != NO_SUCH_CHAT:
                log.warning("WeCom group %s (%s) could not be checked: %s", name, chatid, error)
                continue
        with services.database.session() as session:
            query = select(Person.wecom_userid).where(Person.active, Person.wecom_userid.is_not(None))
            if name != "office":
                query = query.where(Person.department == name)
            members = [userid for userid in session.scalars(query.order_by(Person.id)) if userid]
        if len(members) < 2:  # the platform's minimum
            log.warning("WeCom group %s (%s) not created: fewer than two members with a WeCom account", name, chatid)
            continue
        chat = {"name": services.settings.group_label(name), "owner": members[0], "userlist": members, "chatid": chatid}
        try:
            await api.post("/cgi-bin/appchat/create", chat)
        except WeComApiFailed as error:
            log.warning("WeCom group %s (%s) could not be created: %s", name, chatid, error)


def standin_members(services: Services) -> dict[str, str]:
    """The stand-in's members: everyone on the roster with a WeCom account, and a visitor it does not know."""
    with services.database.session() as session:
        people = session.scalars(
            select(Person).where(Person.active, Person.wecom_userid.is_not(None)).order_by(Person.id)
        )
        members = {p.wecom_userid: f"{p.name}（{p.position}）" for p in people if p.wecom_userid}
    return members | {VISITOR_USERID: "访客（不在花名册）"}


async def run_wecom(services: Services, features: Features) -> None:
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
    bot = WeComBot(services, application, settings, engine_ready, features)
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


def main(services: Services, features: Features) -> None:
    """Run in the foreground until Ctrl-C (bot.cli's `zhengwu run` with ZHENGWU_CHANNEL=wecom)."""
    try:
        asyncio.run(run_wecom(services, features))
    except KeyboardInterrupt:
        pass
