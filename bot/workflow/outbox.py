"""Messages a transition causes, written in its transaction: nothing is announced that was not
committed, and nothing committed is lost if the process dies before sending.

Three kinds of row: a card (a message showing an item's state with its buttons, recorded in
`cards` so it can be redrawn), the redraw of a sent card, and a notice about one event. Rows are
sent by bot.delivery after the unit of work commits; the command layer rings the doorbell so that
happens at once instead of at the next periodic scan.

Rows name whom they are for, never a channel's address: `person:<id>` (a roster person's private
chat), `group:<name>` (a group configured under that name) or `chat:<id>` (a chat known only by the
channel's id for it, e.g. where a button was pressed). The channel the bot runs on resolves them
when it sends (bot.delivery.Channel.address), so the same rows go out in Telegram or in WeCom.
"""

import asyncio
import threading
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.db import Person, utc
from bot.workflow.models import Card, CardRole, OutboxKind, OutboxMessage, Subject

# session.info key: this unit of work queued messages, so the delivery loop is woken after commit.
QUEUED = "outbox_queued"
# session.info key: the channel the bot runs on (Services.run sets it for each unit of work). It
# says which roster account reaches a person: their WeCom account in "wecom", else their bound
# Telegram account; someone without one is not sent anything (and the caller is told so).
CHANNEL = "outbox_channel"
WECOM = "wecom"

Recipient = str


def person_recipient(session: Session, person: Person | None) -> Recipient | None:
    """A roster person's private chat, if they have an account on the channel the bot runs on."""
    if person is None:
        return None
    account = person.wecom_userid if session.info.get(CHANNEL) == WECOM else person.telegram_user_id
    return f"person:{person.id}" if account is not None else None


def group_recipient(name: str | None) -> Recipient | None:
    """A group configured under `name` ([groups], [wecom.groups])."""
    return f"group:{name}" if name else None


def chat_recipient(chat_id: int | str) -> Recipient:
    """A chat known only by the channel's id for it."""
    return f"chat:{chat_id}"


def member_recipient(userid: str) -> Recipient:
    """A WeCom member known only by their account (someone not on the roster who asked a question)."""
    return f"member:{userid}"


def parse_recipient(recipient: Recipient) -> tuple[str, str]:
    """("person", "12"), ("group", "office"), ("chat", "-100…") or ("member", "zhangwei")."""
    kind, _, ref = recipient.partition(":")
    return kind, ref


def _queue(session: Session, row: OutboxMessage) -> OutboxMessage:
    row.send_at = utc(row.send_at)
    if row.dedupe_key and session.scalar(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == row.dedupe_key)):
        return row
    session.add(row)
    session.info[QUEUED] = True
    return row


def notice(
    session: Session,
    to: Recipient | int | None,
    template: str,
    now: datetime,
    key: str | None = None,
    **payload: Any,
) -> bool:
    """Queue a notice (rendered by the template's renderer from `payload`) for `to` (an int: a chat
    by its id); False if there is nobody to send it to."""
    if to is None:
        return False
    recipient = chat_recipient(to) if isinstance(to, int) else to
    _queue(
        session,
        OutboxMessage(
            kind=OutboxKind.NOTICE, recipient=recipient, template=template, payload=payload, send_at=now, dedupe_key=key
        ),
    )
    return True


def notify_person(
    session: Session, person: Person | None, template: str, now: datetime, key: str | None = None, **payload: Any
) -> bool:
    """A notice to a roster person's private chat; False if they have no account on the channel."""
    return notice(session, person_recipient(session, person), template, now, key, **payload)


def send_card(
    session: Session,
    subject: Subject,
    subject_id: int,
    role: CardRole,
    person: Person | None,
    now: datetime,
    *,
    to: Recipient | None = None,
    send_at: datetime | None = None,
    working_hours_only: bool = False,
    purpose: str | None = None,
    key: str | None = None,
    stage: int | None = None,
) -> bool:
    """Queue a new card for `person` (or for `to`, e.g. a group); False if it reaches nobody."""
    recipient = to if to is not None else person_recipient(session, person)
    if recipient is None:
        return False
    card = Card(
        subject=subject,
        subject_id=subject_id,
        role=role,
        person_id=person.id if person else None,
        recipient=recipient,
        stage=stage,
    )
    session.add(card)
    session.flush()
    _queue(
        session,
        OutboxMessage(
            kind=OutboxKind.CARD,
            recipient=recipient,
            card_id=card.id,
            template=purpose,
            send_at=send_at or now,
            working_hours_only=working_hours_only,
            dedupe_key=key,
        ),
    )
    return True


def adopt_card(
    session: Session,
    subject: Subject,
    subject_id: int,
    role: CardRole,
    person: Person,
    chat_id: int | str,
    message_id: int | str,
    now: datetime,
) -> None:
    """A message already in the chat (the form the requester pressed ✅ 提交 on) becomes a card and
    is redrawn with the item's state."""
    recipient = chat_recipient(chat_id)
    card = Card(
        subject=subject,
        subject_id=subject_id,
        role=role,
        person_id=person.id,
        recipient=recipient,
        message_id=str(message_id),
    )
    session.add(card)
    session.flush()
    _queue(session, OutboxMessage(kind=OutboxKind.EDIT, recipient=recipient, card_id=card.id, send_at=now))


def redraw_cards(
    session: Session, subject: Subject, subject_id: int, now: datetime, at: datetime | None = None
) -> None:
    """The item moved on: queue a redraw of each of its sent cards (unsent ones are drawn when sent).
    `at`: what the cards show changes at that moment (e.g. a pending leave whose first day comes),
    so every card, also one not yet sent, is redrawn then (one still unsent by then is skipped)."""
    query = select(Card).where(Card.subject == subject, Card.subject_id == subject_id)
    if at is None:
        query = query.where(Card.message_id.is_not(None))
    for card in session.scalars(query):
        queue_redraw(session, card, now if at is None else at)


def retire_cards(session: Session, subject: Subject, subject_id: int, role: CardRole, now: datetime) -> None:
    """Cards of an earlier round (the approval card of a request since sent back and resubmitted)
    lose their buttons for good; the new round gets new cards."""
    for card in session.scalars(
        select(Card).where(
            Card.subject == subject, Card.subject_id == subject_id, Card.role == role, Card.retired.is_(False)
        )
    ):
        card.retired = True
        if card.message_id is not None:
            queue_redraw(session, card, now)


def queue_redraw(session: Session, card: Card, now: datetime) -> None:
    _queue(session, OutboxMessage(kind=OutboxKind.EDIT, recipient=card.recipient, card_id=card.id, send_at=now))


class Doorbell:
    """Wakes the delivery loop from any thread once a unit of work that queued messages commits.
    A ring while the loop is busy (or not yet waiting) is kept, so no commit waits for the next scan."""

    def __init__(self) -> None:
        self._event: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._rung = False
        self._lock = threading.Lock()

    def ring(self) -> None:
        with self._lock:
            self._rung = True
            loop, event = self._loop, self._event
        if loop is not None and event is not None and not loop.is_closed():
            loop.call_soon_threadsafe(event.set)

    async def wait(self, timeout_s: float) -> None:
        """Return when rung (also before this call, since the last return) or after `timeout_s`."""
        with self._lock:
            if self._event is None or self._loop is not asyncio.get_running_loop():
                self._loop, self._event = asyncio.get_running_loop(), asyncio.Event()
            event = self._event
            if self._rung:
                self._rung = False
                return
        try:
            await asyncio.wait_for(event.wait(), timeout_s)
        except TimeoutError:
            pass
        with self._lock:
            self._rung = False
            event.clear()
