"""The application's wiring: assembled from the features' declarations, nothing registered by import."""

import subprocess
import sys

import pytest
from telegram.ext import CallbackQueryHandler

from bot.app import FEATURES, wiring
from bot.workflow.models import Subject
from handlers.callbacks import CallbackData
from handlers.features import Feature, assemble

# Imported first by the check below: the kernel, the delivery loop, the router and the feature
# type; the tables they hold (if any) must look the same after every feature module is imported.
INFRASTRUCTURE = ["bot.delivery", "bot.workflow.inputs", "bot.workflow.transitions", "handlers.inputs", "handlers.features"]
FEATURE_MODULES = [
    "handlers.start",
    "handlers.rules",
    "handlers.admin",
    "handlers.leave",
    "handlers.topics",
    "handlers.deadlines",
    "handlers.unanswered",
    "handlers.console",
    "handlers.qa",
]
GLOBAL_TABLES = """
import importlib, sys

def tables(modules):
    found = {}
    for name in modules:
        for attribute, value in vars(sys.modules[name]).items():
            if isinstance(value, dict | list | set):
                found[f"{name}.{attribute}"] = repr(sorted(map(repr, value)))
    return found

for name in sys.argv[1].split(","):
    importlib.import_module(name)
loaded = [name for name in sys.modules if name.split(".")[0] in {"bot", "handlers"}]
before = tables(loaded)
for name in sys.argv[2].split(","):
    importlib.import_module(name)
after = tables(loaded)
print("\\n".join(sorted(key for key in before.keys() | after.keys() if before.get(key) != after.get(key))))
"""


def _button_kinds(kind: type[CallbackData]) -> set[type[CallbackData]]:
    """Every kind of button the handlers define (a class naming a prefix), however deep."""
    found = set()
    for sub in kind.__subclasses__():
        defined = "prefix" in vars(sub) and sub.__module__.startswith("handlers.")
        found |= _button_kinds(sub) | ({sub} if defined else set())
    return found


def test_the_assembled_bot_has_every_subjects_model_card_renderer_and_form() -> None:
    tables = wiring()
    assert set(tables.models) == set(Subject)
    assert {Subject.LEAVE, Subject.TOPIC, Subject.DEADLINE} <= set(tables.cards)
    assert {Subject.LEAVE, Subject.TOPIC} <= set(tables.forms)
    # Every prompt a workflow can raise has a route for its answer.
    assert {Subject.LEAVE, Subject.TOPIC, Subject.QUESTION} <= set(tables.text_routes)
    assert tables.notices, "the leave and Q&A notices have renderers"
    assert [feature.name for feature in tables.features] == [feature.name for feature in FEATURES]


def test_every_kind_of_button_is_declared_by_the_feature_that_handles_it() -> None:
    tables = wiring()
    assert set(tables.buttons.values()) == _button_kinds(CallbackData)
    for feature in tables.features:
        patterns = {h.pattern for h in feature.handlers() if isinstance(h, CallbackQueryHandler)}
        assert {kind.matches for kind in feature.buttons} <= patterns, feature.name


def test_importing_a_feature_module_changes_no_global_table() -> None:
    result = subprocess.run(
        [sys.executable, "-c", GLOBAL_TABLES, ",".join(INFRASTRUCTURE), ",".join(FEATURE_MODULES)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.split() == []


def test_two_features_claiming_one_table_entry_do_not_assemble() -> None:
    leave = next(feature for feature in FEATURES if feature.name == "leave")
    impostor = Feature("impostor", handlers=list, cards={Subject.LEAVE: leave.cards[Subject.LEAVE]})
    with pytest.raises(ValueError, match='card renderer "leave" is contributed by both leave and impostor'):
        assemble([*FEATURES, impostor])
