"""Serving an aiohttp application on the current event loop (the sandbox server, the console)."""

from aiohttp import web


async def serve(app: web.Application, host: str, port: int) -> tuple[web.AppRunner, int]:
    """Start `app` on host:port; the runner (to clean up) and the real port (when 0 was asked)."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    # The runner's only site: its listening socket's (host, port, ...) address.
    return runner, runner.addresses[0][1]
