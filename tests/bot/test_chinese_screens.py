"""No English word on a Chinese screen: audit actions (📜 记录, the console's 动作 column), status
labels, calendar sources, the notices of the leave workflow and every message constant of the chat
handlers. Commands (/leave), addresses, HTML tags, placeholders and the office's own abbreviations
(AB角, Excel, CSV) are not words a reader has to translate."""

import ast
import re
import types
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from bot.calendar import DataSource
from bot.db import Person
from bot.leave import service as leave_service
from bot.leave.models import LeaveRequest
from bot.topics import service as topic_service
from bot.workflow.transitions import ACTION_LABEL, action_label
from handlers import common as handler_common
from handlers import deadlines, inputs, leave, qa, rules, start, topics, unanswered

ROOT = Path(__file__).resolve().parents[2]
ALLOWED = {"AB", "Excel", "CSV", "csv", "xlsx", "iCalendar", "webcal", "ID", "IP"}
NOT_WORDS = re.compile(
    r"<[^>]+>|/[a-z_]+(?:@\w+)?|https?://\S+|\{[^}]*\}|&[a-z]+;|%\([a-z_]+\)s"
    # an environment variable's name, a query string, a file's extension
    r"|\b[A-Z]+(?:_[A-Z]+)+\b|\?\w+=[^\s。，]*|\.(?:pdf|docx|txt|xlsx|ics)\b"
)
# Texts only an operator reads: the terminal commands (argparse speaks English around them) and
# the errors of a mistyped rules.toml.
OPERATOR_ONLY = {Path("bot/cli.py"), Path("bot/deadlines/rules.py")}
# An audit action is logged as a literal: log(session, ...,"submitted") or _log(session, x, person, "created").
LOGGED_ACTION = re.compile(r"\blog\(session,[^\n]*?\"([a-z_]+)\"|_log\(session, \w+, \w+, \"([a-z_]+)\"")


def english_words(text: str) -> list[str]:
    return [w for w in re.findall(r"[A-Za-z]{2,}", NOT_WORDS.sub(" ", text)) if w not in ALLOWED]


def logged_actions() -> set[str]:
    found: set[str] = set()
    for path in (ROOT / "bot").rglob("*.py"):
        for match in LOGGED_ACTION.finditer(path.read_text(encoding="utf-8")):
            found.add(match.group(1) or match.group(2))
    return found | set(leave_service.AUDIT_ACTION.values())


def test_every_logged_action_has_a_chinese_label() -> None:
    actions = logged_actions()
    assert {"created", "submitted", "approve", "revising", "outcome"} <= actions, "the scan finds the actions"
    for action in sorted(actions):
        assert not english_words(action_label(action)), f"{action!r} is shown untranslated"
    assert all(not english_words(label) for label in ACTION_LABEL.values())


@pytest.mark.parametrize(
    "labels",
    [leave_service.STATUS_LABEL, topic_service.STATUS_LABEL, {s: s.value for s in DataSource}],
    ids=["leave status", "topic status", "calendar source"],
)
def test_status_and_source_labels_are_chinese(labels: dict) -> None:
    assert [v for v in labels.values() if english_words(v)] == []


def test_leave_notices_are_chinese() -> None:
    requester = Person(name="张伟", position="副区长")
    request = LeaveRequest(
        id=1,
        requester=requester,
        kind="离包外出",
        start_date=date(2026, 12, 7),
        end_date=date(2026, 12, 9),
        acting=Person(name="刘洋", position="副区长"),
        decided_by=Person(name="王建国", position="区长"),
        decided_at=datetime(2026, 12, 3, 2, 0),
        return_report="无",
    )
    for template, render in leave.NOTICES.items():
        assert not english_words(render(request, date(2026, 12, 3))), template


def test_leave_notices_about_acting_and_pending_approvals_are_chinese() -> None:
    submitted = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
    request = LeaveRequest(
        id=1,
        requester=Person(name="王建国", position="区长"),
        kind="休假",
        status="pending",
        start_date=date(2026, 12, 7),
        end_date=date(2026, 12, 9),
        named_acting=Person(name="李明华", position="常务副区长"),
        approver=Person(name="赵敏", position="办公室主任"),
        submitted_at=submitted,
    )
    facts = {"because": "常务副区长同期不在岗", "article": 9, "hours": 8.0, "basis": "（第七十九条）"}
    facts["submitted"] = submitted.isoformat()
    for template, render in leave.NOTICES_WITH_FACTS.items():
        text = render(request, date(2026, 12, 3), facts)
        assert text and not english_words(text), template


@pytest.mark.parametrize(
    "module", [start, inputs, leave, topics, deadlines, qa, rules, unanswered, handler_common], ids=lambda m: m.__name__
)
def test_message_constants_of_the_chat_handlers_are_chinese(module: types.ModuleType) -> None:
    messages = {
        name: value
        for name, value in vars(module).items()
        if name.isupper() and isinstance(value, str) and re.search("[\u4e00-\u9fff]", value)
    }
    assert [(name, english_words(text)) for name, text in messages.items() if english_words(text)] == []


def _docstrings(tree: ast.AST) -> set[int]:
    """The ids of the docstring nodes: they are for developers and may name code."""
    return {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }


def _chinese_texts(tree: ast.AST) -> list[tuple[int, str]]:
    """Every string literal but docstrings, and every f-string's literal parts joined, that holds
    Chinese: what the code can put before a reader, whichever function builds it."""
    texts = []
    inside_fstrings = {id(part) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) for part in node.values}
    skipped = inside_fstrings | _docstrings(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            text = " ".join(p.value for p in node.values if isinstance(p, ast.Constant) and isinstance(p.value, str))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skipped:
            text = node.value
        else:
            continue
        if re.search("[\u4e00-\u9fff]", text):
            texts.append((node.lineno, text))
    return texts


@pytest.mark.parametrize(
    "path",
    sorted(
        p
        for package in ("bot", "handlers")
        for p in (ROOT / package).rglob("*.py")
        if p.relative_to(ROOT) not in OPERATOR_ONLY
    ),
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_every_chinese_text_in_the_code_holds_no_english_word(path: Path) -> None:
    """Templates built inside functions (topic and deadline cards, notices, replies) included."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = [(line, text, english_words(text)) for line, text in _chinese_texts(tree) if english_words(text)]
    assert found == []
