"""Awaited text: which form field or reason a person's next private message fills."""

from sqlalchemy.orm import Session

from bot.db import PendingInput


def expect_text(session: Session, person_id: int, purpose: str, target_id: int) -> None:
    """The person's next private text is for `purpose` on record `target_id` (replacing any other)."""
    row = session.get(PendingInput, person_id) or PendingInput(person_id=person_id)
    row.purpose, row.target_id = purpose, target_id
    session.add(row)


def awaited(session: Session, person_id: int) -> PendingInput | None:
    return session.get(PendingInput, person_id)


def clear(session: Session, person_id: int, purpose_prefix: str = "") -> None:
    row = session.get(PendingInput, person_id)
    if row is not None and row.purpose.startswith(purpose_prefix):
        session.delete(row)
