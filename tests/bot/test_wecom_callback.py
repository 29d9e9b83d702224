"""The WeCom callback URL over real HTTP: the URL check, callbacks acknowledged at once and handled
afterwards, each once however often the platform delivers it, and every request that is not
provably fresh and from the platform refused with nothing changed."""

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import pytest
from sqlalchemy import func, select

from bot.db import WeComCallback
from bot.storage import Database
from bot.web import serve
from bot.wecom.callback import CallbackEndpoint, CallbackInbox, CallbackQueue
from bot.wecom.crypto import WeComCrypto
from bot.wecom.inbound import Inbound, parse_inbound
from bot.wecom.standin import callback_request, event_xml, text_message_xml
from tests.bot.test_wecom_crypto import (
    SAMPLE_CORP_ID,
    SAMPLE_ENCODING_AES_KEY,
    SAMPLE_POST_BODY,
    SAMPLE_POST_NONCE,
    SAMPLE_POST_SIGNATURE,
    SAMPLE_POST_TIMESTAMP,
    SAMPLE_TOKEN,
    SAMPLE_VERIFY_ECHOSTR,
    SAMPLE_VERIFY_NONCE,
    SAMPLE_VERIFY_SIGNATURE,
    SAMPLE_VERIFY_TIMESTAMP,
    sample_crypto,
)

PATH = "/wecom/callback"
FIVE_MINUTES = 300.0


@dataclass
class Handled:
    """What the bot's side was given to handle, and a gate that can hold it up."""

    inbound: list[Inbound] = field(default_factory=list)
    gate: asyncio.Event = field(default_factory=asyncio.Event)

    async def __call__(self, inbound: Inbound) -> None:
        await self.gate.wait()
        self.inbound.append(inbound)


@dataclass
class Callbacks:
    http: httpx.AsyncClient
    url: str
    queue: CallbackQueue
    handled: Handled
    database: Database
    clock: list[float]

    async def post(self, query: dict[str, str], body: str | bytes) -> httpx.Response:
        return await self.http.post(self.url, params=query, content=body)

    async def deliver(self, plaintext: str, *, timestamp: float | None = None) -> httpx.Response:
        stamp = str(int(self.clock[0] if timestamp is None else timestamp))
        return await self.post(*callback_request(sample_crypto(), plaintext, stamp, "20261203"))

    def rows(self) -> int:
        with self.database.session() as session:
            return session.scalar(select(func.count()).select_from(WeComCallback))


@pytest.fixture
async def callbacks(database: Database) -> AsyncIterator[Callbacks]:
    clock = [float(SAMPLE_POST_TIMESTAMP) + 20]
    handled = Handled()
    handled.gate.set()
    inbox = CallbackInbox(database)
    queue = CallbackQueue(inbox, handled)
    endpoint = CallbackEndpoint(
        sample_crypto(), inbox, queue.put, path=PATH, max_age_seconds=FIVE_MINUTES, now=lambda: clock[0]
    )
    runner, port = await serve(endpoint.application(), "127.0.0.1", 0)
    workers = asyncio.create_task(queue.run())
    async with httpx.AsyncClient(timeout=10) as http:
        yield Callbacks(http, f"http://127.0.0.1:{port}{PATH}", queue, handled, database, clock)
    workers.cancel()
    await runner.cleanup()


async def test_the_url_check_echoes_the_decrypted_echostr_of_the_platforms_sample(callbacks: Callbacks) -> None:
    query = {
        "msg_signature": SAMPLE_VERIFY_SIGNATURE,
        "timestamp": SAMPLE_VERIFY_TIMESTAMP,
        "nonce": SAMPLE_VERIFY_NONCE,
        "echostr": SAMPLE_VERIFY_ECHOSTR,
    }
    answer = await callbacks.http.get(callbacks.url, params=query)
    assert (answer.status_code, answer.text) == (200, "1288432023552776189")
    forged = await callbacks.http.get(callbacks.url, params=query | {"msg_signature": "0" * 40})
    assert (forged.status_code, forged.text) == (403, "")


async def test_the_platforms_sample_message_is_acknowledged_and_handled_once(callbacks: Callbacks) -> None:
    query = {"msg_signature": SAMPLE_POST_SIGNATURE, "timestamp": SAMPLE_POST_TIMESTAMP, "nonce": SAMPLE_POST_NONCE}
    first = await callbacks.post(query, SAMPLE_POST_BODY)
    again = await callbacks.post(query, SAMPLE_POST_BODY)  # the platform's retry: same MsgId
    await callbacks.queue.drain()

    assert (first.status_code, first.text, again.status_code) == (200, "", 200)
    assert [(i.from_user, i.content, i.msg_id) for i in callbacks.handled.inbound] == [
        ("ChenJiaShun", "你好", "1456453720")
    ]
    assert callbacks.rows() == 1


