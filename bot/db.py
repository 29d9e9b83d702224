"""Database models: one DeclarativeBase, named constraints, typed columns.

The tables every feature shares live here; each workflow keeps its own in its package
(bot/leave/models.py, bot/topics/models.py, bot/deadlines/models.py, bot/workflow/models.py).
Every schema change comes with an Alembic migration in bot/migrations/versions, applied at start
by bot.storage.open_database.
"""

from datetime import UTC, date, datetime
from typing import Any, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CursorResult,
    Date,
    DateTime,
    Delete,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Text,
    Update,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


def utc(moment: datetime) -> datetime:
    """Times are stored in UTC (SQLite keeps no time zone, so every stored time must agree)."""
    return moment.astimezone(UTC)


def aware(moment: datetime) -> datetime:
    """A stored time as an aware datetime: times are stored in UTC, and SQLite drops the zone."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def rows_changed(session: Session, statement: Update | Delete) -> int:
    """Run an UPDATE or DELETE in the session; how many rows it changed. (Session.execute is typed
    as returning a Result; an UPDATE's or DELETE's is a CursorResult, which has the rowcount.)"""
    return cast(CursorResult[Any], session.execute(statement)).rowcount


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Person(Base):
    """Someone on the staff roster; `telegram_user_id` is set once their account is bound,
    `wecom_userid` (lower case) by the roster."""

    __tablename__ = "people"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    position: Mapped[str] = mapped_column(String(32))
    department: Mapped[str | None] = mapped_column(String(128))
    areas: Mapped[list[str]] = mapped_column(JSON, default=list)
    ab_partner_name: Mapped[str | None] = mapped_column(String(64))
    telegram_user_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    wecom_userid: Mapped[str | None] = mapped_column(String(64), unique=True)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class InviteCode(Base):
    """A one-time code that binds whoever presents it (/start <code>) to a roster person, until it
    expires. Only its SHA-256 is kept: a copy of the database binds no one."""

    __tablename__ = "invite_codes"

    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    used_by_telegram_id: Mapped[int | None] = mapped_column(BigInteger)

    person: Mapped[Person] = relationship()


class RulebookRecord(Base):
    """A rulebook known to the bot; its id goes into callback data so buttons survive restarts."""

    __tablename__ = "rulebooks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(128), unique=True)
    title: Mapped[str] = mapped_column(String(256))
    source_sha256: Mapped[str] = mapped_column(String(64))


class QuestionLog(Base):
    """Every question asked, what was cited, how fast, and the asker's feedback."""

    __tablename__ = "question_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    asked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    # Who asked where: a Telegram account and chat, or (both None) a WeCom member.
    telegram_user_id: Mapped[int | None] = mapped_column(BigInteger)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    chat_id: Mapped[int | None] = mapped_column(BigInteger)
    wecom_userid: Mapped[str | None] = mapped_column(String(64))
    question: Mapped[str] = mapped_column(Text)
    cited: Mapped[list[str]] = mapped_column(JSON, default=list)
    related: Mapped[list[str]] = mapped_column(JSON, default=list)
    scores: Mapped[list[float]] = mapped_column(JSON, default=list)
    declined: Mapped[bool] = mapped_column(Boolean)
    # Answered, but only with the nearest articles ("规则中没有找到直接规定，可能相关的是").
    tentative: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    latency_ms: Mapped[float] = mapped_column(Float)
    feedback: Mapped[int | None] = mapped_column(Integer)
    # Why 👎: 条文不对 (article), 没回答问题 (missed), 其他 (other).
    feedback_reason: Mapped[str | None] = mapped_column(String(16))
    # Answered from the office's curated answer (instead of the rules engine).
    curated_answer_id: Mapped[int | None] = mapped_column(ForeignKey("curated_answers.id", ondelete="SET NULL"))
    # Taken off the unanswered queue by this curated answer (the asker was told).
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("curated_answers.id", ondelete="SET NULL"))
    # Moves when the question is answered from the queue: two admins answering it at once, one wins.
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")


class CuratedAnswer(Base):
    """The office's answer to a question the bot could not answer: the articles it rests on and a
    short explanation. Similar later questions are answered from it, marked 办公室答复; it is
    flagged for review when the text of a cited article changes."""

    __tablename__ = "curated_answers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    question: Mapped[str] = mapped_column(Text)
    articles: Mapped[list[str]] = mapped_column(JSON)  # "rulebook-key#79"
    explanation: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    # sha256 of the cited articles' text when the answer was given.
    articles_digest: Mapped[str] = mapped_column(String(64))
    needs_review: Mapped[bool] = mapped_column(Boolean, default=False)


class PendingInput(Base):
    """The next private text a person types belongs to this purpose (a form field, a reason).

    Kept in the database, not in memory, so a form survives a restart at every step.
    """

    __tablename__ = "pending_inputs"

    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(32))
    target_id: Mapped[int] = mapped_column(Integer)
    # The target's version when the prompt was made; a prompt whose item has moved on is dropped.
    target_version: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CalendarOverride(Base):
    """An admin's correction of the working-day calendar (e.g. next year's 调休 once announced)."""

    __tablename__ = "calendar_overrides"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    is_workday: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str] = mapped_column(String(64), default="")


class BlockedChat(Base):
    """A recipient the bot's messages cannot reach (403, or a permanent 400 such as chat not found);
    admins are told once."""

    __tablename__ = "blocked_chats"

    # As outbox rows name it (bot.workflow.outbox): person:<id>, group:<name>, chat:<id>.
    recipient: Mapped[str] = mapped_column(String(80), primary_key=True)
    detected_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    description: Mapped[str] = mapped_column(Text)
    reported_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class WeComCallback(Base):
    """A callback WeCom delivered, accepted once: its key is unique (the platform retries what it
    thinks unanswered, with the same MsgId, or for an event the same sender, time and key), and the
    row is written in the transaction that accepts the work. The decrypted message waits here until
    it is handled, so a restart finishes what was acknowledged; it is then erased, the key kept."""

    __tablename__ = "wecom_callbacks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(255), unique=True)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    payload: Mapped[str | None] = mapped_column(Text)
    handled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
