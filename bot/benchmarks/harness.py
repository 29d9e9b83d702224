"""Run the bot in-process against a sandbox server: real HTTP, real PTB polling, in threads.

Tests and the chat benchmark use this; `zhengwu run` does the same with run_polling.
"""

import asyncio
import threading

from telegram.ext import Application

from bot.app import DELIVERY, build_application
from bot.delivery import Step
from bot.sandbox.launch import SANDBOX_TOKEN, sandbox_server
from bot.sandbox.server import SandboxServer
from bot.services import Services


class RunningBot:
    """A PTB application polling a sandbox server from its own event loop thread."""

    def __init__(self, services: Services, server: SandboxServer) -> None:
        self.services = services
        self.server = server
        self.application: Application = build_application(
            services, SANDBOX_TOKEN, server.bot_api_base_url, limit_rate=False
        )
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="bot", daemon=True)

    def start(self) -> "RunningBot":
        self._thread.start()
        self._call(self._start())
        return self

    async def _start(self) -> None:
        await self.application.initialize()
        if self.application.post_init:
            await self.application.post_init(self.application)
        assert self.application.updater is not None  # ApplicationBuilder builds one by default
        await self.application.updater.start_polling(poll_interval=0.0, timeout=10)
        await self.application.start()

    async def _stop(self) -> None:
        assert self.application.updater is not None  # ApplicationBuilder builds one by default
        await self.application.updater.stop()
        await self.application.stop()
        if self.application.post_stop:
            await self.application.post_stop(self.application)
        await self.application.shutdown()

    def stop(self) -> None:
        self._call(self._stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def deliver(self) -> Step:
        """Step the delivery loop once (until nothing more is due now): what the periodic scan
        would do, without waiting for it."""

        async def until_idle() -> Step:
            total = Step(0, 0)
            while (step := await self.application.bot_data[DELIVERY].step()).claimed:
                total = Step(total.claimed + step.claimed, total.sent + step.sent)
            return total

        return self._call(until_idle())

    def _call(self, coroutine):  # noqa: ANN001, ANN202 - any coroutine, its result
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(60)


def start_sandbox(services: Services) -> SandboxServer:
    """A sandbox server on a free port for the roster in `services`."""
    server = sandbox_server(services, "127.0.0.1", 0)
    server.start_in_thread()
    return server
