"""The delivery loop: sends what the outbox holds (cards, redraws, notices, reminders) through the
channel the bot runs on, and records each outcome.

A row goes pending → claimed → sending → sent, each step committed:
- rows are claimed with FOR UPDATE SKIP LOCKED, so two bot processes never take the same one;
- `sending` is committed just before the channel's call. After a crash a row still `claimed` was
  never handed over and goes out again; a row left `sending` may already be in the chat and is
  marked `unconfirmed` instead of being doubled (so is a send whose answer timed out);
- a channel asking to wait (429) puts the row back for then; busy or unreachable retries with a
  growing pause; a refusal for good (blocked, no such chat) fails the row, and the admins are told.

Rendering happens at send time, from the database: a card shows its item as it is when it goes
out, as a channel-neutral View (bot.views) whose buttons carry the version they were drawn for.
Renderers live with the features (one per card subject, one per notice template); the application
hands the assembled table to the loop (`Renderers`). The loop knows a channel only through
`Channel`: where a recipient's messages go, send, edit.
"""

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.db import BlockedChat, Person, aware, utc, utcnow
from bot.services import Services
from bot.views import View, notice
from bot.workflow.context import WorkContext
from bot.workflow.models import Card, OutboxKind, OutboxMessage, OutboxStatus
from bot.workflow.outbox import Recipient, parse_recipient, person_recipient, queue_redraw
from bot.workflow.transitions import Versioned, current_version

log = logging.getLogger(__name__)
T = TypeVar("T")
HOST = socket.gethostname()
# A row claimed by a worker on another host that has not finished it for this long is taken over.
CLAIM_LEASE = timedelta(minutes=2)
MAX_ATTEMPTS = 10
# The loop never spins faster than this, whatever is due.
MIN_PAUSE_S = 0.5
# The first pause after a 5xx or a connection error; it doubles with each attempt.
BACKOFF = timedelta(seconds=5)


# Renderers return None when the message is no longer owed (e.g. a reminder of a closed deadline).
CardRenderer = Callable[[Session, Card, OutboxMessage, WorkContext], View | None]
NoticeRenderer = Callable[[Session, OutboxMessage, WorkContext], View | None]


class SendFailed(Exception):
    """What became of a send the channel did not complete; `error` is kept on the row."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


class Refused(SendFailed):
    """Refused for good (blocked by the person, no such chat): the row fails, the admins are told."""


class RetryLater(SendFailed):
    """Not sent, may be sent later: the channel is busy or unreachable (a growing pause), or asked
    to wait `retry_after` (a flood limit, which is not a failed attempt)."""

    def __init__(self, error: str, retry_after: timedelta | None = None) -> None:
        super().__init__(error)
        self.retry_after = retry_after


class MaybeSent(SendFailed):
    """Handed over without an answer (a timeout after the request left): it may be in the chat."""


class Channel(Protocol):
    """What the loop needs of a messenger. `Address` is the channel's own: a Telegram chat id, a WeCom
    member or application group chat. `send` and `edit` raise SendFailed; they return the message's
    handle, which the next edit of a card is given (an edit may hand back a new one)."""

    def address(self, session: Session, recipient: Recipient) -> Any | None:
        """Where `recipient`'s messages go on this channel; None when it has no such chat."""
        ...

    def describe(self, session: Session, recipient: Recipient) -> str:
        """A chat the office does not know by name, in words ("未登记的会话（编号 …）")."""
        ...

    async def send(self, address: Any, view: View) -> str | None: ...

    async def edit(self, address: Any, handle: str, view: View) -> str | None: ...


@dataclass(frozen=True)
class Renderers:
    """What the loop draws with, assembled from the features: a renderer per card subject and per
    notice template, and each card subject's model (whose version a card shows)."""

    cards: Mapping[str, CardRenderer]
    notices: Mapping[str, NoticeRenderer]
    models: Mapping[str, type[Versioned]]


@dataclass(frozen=True)
class Step:
    claimed: int
    sent: int


@dataclass(frozen=True)
class _Job:
    row_id: int
    kind: str
    address: Any
    message_id: str | None
    rendered: View | None


