"""Deadline rules as data (rules.toml beside this file), and which event creates each rule."""

import tomllib
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from pathlib import Path

from bot.errors import ConfigError

RULES_FILE = Path(__file__).parent / "rules.toml"


class EscalateTo(StrEnum):
    OFFICE = "office"
    APPROVER = "approver"
    REQUESTER = "requester"


class CloseAction(StrEnum):
    DONE = "done"
    LEAVE_RETURN = "leave_return"


# The one registry of which event creates which rule; a rule in the file that no event creates is
# a configuration error (it would never remind anyone).
CREATED_BY = {
    "meeting_documents": "a meeting decides to issue a document (/agenda 通过·需发文, Art. 50)",
    "consultation_reply": "/consult (Art. 60)",
    "leave_return": "a leave is approved or filed (销假, Art. 79)",
    "adhoc": "/deadline",
}


@dataclass(frozen=True)
class DeadlineRule:
    key: str
    title: str
    heading: str
    article: int
    workdays: int
    remind: tuple[int, ...]
    escalate_after: int
    escalate_to: EscalateTo
    announce: bool
    close_action: CloseAction
    note: str
    escalation_note: str


def load_rules(path: Path = RULES_FILE) -> dict[str, DeadlineRule]:
    """Read and check the rules file; a bad entry names its key."""
    rules: dict[str, DeadlineRule] = {}
    for raw in tomllib.loads(path.read_text(encoding="utf-8")).get("rule", []):
        key = raw.get("key")
        try:
            rule = DeadlineRule(
                **{
                    **raw,
                    "remind": tuple(raw["remind"]),
                    "escalate_to": EscalateTo(raw["escalate_to"]),
                    "close_action": CloseAction(raw["close_action"]),
                }
            )
        except (TypeError, KeyError, ValueError) as exc:
            raise ConfigError(f"{path.name}: rule {key!r} is malformed: {exc}") from None
        rules[rule.key] = rule
    unused = sorted(set(rules) - set(CREATED_BY))
    if unused:
        raise ConfigError(f"{path.name}: rule {unused[0]!r} is created by no event (bot/deadlines/rules.py CREATED_BY)")
    missing = sorted(set(CREATED_BY) - set(rules))
    if missing:
        raise ConfigError(f"{path.name}: rule {missing[0]!r} is missing, but {CREATED_BY[missing[0]]} creates it")
    return rules


@cache
def rules() -> dict[str, DeadlineRule]:
    return load_rules()
