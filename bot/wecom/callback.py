"""The callback URL of the WeCom application, and the queue that does the work after acknowledging.

WeCom waits five seconds for an answer and then delivers the same callback again. So a callback is
verified, decrypted and written to the database (its key unique: a retried delivery is recognised
there, on SQLite as on PostgreSQL), answered at once, and handled afterwards by the queue's
workers. The row keeps the decrypted message until it is handled: a restart finishes what was
acknowledged before it. A request that is not provably fresh and from the platform (wrong
signature, altered ciphertext, old timestamp) is refused with 403 or 400 and changes nothing.
"""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from aiohttp import web
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from bot.db import WeComCallback, rows_changed, utc, utcnow
from bot.errors import BadSignature, CallbackRejected, StaleTimestamp, WrongReceiveId
from bot.storage import Database
from bot.wecom.crypto import WeComCrypto
from bot.wecom.inbound import Inbound, parse_inbound

log = logging.getLogger(__name__)

# The platform's callbacks are small XML envelopes; anything larger is not one.
MAX_BODY_BYTES = 64 * 1024
# Not from the platform (403) as against not in its documented shape (400).
FORBIDDEN = (BadSignature, StaleTimestamp, WrongReceiveId)
# How long the key of a handled callback is kept: far beyond the platform's retries (seconds apart).
KEEP_KEYS = timedelta(days=2)


class CallbackInbox:
    """The wecom_callbacks table: a callback accepted once, kept until handled."""

    def __init__(self, database: Database) -> None:
        self._database = database

    def accept(self, inbound: Inbound, plaintext: str) -> int | None:
        """Record the callback; its row id, or None when this callback was accepted before."""
        with self._database.session() as session:
            row = WeComCallback(dedupe_key=inbound.dedupe_key, payload=plaintext)
            session.add(row)
            try:
                session.commit()
            except IntegrityError:
                session.rollback()
                return None
            return row.id

    def waiting(self) -> list[int]:
        """Accepted callbacks not handled yet (after a restart: acknowledged, then interrupted)."""
        with self._database.session() as session:
            query = select(WeComCallback.id).where(WeComCallback.handled_at.is_(None)).order_by(WeComCallback.id)
            return list(session.scalars(query))

    def payload(self, row_id: int) -> str | None:
        with self._database.session() as session:
            row = session.get(WeComCallback, row_id)
            return row.payload if row is not None and row.handled_at is None else None

    def handled(self, row_id: int) -> None:
        """Done: the message itself is erased (it may be a question; the question log keeps what it
        must, for as long as it may), the key stays to recognise late retries."""
        with self._database.session() as session:
            row = session.get(WeComCallback, row_id)
            if row is not None:
                row.handled_at, row.payload = utcnow(), None
                session.commit()

    def forget_handled_before(self, moment: datetime) -> int:
        with self._database.session() as session:
            forgotten = rows_changed(
                session,
                delete(WeComCallback)
                .where(WeComCallback.handled_at < utc(moment))
                # The rows are not loaded: nothing in the session to keep in step.
                .execution_options(synchronize_session=False),
            )
            session.commit()
            return forgotten


Handle = Callable[[Inbound], Awaitable[None]]


class CallbackQueue:
    """Workers that handle accepted callbacks after they were acknowledged, each exactly once per
    acceptance; callbacks left unhandled by a previous run are taken up first."""

    def __init__(self, inbox: CallbackInbox, handle: Handle, workers: int = 4) -> None:
        self._inbox, self._handle, self._workers = inbox, handle, workers
        self._queue: asyncio.Queue[int] = asyncio.Queue()
        # Queued or in hand: a row both found waiting at start and just accepted is taken once.
        self._taken: set[int] = set()
        self._resumed = asyncio.Event()

    def put(self, row_id: int) -> None:
        if row_id not in self._taken:
            self._taken.add(row_id)
            self._queue.put_nowait(row_id)

    async def run(self) -> None:
        for row_id in await asyncio.to_thread(self._inbox.waiting):
            self.put(row_id)
        self._resumed.set()
        await asyncio.gather(*(self._work() for _ in range(self._workers)))

    async def drain(self) -> None:
        """Until what the previous run left and every callback put so far is handled (tests, a clean stop)."""
        await self._resumed.wait()
        await self._queue.join()

    async def _work(self) -> None:
        while True:
            row_id = await self._queue.get()
            try:
                await self._take(row_id)
            finally:
                self._taken.discard(row_id)
                self._queue.task_done()

    async def _take(self, row_id: int) -> None:
        plaintext = await asyncio.to_thread(self._inbox.payload, row_id)
        if plaintext is None:
            return
        try:
            await self._handle(parse_inbound(plaintext))
        except Exception:  # one callback's failure must not stop the workers; it is not retried
            log.exception("WeCom callback %s could not be handled", row_id)
        await asyncio.to_thread(self._inbox.handled, row_id)


class CallbackEndpoint:
    """The aiohttp routes of the callback URL: GET (URL verification) and POST (messages, events)."""

    def __init__(
        self,
        crypto: WeComCrypto,
        inbox: CallbackInbox,
        accepted: Callable[[int], None],
        *,
        path: str,
        max_age_seconds: float,
        now: Callable[[], float] = time.time,
    ) -> None:
        self._crypto, self._inbox, self._accepted = crypto, inbox, accepted
        self.path, self._max_age_seconds, self._now = path, max_age_seconds, now

    def application(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY_BYTES)
        app.router.add_get(self.path, self.verify)
        app.router.add_post(self.path, self.receive)
        return app

    async def verify(self, request: web.Request) -> web.Response:
        """Saving the callback URL in the admin console: echo the decrypted echostr."""
        query = request.query
        try:
            echo = self._crypto.verify_url(
                query.get("msg_signature", ""),
                query.get("timestamp", ""),
                query.get("nonce", ""),
                query.get("echostr", ""),
            )
        except CallbackRejected as error:
            return _refused(request, error)
        return web.Response(text=echo)

    async def receive(self, request: web.Request) -> web.Response:
        query = request.query
        try:
            body = await request.read()
            plaintext = self._crypto.decrypt_callback(
                body,
                query.get("msg_signature", ""),
                query.get("timestamp", ""),
                query.get("nonce", ""),
                max_age_seconds=self._max_age_seconds,
                now=self._now,
            )
            inbound = parse_inbound(plaintext)
        except CallbackRejected as error:
            return _refused(request, error)
        except web.HTTPRequestEntityTooLarge:
            log.warning("WeCom callback refused: body over %d bytes", MAX_BODY_BYTES)
            raise
        row_id = await asyncio.to_thread(self._inbox.accept, inbound, plaintext)
        if row_id is None:
            log.info("WeCom callback %s delivered again: already accepted", inbound.dedupe_key)
        else:
            self._accepted(row_id)
        # An empty 200 is the platform's "received, no passive reply"; the answer is sent by the API.
        return web.Response(text="")


def _refused(request: web.Request, error: CallbackRejected) -> web.Response:
    status = 403 if isinstance(error, FORBIDDEN) else 400
    # The reason names values, never the key; the body says nothing a prober could use.
    log.warning("WeCom callback refused (%d) from %s: %s", status, request.remote, error)
    return web.Response(status=status, text="")