class Delivery:
    """One delivery worker. `step()` sends what is due now (tests step it); `run()` loops."""

    def __init__(self, services: Services, channel: Channel, renderers: Renderers) -> None:
        self.services = services
        self.channel = channel
        self.renderers = renderers
        self.worker = f"{HOST}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._recovered = False
        self._lock = asyncio.Lock()

    async def run(self, interval_s: float) -> None:
        """Deliver forever: at once when a unit of work rings the doorbell, when a notice put back
        for a retry falls due, and otherwise every interval (reminders)."""
        while True:
            pause = interval_s
            try:
                while (await self.step()).claimed:
                    pass
                pause = await self._unit(self._pause_before_next, interval_s)
            except Exception:  # a database outage must not end the loop; the rows wait in the outbox
                log.exception("delivery step failed")
            await self.services.doorbell.wait(pause)

    def _pause_before_next(self, session: Session, interval_s: float) -> float:
        """Seconds until the earliest pending notice is due (reminders keep to the scan interval)."""
        due = session.scalar(
            select(func.min(OutboxMessage.send_at)).where(
                OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.working_hours_only.is_(False)
            )
        )
        if due is None:
            return interval_s
        wait = (aware(due) - self.services.clock.now()).total_seconds()
        return min(interval_s, max(wait, MIN_PAUSE_S))

    async def step(self, batch: int = 50) -> Step:
        """Claim one batch of due rows and send them; one step at a time per worker."""
        async with self._lock:
            if not self._recovered:
                await self._unit(self._recover)
                self._recovered = True
            claimed = await self._unit(self._claim, batch)
            sent = 0
            for row_id in claimed:
                sent += await self._deliver(row_id)
            await self._report_undeliverable()
            return Step(len(claimed), sent)

    async def _unit(self, work: Callable[..., T], *args: Any) -> T:
        return await asyncio.to_thread(self.services.run, lambda session: work(session, *args))

    # ----- claiming ------------------------------------------------------------------------------

    def _recover(self, session: Session) -> None:
        """Rows left behind by a stopped worker of this host are settled at once, not after the lease."""
        for row in session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.status.in_((OutboxStatus.CLAIMED, OutboxStatus.SENDING)))
            .with_for_update(skip_locked=True)
        ):
            if row.claimed_by and _worker_gone(row.claimed_by, self.worker):
                _release(row)

    def _claim(self, session: Session, batch: int) -> list[int]:
        local_now = self.services.clock.now()
        calendar = self.services.context(session).calendar
        now = utc(local_now)
        stale = now - CLAIM_LEASE
        for row in session.scalars(
            select(OutboxMessage)
            .where(
                OutboxMessage.status.in_((OutboxStatus.CLAIMED, OutboxStatus.SENDING)),
                OutboxMessage.claimed_at < stale,
            )
            .with_for_update(skip_locked=True)
        ):
            _release(row)
        due = [OutboxMessage.send_at <= now, OutboxMessage.status == OutboxStatus.PENDING]
        if not calendar.in_working_hours(local_now):
            due.append(OutboxMessage.working_hours_only.is_(False))
        rows = list(
            session.scalars(
                select(OutboxMessage)
                .where(*due)
                .order_by(OutboxMessage.send_at, OutboxMessage.id)
                .limit(batch)
                .with_for_update(skip_locked=True)
            )
        )
        rows = _supersede_held_reminders(rows)
        for row in rows:
            row.status, row.claimed_by, row.claimed_at = OutboxStatus.CLAIMED, self.worker, now
            row.attempts += 1
        return [row.id for row in rows]

    # ----- sending -------------------------------------------------------------------------------

    async def _deliver(self, row_id: int) -> int:
        job = await self._unit(self._prepare, row_id)
        if job is None or job.rendered is None:
            return 0
        try:
            message_id = await self._send(job)
        except RetryLater as failed:
            if failed.retry_after is not None:
                await self._settle(row_id, retry_in=failed.retry_after, error=failed.error, flood=True)
            else:
                await self._settle(row_id, retry_in=BACKOFF, error=failed.error)
            return 0
        except Refused as failed:
            await self._settle(row_id, blocked=True, error=failed.error)
            return 0
        except MaybeSent as failed:
            await self._settle(row_id, unconfirmed=True, error=failed.error)
            return 0
        await self._settle(row_id, message_id=message_id, version=job.rendered.version)
        return 1

    def _prepare(self, session: Session, row_id: int) -> _Job | None:
        """Render the row from the database as it is now and mark it `sending` (or drop it)."""
        row = session.get(OutboxMessage, row_id)
        if row is None or row.status != OutboxStatus.CLAIMED or row.claimed_by != self.worker:
            return None
        context = self.services.context(session)
        address = self.channel.address(session, row.recipient)
        if address is None:  # nobody to send it to on this channel (e.g. no account there)
            row.status, row.last_error = OutboxStatus.CANCELLED, "no such chat on this channel"
            return None
        rendered: View | None = None
        if row.kind == OutboxKind.NOTICE:
            rendered = self.renderers.notices[row.template or ""](session, row, context)
        elif row.card is not None:
            card = row.card
            if row.kind == OutboxKind.EDIT and card.message_id is None:
                rendered = None  # not sent yet: it is drawn with the current state when it is
            else:
                rendered = self.renderers.cards[card.subject](session, card, row, context)
        if rendered is None:
            row.status = OutboxStatus.CANCELLED
            return None
        row.status = OutboxStatus.SENDING
        message_id = row.card.message_id if row.card else None
        return _Job(row.id, row.kind, address, message_id, rendered)

    async def _send(self, job: _Job) -> str | None:
        assert job.rendered is not None
        if job.kind == OutboxKind.EDIT and job.message_id is not None:
            return await self.channel.edit(job.address, job.message_id, job.rendered)
        return await self.channel.send(job.address, job.rendered)

    async def _settle(
        self,
        row_id: int,
        *,
        message_id: str | None = None,
        version: int | None = None,
        retry_in: timedelta | None = None,
        blocked: bool = False,
        unconfirmed: bool = False,
        flood: bool = False,
        error: str | None = None,
    ) -> None:
        def record(session: Session) -> None:
            row = session.get(OutboxMessage, row_id)
            assert row is not None
            row.last_error = error
            now = utc(self.services.clock.now())
            if flood:
                row.attempts -= 1  # Telegram asked us to wait: not a failed attempt
            if retry_in is not None and row.attempts < MAX_ATTEMPTS:
                pause = retry_in if flood else retry_in * 2 ** max(row.attempts - 1, 0)
                row.status, row.claimed_by, row.send_at = OutboxStatus.PENDING, None, now + pause
            elif retry_in is not None or blocked:
                row.status = OutboxStatus.FAILED
                blocked_chat = session.get(BlockedChat, row.recipient) or BlockedChat(recipient=row.recipient)
                # Every failure is reported, a second one to the same chat too (it may have been
                # unblocked and blocked again, or the first report overlooked).
                blocked_chat.description, blocked_chat.reported_at = error or "undeliverable", None
                session.add(blocked_chat)
            elif unconfirmed:
                row.status = OutboxStatus.UNCONFIRMED
            else:
                row.status, row.sent_at = OutboxStatus.SENT, utcnow()
                if row.card is not None:
                    model = self.renderers.models[row.card.subject]
                    _record_card(session, row.card, model, message_id, version, now)

        await self._unit(record)

    async def _report_undeliverable(self) -> None:
        def collect(session: Session) -> tuple[list[str], list[Any]]:
            rows = list(
                session.scalars(
                    select(BlockedChat).where(BlockedChat.reported_at.is_(None)).with_for_update(skip_locked=True)
                )
            )
            for row in rows:
                row.reported_at = utcnow()
            admins = session.scalars(select(Person).where(Person.is_admin, Person.active)).all()
            addresses = [
                self.channel.address(session, recipient)
                for admin in admins
                if (recipient := person_recipient(session, admin)) is not None
            ]
            return [f"{self._chat_name(session, r.recipient)}：{_failure(r.description)}" for r in rows], [
                a for a in addresses if a is not None
            ]

        blocked, admins = await self._unit(collect)
        if not blocked:
            return
        report = notice(
            "⚠️ 以下会话无法送达机器人消息（提醒或通知未送到），请核实：\n" + "\n".join(f"• {b}" for b in blocked)
        )
        for admin in admins:
            try:
                await self.channel.send(admin, report)
            except SendFailed:
                log.warning("could not tell admin %s of undeliverable chats", admin)

    def _chat_name(self, session: Session, recipient: Recipient) -> str:
        """Whom a recipient is, as the office knows them: a roster person or a configured group."""
        kind, ref = parse_recipient(recipient)
        person = session.get(Person, int(ref)) if kind == "person" and ref.isdigit() else None
        if person is not None:
            return f"{person.name}（{person.position}）的私聊"
        if kind == "group":
            return self.services.settings.group_label(ref)
        return self.channel.describe(session, recipient)


