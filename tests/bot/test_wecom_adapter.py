"""Sending to a member: again (after a growing pause) while the platform is busy or unreachable,
never after a refusal for good."""

from typing import Any

import pytest

from bot.errors import WeComApiError, WeComApiFailed
from bot.wecom.adapter import SEND_ATTEMPTS, Reply, WeComAdapter


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
