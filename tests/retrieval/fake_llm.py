"""A local OpenAI-compatible endpoint for tests: real HTTP, canned chat completions."""

import asyncio
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from aiohttp import web


@contextmanager
def fake_openai_endpoint(reply: str, delay_s: float = 0.0, status: int = 200) -> Iterator[tuple[str, list[dict]]]:
    """Serve /v1/chat/completions on 127.0.0.1; yields (base_url, received request bodies)."""
    received: list[dict] = []

    async def completions(request: web.Request) -> web.Response:
        received.append(await request.json())
        await asyncio.sleep(delay_s)
        if status != 200:
            return web.json_response({"error": {"message": "boom", "type": "server_error"}}, status=status)
        return web.json_response(
            {
                "id": "chatcmpl-test",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": "fake",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": reply}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
            }
        )

    loop = asyncio.new_event_loop()
    app = web.Application()
    app.router.add_post("/v1/chat/completions", completions)
    runner = web.AppRunner(app)
    loop.run_until_complete(runner.setup())
    site = web.TCPSite(runner, "127.0.0.1", 0)
    loop.run_until_complete(site.start())
    port = site._server.sockets[0].getsockname()[1]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}/v1", received
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
