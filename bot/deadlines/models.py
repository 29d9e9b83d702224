"""The deadlines workflow's table."""

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.db import Base, Person, utcnow


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
