"""The kernel's tables: the audit trail, the cards a workflow has sent, and the outbox."""

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, CheckConstraint, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.db import Base, Person, utcnow


class Subject(StrEnum):
    """The kinds of item a workflow moves along."""

    LEAVE = "leave"
    TOPIC = "topic"
    DEADLINE = "deadline"
    QUESTION = "question"  # a question on the unanswered queue, until the office answers it


class CardRole(StrEnum):
    """What a card is for; the renderer draws it from the item's state and the role."""

    APPROVAL = "approval"  # the approver's or the current reviewer's decision card
    REQUESTER = "requester"  # the requester's view of their own item
    REMINDER = "reminder"  # a deadline reminder (purpose in the outbox row)
    NEW_DEADLINE = "new_deadline"  # the responsible side is told of a new deadline
    ENTRUST = "entrust"  # the 区长 is asked which 副区长 presides while he and the 常务副区长 are away (Art. 9)


class OutboxKind(StrEnum):
    CARD = "card"  # send a card for the first time
    EDIT = "edit"  # redraw a sent card with the item's current state
    NOTICE = "notice"  # a message about one event (template + payload), no buttons


class OutboxStatus(StrEnum):
    PENDING = "pending"
    CLAIMED = "claimed"  # taken by a delivery worker, not yet handed to the Bot API
    SENDING = "sending"  # handed to the Bot API; if the worker dies now the outcome is unknown
    SENT = "sent"
    UNCONFIRMED = "unconfirmed"  # the Bot API may have accepted it (timeout, crash): not sent again
    FAILED = "failed"
    CANCELLED = "cancelled"


class WorkflowEvent(Base):
    """One audit trail for every workflow: who did what to which item, when."""

    __tablename__ = "workflow_events"
    __table_args__ = (Index("ix_workflow_events_subject", "subject", "subject_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject: Mapped[str] = mapped_column(String(16))
    subject_id: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    action: Mapped[str] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text)

    actor: Mapped[Person | None] = relationship(lazy="joined")


class Card(Base):
    """A message with the item's state (and its buttons) in a chat; redrawn when the item moves on."""

    __tablename__ = "cards"
    __table_args__ = (Index("ix_cards_subject", "subject", "subject_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject: Mapped[str] = mapped_column(String(16))
    subject_id: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(16))
    # The person the card is for (its buttons act for them); None for a group.
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    # Whom it went to (bot.workflow.outbox: a person, a configured group, or a chat by its id).
    recipient: Mapped[str] = mapped_column(String(80))
    # The channel's handle on the message once sent (Telegram: the message id; WeCom: the
    # template card's task id and the response code that may update it once).
    message_id: Mapped[str | None] = mapped_column(String(200))
    # The stage of a review chain the card was sent for (its buttons act at that stage only).
    stage: Mapped[int | None] = mapped_column(Integer)
    # The item version the message shows now; a transition past it queues a redraw.
    shown_version: Mapped[int | None] = mapped_column(Integer)
    # A card replaced by a newer one (e.g. the approval card of a request since resubmitted).
    retired: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class OutboxMessage(Base):
    """A message owed to a chat, written in the transaction that caused it and delivered after commit."""

    __tablename__ = "outbox"
    __table_args__ = (
        CheckConstraint(
            "status IN ('pending','claimed','sending','sent','unconfirmed','failed','cancelled')", name="status"
        ),
        CheckConstraint("kind IN ('card','edit','notice')", name="kind"),
        Index("ix_outbox_due", "status", "send_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    # Whom it is for (bot.workflow.outbox: a person, a configured group, or a chat by its id); the
    # channel resolves it when sending.
    recipient: Mapped[str] = mapped_column(String(80))
    card_id: Mapped[int | None] = mapped_column(ForeignKey("cards.id", ondelete="CASCADE"), index=True)
    # For a notice: what it says (a renderer key) and the facts it needs; for a reminder: its purpose.
    template: Mapped[str | None] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Reminders wait for working hours; notices of a decision go out at once.
    working_hours_only: Mapped[bool] = mapped_column(Boolean, default=False)
    # A stable name for what this message is, so the same thing is never queued twice.
    dedupe_key: Mapped[str | None] = mapped_column(String(120), unique=True)
    send_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    status: Mapped[str] = mapped_column(String(12), default=OutboxStatus.PENDING)
    claimed_by: Mapped[str | None] = mapped_column(String(80))
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)

    # Loaded on access, not joined: the delivery claims rows FOR UPDATE, which PostgreSQL refuses on
    # the nullable side of an outer join.
    card: Mapped[Card | None] = relationship()
