"""A review chain: an item waits at one stage for one person, who passes it on, sends it back or
turns it down. A meeting topic walks the stages Art. 49 names; a leave request is the one-stage
chain (its approver), so 批准 / 退回补充 / 不批准 are 通过 / 退回修改 / 不予上会 by other names.

What each verdict does to the item stays with its workflow; whose turn it is, that a verdict is
legal once, and that a refusal waits for its reason are decided here.
"""

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

from sqlalchemy.orm import Session

from bot.db import Person
from bot.errors import InvalidInput, PermissionDenied
from bot.workflow import forms, inputs
from bot.workflow.models import Subject
from bot.workflow.transitions import Versioned, hold, transition


class Verdict(StrEnum):
    PASS = "pass"  # 批准 / 通过
    RETURN = "return"  # 退回补充 / 退回修改: the requester may revise and resubmit
    REJECT = "reject"  # 不批准 / 不予上会


# The codes buttons carry for each verdict, the same on every card.
VERDICT_CODES = {"ok": Verdict.PASS, "rt": Verdict.RETURN, "no": Verdict.REJECT}
MAX_REASON = 500


@dataclass(frozen=True)
class Turn:
    """Whose move it is: the stage the item waits at, who must act, what anyone else is told."""

    stage: int
    person_id: int
    not_yours: str


R = TypeVar("R", bound=Versioned)


def awaiting(record: R, turn: Turn | None, stage: int, version: int, actor: Person, handled: Callable[[R], str]) -> R:
    """The record if it waits for `actor` at `stage`, as the card drawn for `version` showed it;
    else why not (handled already, or not this person's turn)."""
    if turn is None or turn.stage != stage or record.version != version:
        raise InvalidInput(handled(record))
    if turn.person_id != actor.id:
        raise PermissionDenied(turn.not_yours)
    return record


def ask_reason(
    session: Session,
    subject: Subject,
    record: R,
    version: int,
    actor: Person,
    verdict: Verdict,
    handled: Callable[[R], str],
) -> None:
    """A refusal needs a reason: the actor's next message gives it. The item is held, not moved
    on, so a 通过 pressed meanwhile still wins (and `conclude` drops this prompt)."""
    hold(session, record, version, handled)
    inputs.expect_text(session, actor.id, f"{subject}:{verdict}", record.id, version)


def conclude(
    session: Session,
    subject: Subject,
    record: R,
    version: int,
    verdict: Verdict,
    note: str | None,
    handled: Callable[[R], str],
) -> str | None:
    """Claim the verdict for this unit of work (legal once); a refusal's reason is required and
    returned. Nobody's prompt about the item stands afterwards."""
    reason = forms.bounded(note or "", MAX_REASON, "理由") if verdict != Verdict.PASS else None
    transition(session, record, version, handled)
    inputs.clear_target(session, subject, record.id)
    return reason