# What a failure means, before the channel's own words (kept for whoever looks into it).
FAILURE_MEANING = (
    ("403", "对方屏蔽了机器人或没有开启与机器人的私聊"),
    ("400", "会话不存在或机器人不在群中"),
    ("errcode", "企业微信拒绝发送"),
)


def _failure(description: str | None) -> str:
    description = description or ""
    meaning = next((text for code, text in FAILURE_MEANING if description.startswith(code)), "无法送达")
    return f"{meaning}（接口答复：{description}）" if description else meaning


def _supersede_held_reminders(rows: list[OutboxMessage]) -> list[OutboxMessage]:
    """Reminders held back outside working hours come due together (Friday's and Monday's on Monday
    morning) and would say the same "今日到期" twice: of the reminders of one item to one chat, only
    the latest goes out; the earlier ones are cancelled as superseded. Escalations are not reminders."""
    latest: dict[tuple[str, int, str], OutboxMessage] = {}
    kept: list[OutboxMessage] = []
    for row in rows:  # oldest first
        card = row.card
        if row.kind != OutboxKind.CARD or not row.working_hours_only or card is None or row.template == "escalation":
            kept.append(row)
            continue
        key = (card.subject, card.subject_id, row.recipient)
        earlier = latest.get(key)
        if earlier is not None:
            earlier.status, earlier.last_error = OutboxStatus.CANCELLED, "superseded by a later reminder"
            kept.remove(earlier)
        latest[key] = row
        kept.append(row)
    return kept


