"""The bot's rate limiter leaves the typing indicator out: not counted, not retried."""

import time

import pytest
from telegram.error import RetryAfter

from bot.app import RateLimiter


async def test_typing_is_neither_counted_nor_retried_and_its_429_holds_nothing_back() -> None:
    limiter = RateLimiter(overall_max_rate=1, overall_time_period=60, group_max_rate=0, max_retries=5)
    await limiter.initialize()
    typing_calls: list[float] = []

    async def typing() -> bool:
        typing_calls.append(time.monotonic())
        raise RetryAfter(30)

    async def send() -> dict:
        return {"ok": True}

    started = time.monotonic()
    for _ in range(3):
        with pytest.raises(RetryAfter):
            await limiter.process_request(typing, (), {}, "sendChatAction", {"chat_id": 1}, None)
    # One message a minute is allowed: the typing attempts above did not use it up.
    assert await limiter.process_request(send, (), {}, "sendMessage", {"chat_id": 1}, None) == {"ok": True}
    assert len(typing_calls) == 3 and time.monotonic() - started < 5
    await limiter.shutdown()
