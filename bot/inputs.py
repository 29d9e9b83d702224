"""Awaited text: which form field or reason a person's next private message fills."""

from collections.abc import Callable

from sqlalchemy.orm import Session

from bot.db import PendingInput, Person

# Form purposes ("leave:field") -> how to abandon that form's draft; workflows register theirs.
FORM_CANCELLERS: dict[str, Callable[[Session, Person, int], None]] = {}


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


def cancel_awaited(session: Session, person: Person) -> bool:
    """/cancel: abandon the form (its draft too) or prompt awaiting the person's text; False if none."""
    row = session.get(PendingInput, person.id)
    if row is None:
        return False
    cancel_form = FORM_CANCELLERS.get(row.purpose)
    if cancel_form is not None:
        cancel_form(session, person, row.target_id)
    else:
        session.delete(row)
        session.commit()
    return True