def _record_card(
    session: Session, card: Card, model: type[Versioned], message_id: str | None, version: int | None, now: datetime
) -> None:
    """The card is in the chat showing `version`; if the item moved on meanwhile, redraw it."""
    # Held: a decision committing meanwhile either sees this message id (and queues the redraw
    # itself) or has moved the version this reads. The item's row is taken before the card's is
    # written, in the order a decision takes them (its transition, then its cards): the other
    # order deadlocked on PostgreSQL against a resubmission retiring this card.
    current = current_version(session, model, card.subject_id, held=True)
    if message_id is not None:
        card.message_id = message_id
    card.shown_version = version
    if card.message_id is not None and version is not None and current is not None and current != version:
        queue_redraw(session, card, now)


def _worker_gone(claimed_by: str, me: str) -> bool:
    """Whether the worker that claimed a row has stopped (only knowable on this host)."""
    host, pid, _ = (claimed_by.split(":") + ["", ""])[:3]
    my_host, my_pid, _ = me.split(":")
    if host != my_host:
        return False
    if pid == my_pid:
        return claimed_by != me  # an earlier worker of this process, which has been stopped
    try:
        os.kill(int(pid), 0)
    except (ProcessLookupError, ValueError):
        return True
    except PermissionError:
        return False
    return False


def _release(row: OutboxMessage) -> None:
    if row.status == OutboxStatus.CLAIMED:
        row.status, row.claimed_by = OutboxStatus.PENDING, None
    else:
        row.status, row.last_error = OutboxStatus.UNCONFIRMED, "the worker stopped while sending"
