"""Sending to a member: again (after a growing pause) while the platform is busy or unreachable,
never after a refusal for good."""

from typing import Any

import pytest

from bot.errors import WeComApiError, WeComApiFailed
from bot.wecom.adapter import SEND_ATTEMPTS, RecipientPacer, Reply, WeComAdapter


class FlakyApi:
    def __init__(self, failures: list[Exception]) -> None:
        self.failures, self.sent = failures, []

    async def post(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append(payload)
        return {"errcode": 0}


def busy(errcode: int = -1) -> WeComApiError:
    return WeComApiError("/cgi-bin/message/send", errcode, "busy", "系统繁忙，稍后重试")


def adapter_with(api: FlakyApi, pauses: list[float]) -> WeComAdapter:
    async def pause(seconds: float) -> None:
        pauses.append(seconds)

    return WeComAdapter(services=None, api=api, agent_id=1000002, pause=pause)  # type: ignore[arg-type]


async def test_a_busy_or_unreachable_platform_is_tried_again_after_growing_pauses() -> None:
    api, pauses = FlakyApi([busy(-1), WeComApiFailed("connection refused"), busy(45009)]), []
    await adapter_with(api, pauses).send("zhangwei", Reply("markdown", "「条文」"))

    assert pauses == [1.0, 2.0, 4.0]
    assert api.sent == [
        {"touser": "zhangwei", "agentid": 1000002, "msgtype": "markdown", "markdown": {"content": "「条文」"}}
    ]


async def test_a_refusal_for_good_is_not_retried_and_giving_up_is_raised() -> None:
    refused, pauses = FlakyApi([busy(81013)]), []
    with pytest.raises(WeComApiError):
        await adapter_with(refused, pauses).send("nobody", Reply("text", "你好"))
    assert pauses == [] and refused.sent == []

    down = FlakyApi([WeComApiFailed("connection refused")] * SEND_ATTEMPTS)
    with pytest.raises(WeComApiFailed):
        await adapter_with(down, pauses).send("zhangwei", Reply("text", "你好"))
    assert len(pauses) == SEND_ATTEMPTS - 1 and down.sent == []


class PausingClock:
    """A clock that moves only when the pacer pauses."""

    def __init__(self) -> None:
        self.now, self.pauses = 0.0, []

    def __call__(self) -> float:
        return self.now

    async def pause(self, seconds: float) -> None:
        self.pauses.append(seconds)
        self.now += seconds


async def test_messages_to_one_member_beyond_the_platforms_quota_wait_instead_of_being_dropped() -> None:
    clock = PausingClock()
    pacer = RecipientPacer(clock, clock.pause, limits=((60.0, 3), (3600.0, 5)))
    sent_at = []
    for _ in range(6):
        await pacer.wait_turn("ZhangWei")
        sent_at.append(clock.now)
        clock.now += 1.0
    await pacer.wait_turn("liuyang")  # another member is not held back

    assert sent_at[:3] == [0.0, 1.0, 2.0]
    assert sent_at[3] == 60.0, "the fourth in a minute waits for the first to leave the minute"
    assert sent_at[5] == 3600.0, "the sixth in an hour waits for the hour"
    assert clock.now == sent_at[5] + 1.0, "liuyang went at once"
