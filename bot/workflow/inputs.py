"""Awaited text: which form field or reason a person's next private message fills.

A prompt names its target item and the item's version when it was made: once the item has moved
on (decided by someone else, withdrawn), the prompt is stale and the text is not taken for it.
A prompt also expires ([bot] prompt_expiry_minutes): a 不批准 reason asked for yesterday must not
swallow today's question.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session

from bot.db import PendingInput, Person, aware, utc, utcnow
from bot.workflow.transitions import Versioned, current_version

# A form's prompts: "<prefix>:field" awaits a typed field; "<prefix>:choice" awaits the number of a
# choice on a channel that shows a form's step as a numbered menu (WeCom), at the draft's version.
CHOICE = "choice"
FORM_PROMPTS = ("field", CHOICE)


@dataclass(frozen=True)
class FormHooks:
    """How /cancel finds and abandons a person's open form of one workflow."""

    open_draft: Callable[[Session, Person], int | None]
    cancel: Callable[[Session, Person, int], object]


def expect_text(session: Session, person_id: int, purpose: str, target_id: int, version: int) -> None:
    """The person's next private text is for `purpose` on record `target_id` at `version`."""
    row = session.get(PendingInput, person_id) or PendingInput(person_id=person_id)
    row.purpose, row.target_id, row.target_version = purpose, target_id, version
    row.created_at = utcnow()
    session.add(row)


def drop_expired(session: Session, person_id: int, now: datetime, max_age: timedelta) -> bool:
    """Remove the person's prompt if it is older than `max_age`; True if one was removed."""
    row = session.get(PendingInput, person_id)
    if row is None or aware(row.created_at) > utc(now) - max_age:
        return False
    session.delete(row)
    return True


def awaited(session: Session, person_id: int, models: Mapping[str, type[Versioned]]) -> PendingInput | None:
    """The person's live prompt; a stale one (its item moved on) is removed and None returned.
    `models`: each workflow's model by purpose prefix ("leave" → LeaveRequest)."""
    row = session.get(PendingInput, person_id)
    if row is None:
        return None
    model = models.get(row.purpose.split(":")[0])
    current = current_version(session, model, row.target_id) if model is not None else None
    if current is None or current != row.target_version:
        session.delete(row)
        return None
    return row


def clear(session: Session, person_id: int, purpose_prefix: str = "") -> None:
    row = session.get(PendingInput, person_id)
    if row is not None and row.purpose.startswith(purpose_prefix):
        session.delete(row)


def clear_target(session: Session, prefix: str, target_id: int) -> None:
    """Nobody's prompt about this item stands any more (it was decided)."""
    session.execute(
        delete(PendingInput)
        .where(PendingInput.purpose.startswith(f"{prefix}:"), PendingInput.target_id == target_id)
        .execution_options(synchronize_session=False)
    )


def prompt_stands(session: Session, person_id: int, purpose: str, record: Versioned) -> bool:
    """Whether the person's prompt is for `purpose` on `record` as it is committed now."""
    row = session.get(PendingInput, person_id)
    return (
        row is not None
        and row.purpose == purpose
        and row.target_id == record.id
        and row.target_version == current_version(session, type(record), record.id)
    )


def cancel_awaited(session: Session, person: Person, forms: Mapping[str, FormHooks]) -> bool:
    """/cancel: abandon the prompt awaiting the person's text, or their open form (at any step,
    buttons included); False if there is neither. `forms`: each workflow's hooks by prefix."""
    row = session.get(PendingInput, person.id)
    if row is not None:
        prefix = row.purpose.split(":")[0]
        hooks = forms.get(prefix)
        if hooks is not None and row.purpose.split(":")[-1] in FORM_PROMPTS:
            hooks.cancel(session, person, row.target_id)
        session.execute(delete(PendingInput).where(PendingInput.person_id == person.id))
        return True
    for hooks in forms.values():
        draft = hooks.open_draft(session, person)
        if draft is not None:
            hooks.cancel(session, person, draft)
            return True
    return False
