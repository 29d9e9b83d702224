"""What the leave and topic forms share: a draft row whose `step` names the next field.

`filled` lists the fields answered; the next step is the first unanswered one, or the
confirmation. A typed field registers the awaited text, so the person's next private message
fills it, also after a restart.
"""

from collections.abc import Sequence
from typing import Protocol, TypeVar

from sqlalchemy.orm import Session

from bot import inputs
from bot.db import Person
from bot.errors import InvalidInput, NotFound

CONFIRM = "confirm"


class FormRecord(Protocol):
    id: int
    step: str | None
    filled: list[str]


class OwnedRecord(Protocol):
    requester_id: int
    status: str


R = TypeVar("R", bound=OwnedRecord)


def owned(
    session: Session,
    model: type[R],
    record_id: int,
    person: Person,
    status: str,
    labels: dict[str, str],
    not_found: str,
    refusal: str,
) -> R:
    """The person's own record, locked, if it is in `status`; else NotFound, or the refusal
    (whose {status} names the record's actual status)."""
    record = session.get(model, record_id, with_for_update=True)
    if record is None or record.requester_id != person.id:
        raise NotFound(not_found)
    if record.status != status:
        raise InvalidInput(refusal.format(status=labels[record.status]))
    return record


def fill(record: FormRecord, step: str) -> None:
    if step not in record.filled:
        record.filled = [*record.filled, step]


def unfill(record: FormRecord, step: str) -> None:
    record.filled = [s for s in record.filled if s != step]


def advance(
    session: Session, record: FormRecord, steps: Sequence[str], owner_id: int, purpose: str, typed: set[str]
) -> None:
    """Move to the first unanswered step (or the confirmation) and await text if it is typed."""
    record.step = next((s for s in steps if s not in record.filled), CONFIRM)
    await_if_typed(session, record, owner_id, purpose, typed)


def await_if_typed(session: Session, record: FormRecord, owner_id: int, purpose: str, typed: set[str]) -> None:
    if record.step is not None and (record.step in typed or record.step.split(":")[0] in typed):
        inputs.expect_text(session, owner_id, purpose, record.id)
    else:
        inputs.clear(session, owner_id, purpose.split(":")[0] + ":")


def bounded(text: str, limit: int, what: str) -> str:
    """Non-empty text of at most `limit` characters, or an explanation."""
    text = text.strip()
    if not text:
        raise InvalidInput(f"{what}不能为空。")
    if len(text) > limit:
        raise InvalidInput(f"{what}最多 {limit} 个字，现在有 {len(text)} 个字，请精简后重新输入。")
    return text
