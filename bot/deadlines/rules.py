"""Deadline rules as data (rules.toml beside this file)."""

import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from bot.errors import ConfigError

RULES_FILE = Path(__file__).parent / "rules.toml"
ESCALATION_TARGETS = ("office", "approver", "requester")


@dataclass(frozen=True)
class DeadlineRule:
    key: str
    title: str
    article: int
    workdays: int
    remind: tuple[int, ...]
    escalate_after: int
    escalate_to: str
    note: str


def load_rules(path: Path = RULES_FILE) -> dict[str, DeadlineRule]:
    """Read and check the rules file; a bad entry names its key."""
    rules: dict[str, DeadlineRule] = {}
    for raw in tomllib.loads(path.read_text(encoding="utf-8")).get("rule", []):
        try:
            rule = DeadlineRule(**{**raw, "remind": tuple(raw["remind"])})
        except (TypeError, KeyError) as exc:
            raise ConfigError(f"{path.name}: rule {raw.get('key')!r} is malformed: {exc}") from None
        if rule.escalate_to not in ESCALATION_TARGETS:
            raise ConfigError(
                f"{path.name}: rule {rule.key!r} escalate_to {rule.escalate_to!r} is not one of {ESCALATION_TARGETS}"
            )
        rules[rule.key] = rule
    return rules


@cache
def rules() -> dict[str, DeadlineRule]:
    return load_rules()
