"""The meeting-topics workflow's table."""

from datetime import date, datetime

from sqlalchemy import JSON, CheckConstraint, Date, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.db import Base, Person, utcnow


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
