"""Database models: one DeclarativeBase, named constraints, typed columns.

Workflows add their tables here; every schema change comes with an Alembic migration in
bot/migrations/versions, applied at start by bot.storage.open_database.
"""

from datetime import UTC, date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

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


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Person(Base):
    """Someone on the staff roster; `telegram_user_id` is set once their account is bound."""

    __tablename__ = "people"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    position: Mapped[str] = mapped_column(String(32))
    department: Mapped[str | None] = mapped_column(String(128))
    areas: Mapped[list[str]] = mapped_column(JSON, default=list)
    ab_partner_name: Mapped[str | None] = mapped_column(String(64))
    telegram_user_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class InviteCode(Base):
    """A one-time code that binds whoever presents it (/start <code>) to a roster person."""

    __tablename__ = "invite_codes"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
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
    telegram_user_id: Mapped[int] = mapped_column(BigInteger)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    chat_id: Mapped[int] = mapped_column(BigInteger)
    question: Mapped[str] = mapped_column(Text)
    cited: Mapped[list[str]] = mapped_column(JSON, default=list)
    related: Mapped[list[str]] = mapped_column(JSON, default=list)
    scores: Mapped[list[float]] = mapped_column(JSON, default=list)
    declined: Mapped[bool] = mapped_column(Boolean)
    latency_ms: Mapped[float] = mapped_column(Float)
    feedback: Mapped[int | None] = mapped_column(Integer)


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


class LeaveRequest(Base):
    """A leave report (请假) from draft to 销假; see bot.leave.service for the transitions."""

    __tablename__ = "leave_requests"
    __table_args__ = (
        CheckConstraint(
            "status IN ('draft','pending','approved','rejected','returned','withdrawn','completed')", name="status"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    requester_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="draft")
    step: Mapped[str | None] = mapped_column(String(16))
    filled: Mapped[list[str]] = mapped_column(JSON, default=list)
    kind: Mapped[str | None] = mapped_column(String(16))
    meeting: Mapped[str | None] = mapped_column(String(32))
    start_date: Mapped[date | None] = mapped_column(Date)
    start_half: Mapped[str | None] = mapped_column(String(2))
    end_date: Mapped[date | None] = mapped_column(Date)
    end_half: Mapped[str | None] = mapped_column(String(2))
    destination: Mapped[str | None] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(Text)
    acting_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    approver_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    article: Mapped[int | None] = mapped_column(Integer)
    conflicts: Mapped[list[str]] = mapped_column(JSON, default=list)
    ab_conflict: Mapped[bool] = mapped_column(Boolean, default=False)
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decision_note: Mapped[str | None] = mapped_column(Text)
    returned_on: Mapped[date | None] = mapped_column(Date)
    return_report: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    # Joined so that a request read in a unit of work can be rendered after its session closes.
    requester: Mapped[Person] = relationship(foreign_keys=[requester_id], lazy="joined")
    acting: Mapped[Person | None] = relationship(foreign_keys=[acting_id], lazy="joined")
    approver: Mapped[Person | None] = relationship(foreign_keys=[approver_id], lazy="joined")
    decided_by: Mapped[Person | None] = relationship(foreign_keys=[decided_by_id], lazy="joined")


class CalendarOverride(Base):
    """An admin's correction of the working-day calendar (e.g. next year's 调休 once announced)."""

    __tablename__ = "calendar_overrides"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    is_workday: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str] = mapped_column(String(64), default="")


class Deadline(Base):
    """Something due by a date: from a rule (Art. 50, 60, 79 …) or set by a user."""

    __tablename__ = "deadlines"
    __table_args__ = (CheckConstraint("status IN ('open','done','cancelled')", name="status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    rule_key: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(200))
    article: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(12), default="open", index=True)
    source: Mapped[str | None] = mapped_column(String(40), index=True)
    start_date: Mapped[date] = mapped_column(Date)
    due_date: Mapped[date] = mapped_column(Date)
    workdays: Mapped[int | None] = mapped_column(Integer)
    calendar_warning: Mapped[str | None] = mapped_column(Text)
    department: Mapped[str | None] = mapped_column(String(128))
    responsible_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    requester_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    approver_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))

    responsible: Mapped[Person | None] = relationship(foreign_keys=[responsible_id], lazy="joined")
    requester: Mapped[Person | None] = relationship(foreign_keys=[requester_id], lazy="joined")
    approver: Mapped[Person | None] = relationship(foreign_keys=[approver_id], lazy="joined")
    closed_by: Mapped[Person | None] = relationship(foreign_keys=[closed_by_id], lazy="joined")


class BlockedChat(Base):
    """A chat the bot's messages cannot reach (403, or a permanent 400 such as chat not found);
    admins are told once."""

    __tablename__ = "blocked_chats"

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    detected_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    description: Mapped[str] = mapped_column(Text)
    reported_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Topic(Base):
    """A meeting topic (议题) from draft through the Art. 49 chain to its recorded outcome."""

    __tablename__ = "topics"
    __table_args__ = (
        CheckConstraint(
            "status IN ('draft','in_review','accepted','returned','rejected','withdrawn','concluded')", name="status"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    requester_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    status: Mapped[str] = mapped_column(String(12), default="draft")
    # A form step, e.g. check:<materials key> or reason:<materials key>.
    step: Mapped[str | None] = mapped_column(String(64))
    filled: Mapped[list[str]] = mapped_column(JSON, default=list)
    meeting_type: Mapped[str | None] = mapped_column(String(16))
    title: Mapped[str | None] = mapped_column(String(200))
    summary: Mapped[str | None] = mapped_column(Text)
    department: Mapped[str | None] = mapped_column(String(128))
    deputy_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    matter_kind: Mapped[str | None] = mapped_column(String(16))
    consulted: Mapped[str | None] = mapped_column(Text)
    desired_date: Mapped[date | None] = mapped_column(Date)
    checklist: Mapped[dict[str, dict[str, str]]] = mapped_column(JSON, default=dict)
    chain: Mapped[list[dict[str, str | int]]] = mapped_column(JSON, default=list)
    stage: Mapped[int] = mapped_column(Integer, default=0)
    meeting_date: Mapped[date | None] = mapped_column(Date)
    agenda_order: Mapped[int | None] = mapped_column(Integer)
    outcome: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    requester: Mapped[Person] = relationship(foreign_keys=[requester_id], lazy="joined")
    deputy: Mapped[Person | None] = relationship(foreign_keys=[deputy_id], lazy="joined")