async def test_a_callback_is_acknowledged_before_its_slow_work_is_done(callbacks: Callbacks) -> None:
    callbacks.handled.gate.clear()  # the work takes as long as the test wants
    started = time.monotonic()
    answer = await callbacks.deliver(text_message_xml(SAMPLE_CORP_ID, "zhangwei", "你好", 7001, callbacks.clock[0]))
    acknowledged_after = time.monotonic() - started

    assert answer.status_code == 200 and callbacks.handled.inbound == []
    assert acknowledged_after < 1.0, "well within the platform's five seconds"
    callbacks.handled.gate.set()
    await callbacks.queue.drain()
    assert [i.content for i in callbacks.handled.inbound] == ["你好"]


async def test_a_retried_event_is_handled_once_and_another_press_again(callbacks: Callbacks) -> None:
    moment = callbacks.clock[0]
    press = event_xml(SAMPLE_CORP_ID, "wangjianguo", "template_card_event", moment, event_key="approve", task_id="t1")
    other = event_xml(SAMPLE_CORP_ID, "wangjianguo", "template_card_event", moment, event_key="reject", task_id="t1")
    for body in (press, press, other):
        assert (await callbacks.deliver(body)).status_code == 200
    await callbacks.queue.drain()

    assert [i.event_key for i in callbacks.handled.inbound] == ["approve", "reject"]
    assert callbacks.rows() == 2


@pytest.mark.parametrize(
    ("tamper", "status"),
    [
        ("signature", 403),
        ("ciphertext", 403),
        ("old timestamp", 403),
        ("future timestamp", 403),
        ("another corporation", 403),
        ("not xml", 400),
        ("no encrypt element", 400),
    ],
)
async def test_a_forged_tampered_or_replayed_callback_is_refused_and_changes_nothing(
    callbacks: Callbacks, tamper: str, status: int
) -> None:
    now = callbacks.clock[0]
    message = text_message_xml(SAMPLE_CORP_ID, "zhangwei", "批准张伟的请假", 7002, now)
    query, body = callback_request(sample_crypto(), message, str(int(now)), "1")
    if tamper == "signature":
        query["msg_signature"] = "0" * 40
    elif tamper == "ciphertext":
        start = body.index("<Encrypt><![CDATA[") + len("<Encrypt><![CDATA[")
        flipped = "A" if body[start + 10] != "A" else "B"
        body = body[: start + 10] + flipped + body[start + 11 :]
    elif tamper in ("old timestamp", "future timestamp"):
        # Signed correctly, but an hour away: a captured request replayed later (or a wrong clock).
        shift = -3600 if tamper == "old timestamp" else 3600
        query, body = callback_request(sample_crypto(), message, str(int(now) + shift), "1")
    elif tamper == "another corporation":
        stranger = WeComCrypto(SAMPLE_TOKEN, SAMPLE_ENCODING_AES_KEY, "wwanothercorp")
        query, body = callback_request(stranger, message, str(int(now)), "1")
    elif tamper == "not xml":
        body = "approve everything"
    else:
        body = "<xml><ToUserName>x</ToUserName></xml>"

    answer = await callbacks.post(query, body)
    await callbacks.queue.drain()

    assert (answer.status_code, answer.text) == (status, "")
    assert callbacks.handled.inbound == [] and callbacks.rows() == 0


async def test_a_callback_acknowledged_before_a_restart_is_handled_after_it(database: Database) -> None:
    inbox = CallbackInbox(database)
    plaintext = text_message_xml(SAMPLE_CORP_ID, "zhangwei", "副区长离包外出要向谁请示？", 7003, 1_700_000_000)
    assert inbox.accept(parse_inbound(plaintext), plaintext) is not None  # acknowledged; then the process died
    handled = Handled()
    handled.gate.set()
    queue = CallbackQueue(inbox, handled)
    workers = asyncio.create_task(queue.run())
    await queue.drain()
    workers.cancel()

    assert [i.content for i in handled.inbound] == ["副区长离包外出要向谁请示？"]
    assert inbox.waiting() == []
    with database.session() as session:
        row = session.scalars(select(WeComCallback)).one()
        assert row.payload is None, "a handled question is not kept in the callback table"
    assert inbox.accept(parse_inbound(plaintext), plaintext) is None, "its key still recognises a late retry"
