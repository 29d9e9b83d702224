"""The WeCom access token against a small local WeCom over real HTTP: fetched once, reused until shortly
before it expires, renewed once when a call says it expired, and every error code explained."""

import json
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from bot.errors import WeComApiError, WeComApiFailed
from bot.wecom.api import EXPIRY_MARGIN_SECONDS, WeComApi

CORP_ID = "ww1436e0e65a779aee"
CORP_SECRET = "test-secret-not-for-logs"
TOKEN_LIFETIME = 7200


@dataclass
class LocalWeCom:
    """What the local server has done and how it should answer next."""

    tokens_issued: list[str] = field(default_factory=list)
    expired_tokens: set[str] = field(default_factory=set)
    delivered: list[tuple[str, dict]] = field(default_factory=list)
    gettoken_answer: dict | None = None
    send_answer: dict | None = None
    base_url: str = ""

    def expire_all_tokens(self) -> None:
        self.expired_tokens.update(self.tokens_issued)


def _handler_for(wecom: LocalWeCom) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlsplit(self.path)
            query = parse_qs(url.query)
            if url.path != "/cgi-bin/gettoken":
                return self._answer({"errcode": 404, "errmsg": "no such path"})
            if wecom.gettoken_answer is not None:
                return self._answer(wecom.gettoken_answer)
            if query.get("corpid") != [CORP_ID] or query.get("corpsecret") != [CORP_SECRET]:
                return self._answer({"errcode": 40001, "errmsg": "invalid credential"})
            token = f"token-{len(wecom.tokens_issued) + 1}"
            wecom.tokens_issued.append(token)
            self._answer({"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": TOKEN_LIFETIME})

        def do_POST(self) -> None:
            url = urlsplit(self.path)
            token = parse_qs(url.query).get("access_token", [""])[0]
            payload = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            if token in wecom.expired_tokens:
                return self._answer({"errcode": 42001, "errmsg": "access_token expired"})
            if wecom.send_answer is not None:
                return self._answer(wecom.send_answer)
            wecom.delivered.append((token, payload))
            self._answer({"errcode": 0, "errmsg": "ok"})

        def _answer(self, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@pytest.fixture
def local_wecom() -> Iterator[LocalWeCom]:
    wecom = LocalWeCom()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(wecom))
    wecom.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    # A short poll interval so shutdown() returns at once.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield wecom
    server.shutdown()
    server.server_close()
    thread.join()


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def send(api: WeComApi, text: str) -> dict:
    return await api.post("/cgi-bin/message/send", {"touser": "zhangsan", "msgtype": "text", "text": {"content": text}})


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def api(local_wecom: LocalWeCom, clock: FakeClock) -> AsyncIterator[WeComApi]:
    async with httpx.AsyncClient() as http:
        yield WeComApi(http, CORP_ID, CORP_SECRET, base_url=local_wecom.base_url, clock=clock)


async def test_the_token_is_fetched_once_and_reused_while_it_is_valid(api: WeComApi, local_wecom: LocalWeCom) -> None:
    await send(api, "第一条")
    await send(api, "第二条")

    assert local_wecom.tokens_issued == ["token-1"]
    assert [token for token, _ in local_wecom.delivered] == ["token-1", "token-1"]


async def test_the_token_is_renewed_shortly_before_it_expires(
    api: WeComApi, local_wecom: LocalWeCom, clock: FakeClock
) -> None:
    await send(api, "第一条")
    clock.now += TOKEN_LIFETIME - EXPIRY_MARGIN_SECONDS - 1
    await send(api, "第二条")
    clock.now += 1
    await send(api, "第三条")

    assert [token for token, _ in local_wecom.delivered] == ["token-1", "token-1", "token-2"]


async def test_a_call_refused_for_an_expired_token_is_sent_again_once_with_a_new_token(
    api: WeComApi, local_wecom: LocalWeCom
) -> None:
    await send(api, "第一条")
    local_wecom.expire_all_tokens()

    await send(api, "第二条")

    assert local_wecom.tokens_issued == ["token-1", "token-2"]
    assert [(token, payload["text"]["content"]) for token, payload in local_wecom.delivered] == [
        ("token-1", "第一条"),
        ("token-2", "第二条"),
    ]


async def test_a_token_refused_again_after_renewal_is_an_error_not_a_loop(
    api: WeComApi, local_wecom: LocalWeCom
) -> None:
    local_wecom.send_answer = {"errcode": 42001, "errmsg": "access_token expired"}

    with pytest.raises(WeComApiError, match="42001 \\(访问凭证已过期\\)") as raised:
        await send(api, "一条")

    assert raised.value.errcode == 42001
    assert local_wecom.tokens_issued == ["token-1", "token-2"]


async def test_an_error_code_is_raised_with_its_chinese_meaning(api: WeComApi, local_wecom: LocalWeCom) -> None:
    local_wecom.send_answer = {"errcode": 45009, "errmsg": "api freq out of limit"}

    with pytest.raises(WeComApiError, match="errcode 45009 \\(接口调用超过限制\\): 'api freq out of limit'"):
        await send(api, "一条")

    assert local_wecom.tokens_issued == ["token-1"]


async def test_an_unknown_error_code_still_says_where_to_look(api: WeComApi, local_wecom: LocalWeCom) -> None:
    local_wecom.send_answer = {"errcode": 99999, "errmsg": "something new"}

    with pytest.raises(WeComApiError, match="99999 \\(未收录的错误码"):
        await send(api, "一条")


async def test_a_rejected_secret_fails_without_showing_the_secret(local_wecom: LocalWeCom, clock: FakeClock) -> None:
    async with httpx.AsyncClient() as http:
        api = WeComApi(http, CORP_ID, "wrong-secret", base_url=local_wecom.base_url, clock=clock)
        with pytest.raises(WeComApiError, match="40001") as raised:
            await send(api, "一条")

    assert "wrong-secret" not in str(raised.value)
    assert local_wecom.delivered == []


async def test_an_unreachable_host_is_one_clear_error_without_the_secret(clock: FakeClock) -> None:
    async with httpx.AsyncClient() as http:
        api = WeComApi(http, CORP_ID, CORP_SECRET, base_url="http://127.0.0.1:9", clock=clock)
        with pytest.raises(WeComApiFailed, match="ConnectError reaching http://127.0.0.1:9") as raised:
            await api.access_token()

    assert CORP_SECRET not in str(raised.value)


async def test_an_answer_without_a_token_is_a_clear_error(api: WeComApi, local_wecom: LocalWeCom) -> None:
    local_wecom.gettoken_answer = {"errcode": 0, "errmsg": "ok"}

    with pytest.raises(WeComApiFailed, match="without a token"):
        await api.access_token()
