"""Deadline rules are data: the file is checked at start, and every rule has an event creating it."""

from pathlib import Path

import pytest

from bot.deadlines.rules import RULES_FILE, load_rules
from bot.errors import ConfigError


def test_the_shipped_rules_load_and_each_names_its_heading_and_close_action() -> None:
    rules = load_rules()
    assert rules["leave_return"].heading == "销假提醒" and rules["leave_return"].close_action == "leave_return"
    assert rules["consultation_reply"].escalation_note.startswith("按第六十条")


def test_a_rule_that_no_event_creates_stops_the_start(tmp_path: Path) -> None:
    extra = RULES_FILE.read_text(encoding="utf-8").replace('key = "adhoc"', 'key = "forgotten"')
    (tmp_path / "rules.toml").write_text(extra, encoding="utf-8")
    with pytest.raises(ConfigError, match="'forgotten' is created by no event"):
        load_rules(tmp_path / "rules.toml")


def test_a_malformed_rule_is_named(tmp_path: Path) -> None:
    broken = RULES_FILE.read_text(encoding="utf-8").replace('heading = "销假提醒"\n', "")
    (tmp_path / "rules.toml").write_text(broken, encoding="utf-8")
    with pytest.raises(ConfigError, match="'leave_return' is malformed"):
        load_rules(tmp_path / "rules.toml")
