"""The leave workflow's table."""

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, CheckConstraint, Date, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.db import Base, Person, utcnow


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
    # Who acts while the requester is away: derived by the rules (bot.leave.acting) from the one the
    # requester named, the AB partner, the 常务副区长 and the 区长's entrustment (Art. 79, Art. 9).
    acting_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    named_acting_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    # The 副区长 the 区长 entrusted while he and the 常务副区长 are away together (Art. 9).
    entrusted_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
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
    named_acting: Mapped[Person | None] = relationship(foreign_keys=[named_acting_id], lazy="joined")
    entrusted: Mapped[Person | None] = relationship(foreign_keys=[entrusted_id], lazy="joined")
    approver: Mapped[Person | None] = relationship(foreign_keys=[approver_id], lazy="joined")
    decided_by: Mapped[Person | None] = relationship(foreign_keys=[decided_by_id], lazy="joined")
