"""What the leave and topic forms share: a form spec, and a draft row whose `step` names the
next field.

A FormSpec lists a form's fields in order: each with its label (the 改… buttons), its question,
whether it is typed (a private message answers it; else buttons do), when it applies, and for a
typed field the validator that reads and stores the text. `filled` lists the fields answered;
the next step is the first unanswered one, or the confirmation. A typed field registers the
awaited text, so the person's next private message fills it, also after a restart. Every change
to a draft is a compare-and-set on its version, so a double tap of ✅ 提交 submits once.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Generic, Protocol, TypeVar

from sqlalchemy.orm import Session

from bot import plaintext
from bot.db import Person
from bot.errors import InvalidInput, NotFound
from bot.workflow import inputs
from bot.workflow.transitions import Versioned, transition

CONFIRM = "confirm"


class FormRecord(Versioned, Protocol):
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
    # Keyed by the workflow's StrEnum of statuses; a row's status string finds its member's label
    # (a StrEnum member hashes and compares as its value).
    labels: Mapping[Any, str],
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


Validator = Callable[[Any, Any, str, date], None]  # (session, draft, text, today): store or raise InvalidInput


@dataclass(frozen=True)
class Field:
    step: str
    label: str
    question: str
    typed: bool = False
    applies: Callable[[Any], bool] = lambda record: True
    read: Validator | None = None


@dataclass(frozen=True)
class FormSpec(Generic[R]):
    """A form's fields in order, plus steps that depend on the answers (e.g. a checklist)."""

    purpose: str  # the prompt purpose of its typed fields, e.g. "leave:field"
    fields: tuple[Field, ...]
    extra_steps: Callable[[R], list[str]] = lambda record: []
    # Prefixes of dynamic steps answered by text (e.g. "reason" for reason:<key>).
    typed_prefixes: frozenset[str] = frozenset()

    def steps_for(self, record: R) -> list[str]:
        return [f.step for f in self.fields if f.applies(record)] + self.extra_steps(record)

    def field(self, step: str) -> Field | None:
        return next((f for f in self.fields if f.step == step), None)

    def is_typed(self, step: str | None) -> bool:
        if step is None:
            return False
        found = self.field(step)
        return found.typed if found else step.split(":")[0] in self.typed_prefixes

    def labels(self) -> dict[str, str]:
        return {f.step: f.label for f in self.fields}


def fill(record: FormRecord, step: str) -> None:
    if step not in record.filled:
        record.filled = [*record.filled, step]


def unfill(record: FormRecord, step: str) -> None:
    record.filled = [s for s in record.filled if s != step]


def advance(session: Session, spec: FormSpec, record: FormRecord) -> None:
    """Move to the first unanswered step (or the confirmation) and await text if it is typed."""
    record.step = next((s for s in spec.steps_for(record) if s not in record.filled), CONFIRM)
    await_if_typed(session, spec, record)


def await_if_typed(session: Session, spec: FormSpec, record: FormRecord) -> None:
    if spec.is_typed(record.step):
        inputs.expect_text(session, record.requester_id, spec.purpose, record.id, record.version)
    else:
        inputs.clear(session, record.requester_id, spec.purpose.split(":")[0] + ":")


def enter_text(session: Session, spec: FormSpec, record: FormRecord, text: str, today: date) -> None:
    """Give typed text to the field the form waits for (its validator stores it or explains), then
    move on."""
    found = spec.field(record.step or "")
    if found is None or found.read is None:
        raise InvalidInput("现在请点选按钮，不需要输入文字。")
    found.read(session, record, text.strip(), today)
    fill(record, found.step)
    advance(session, spec, record)


def bounded(text: str, limit: int, what: str) -> str:
    """Non-empty clean text (bot.plaintext) of at most `limit` characters, or an explanation."""
    text = plaintext.clean(text)
    if not text:
        raise InvalidInput(f"{what}不能为空。")
    if len(text) > limit:
        raise InvalidInput(f"{what}最多 {limit} 个字，现在有 {len(text)} 个字，请精简后重新输入。")
    return text
