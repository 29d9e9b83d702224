"""What the leave and topic forms share: a draft row whose `step` names the next field.

`filled` lists the fields answered; the next step is the first unanswered one, or the
confirmation. A typed field registers the awaited text, so the person's next private message
fills it, also after a restart. Every change to a draft is a compare-and-set on its version, so
a double tap of ✅ 提交 submits once.
"""

from collections.abc import Sequence
from typing import Protocol, TypeVar

from sqlalchemy.orm import Session

from bot import inputs
from bot.db import Person
from bot.errors import InvalidInput, NotFound
from bot.workflow.transitions import transition

CONFIRM = "confirm"


class FormRecord(Protocol):
    id: int
    version: int
    status: str
    requester_id: int
    step: str | None
    filled: list[str]


R = TypeVar("R", bound=FormRecord)


def owned(
    session: Session,
    model: type[R],
    record_id: int,
    person: Person,
    status: str,
    labels: dict[str, str],
    not_found: str,
    refusal: str,
    version: int | None = None,
) -> R:
    """The person's own record in `status`, claimed for this unit of work (at `version`, when a
    button names one); else NotFound, or the refusal (its {status} names the actual status)."""
    record = session.get(model, record_id)
    if record is None or record.requester_id != person.id:
        raise NotFound(not_found)

    def handled(current: R) -> str:
        return refusal.format(status=labels[current.status])

    if record.status != status:
        raise InvalidInput(handled(record))
    return transition(session, record, record.version if version is None else version, handled)


def fill(record: FormRecord, step: str) -> None:
    if step not in record.filled:
        record.filled = [*record.filled, step]


def unfill(record: FormRecord, step: str) -> None:
    record.filled = [s for s in record.filled if s != step]


def advance(session: Session, record: FormRecord, steps: Sequence[str], purpose: str, typed: set[str]) -> None:
    """Move to the first unanswered step (or the confirmation) and await text if it is typed."""
    record.step = next((s for s in steps if s not in record.filled), CONFIRM)
    await_if_typed(session, record, purpose, typed)


def await_if_typed(session: Session, record: FormRecord, purpose: str, typed: set[str]) -> None:
    if record.step is not None and (record.step in typed or record.step.split(":")[0] in typed):
        inputs.expect_text(session, record.requester_id, purpose, record.id, record.version)
    else:
        inputs.clear(session, record.requester_id, purpose.split(":")[0] + ":")


def bounded(text: str, limit: int, what: str) -> str:
    """Non-empty text of at most `limit` characters, or an explanation."""
    text = text.strip()
    if not text:
        raise InvalidInput(f"{what}不能为空。")
    if len(text) > limit:
        raise InvalidInput(f"{what}最多 {limit} 个字，现在有 {len(text)} 个字，请精简后重新输入。")
    return text
