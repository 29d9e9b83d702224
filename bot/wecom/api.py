"""The WeCom server API (企业微信 / 政务微信): the access token, cached and refreshed, and calls with it.

A 政务微信 deployment serves the same API under its own host, hence `base_url`. Every nonzero errcode
is logged with its meaning from ERROR_MEANINGS, then raised as WeComApiError.
"""

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

import httpx

from bot.errors import WeComApiError, WeComApiFailed

logger = logging.getLogger(__name__)

PUBLIC_BASE_URL = "https://qyapi.weixin.qq.com"
# Tokens are renewed this long before the platform says they expire, so a call never races the expiry.
EXPIRY_MARGIN_SECONDS = 300.0
# The codes with which a call says "this token is no longer good": fetch a new one and retry once.
TOKEN_EXPIRED_CODES = frozenset({40001, 40014, 42001})
# appchat: no group chat with that chatid (one the application has not created).
NO_SUCH_CHAT = 86003

ERROR_MEANINGS: dict[int, str] = {
    -1: "系统繁忙，稍后重试",
    40001: "应用密钥或访问凭证不合法",
    40013: "企业ID不合法",
    40014: "访问凭证不合法",
    40056: "应用ID不合法",
    40058: "参数不合法（如卡片的响应码已用过或已过期）",
    41001: "缺少访问凭证参数",
    42001: "访问凭证已过期",
    45002: "消息内容超过长度限制",
    45009: "接口调用超过限制",
    45033: "接口并发调用超过限制",
    48002: "应用无权限调用该接口",
    60020: "访问 IP 不在应用的可信 IP 列表中",
    81013: "成员ID、部门ID、标签ID全部非法或无权限",
    86003: "群聊不存在",
}


def meaning_of(errcode: int) -> str:
    return ERROR_MEANINGS.get(errcode, "未收录的错误码，请查企业微信全局错误码文档")


class WeComApi:
    """Calls the API of one application (corp id + secret) with a shared, self-renewing access token."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        corp_id: str,
        corp_secret: str,
        *,
        base_url: str = PUBLIC_BASE_URL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._http = http
        self._corp_id = corp_id
        self._corp_secret = corp_secret
        self._base_url = base_url.rstrip("/")
        self._clock = clock
        self._token: str | None = None
        self._token_valid_until = 0.0
        # One fetch at a time: concurrent callers with an expired token wait for the same new one.
        self._token_lock = asyncio.Lock()

    async def access_token(self) -> str:
        async with self._token_lock:
            if self._token is not None and self._clock() < self._token_valid_until:
                return self._token
            return await self._fetch_token()

    async def post(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        """POST payload to path (e.g. /cgi-bin/message/send) with the access token; the answer's JSON."""
        return await self._with_token("POST", path, {}, payload)

    async def get(self, path: str, params: dict[str, str]) -> dict[str, Any]:
        """GET path (e.g. /cgi-bin/appchat/get) with params and the access token; the answer's JSON."""
        return await self._with_token("GET", path, params, None)

    async def _with_token(
        self, method: str, path: str, params: dict[str, str], payload: dict[str, Any] | None
    ) -> dict[str, Any]:
        token = await self.access_token()
        try:
            return await self._request(method, path, {**params, "access_token": token}, payload)
        except WeComApiError as error:
            if error.errcode not in TOKEN_EXPIRED_CODES:
                raise
            await self._discard_token(token)
            return await self._request(method, path, {**params, "access_token": await self.access_token()}, payload)

    async def _fetch_token(self) -> str:
        answer = await self._request(
            "GET", "/cgi-bin/gettoken", {"corpid": self._corp_id, "corpsecret": self._corp_secret}, None
        )
        try:
            token, expires_in = str(answer["access_token"]), float(answer["expires_in"])
        except (KeyError, TypeError, ValueError):
            raise WeComApiFailed(f"/cgi-bin/gettoken answered without a token: keys {sorted(answer)!r}") from None
        self._token = token
        self._token_valid_until = self._clock() + max(expires_in - EXPIRY_MARGIN_SECONDS, 0.0)
        return token

    async def _discard_token(self, rejected: str) -> None:
        async with self._token_lock:
            # Another call may already have replaced it; its new token must stay.
            if self._token == rejected:
                self._token = None

    async def _request(
        self, method: str, path: str, params: dict[str, str], payload: dict[str, Any] | None
    ) -> dict[str, Any]:
        # The query carries the secret or the token: errors name the path only.
        try:
            response = await self._http.request(method, self._base_url + path, params=params, json=payload)
            response.raise_for_status()
            answer = response.json()
        except httpx.HTTPStatusError as error:
            raise WeComApiFailed(f"{path}: HTTP {error.response.status_code}") from None
        except httpx.HTTPError as error:
            sent = isinstance(error, httpx.ReadTimeout | httpx.RemoteProtocolError)
            raise WeComApiFailed(f"{path}: {type(error).__name__} reaching {self._base_url}", sent) from None
        except ValueError:
            raise WeComApiFailed(f"{path}: the answer is not JSON") from None
        if not isinstance(answer, dict):
            raise WeComApiFailed(f"{path}: the answer is not a JSON object")
        errcode = answer.get("errcode", 0)
        if not isinstance(errcode, int):
            raise WeComApiFailed(f"{path}: errcode {errcode!r} is not a number")
        if errcode != 0:
            meaning = meaning_of(errcode)
            logger.warning("WeCom %s errcode %s (%s): %s", path, errcode, meaning, answer.get("errmsg"))
            raise WeComApiError(path, errcode, str(answer.get("errmsg", "")), meaning)
        return answer
