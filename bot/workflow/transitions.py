"""Compare-and-set: a state change is legal once, whoever else presses at the same moment.

Every workflow row carries a `version`. A transition is one conditional UPDATE
`... SET version = version + 1 WHERE id = :id AND version = :expected`, checked by its rowcount:
of any number of concurrent attempts made for the same version exactly one matches, on SQLite
(whose writers queue at BEGIN IMMEDIATE) and on PostgreSQL (whose second UPDATE waits for the
first to commit and then finds the version gone). The row stays locked by the winner until the
unit of work commits, so the changes that follow the transition are safe as well.
"""

from collections.abc import Callable
from datetime import tzinfo
from typing import ClassVar, Protocol, TypeVar

from sqlalchemy import select, update
from sqlalchemy.orm import Mapped, Session
from sqlalchemy.orm.attributes import set_committed_value

from bot.db import aware, rows_changed
from bot.errors import AlreadyHandled
from bot.workflow.models import Subject, WorkflowEvent


class Versioned(Protocol):
    """A workflow row of a mapped class: an int on the row, a column on the class (so that
    `Model.version == n` is a SQL expression)."""

    id: ClassVar[Mapped[int]]
    version: ClassVar[Mapped[int]]


V = TypeVar("V", bound=Versioned)


def current_version(session: Session, model: type[Versioned], item_id: int, held: bool = False) -> int | None:
    """The version of item `item_id` of `model` as committed now (None if it is gone): a prompt or
    a card made for an older one is stale. `held` keeps the item's row until this unit of work
    commits (a write that changes nothing), so a transition racing it is seen by one side or the other."""
    if held:
        session.execute(
            update(model)
            .where(model.id == item_id)
            .values(version=model.version)
            .execution_options(synchronize_session=False)
        )
    record = session.get(model, item_id, populate_existing=True)
    return record.version if record else None


def transition(session: Session, record: V, expected_version: int, handled: Callable[[V], str]) -> V:
    """Claim the move from `expected_version` for this unit of work, or raise AlreadyHandled with
    `handled(record)` describing the record as it is now."""
    _compare_and_set(session, record, expected_version, 1, handled)
    set_committed_value(record, "version", expected_version + 1)
    return record


def hold(session: Session, record: V, expected_version: int, handled: Callable[[V], str]) -> V:
    """Check that the record is still at `expected_version` and keep it there until this unit of
    work commits, without moving it on (e.g. while a reason for a refusal is asked for)."""
    return _compare_and_set(session, record, expected_version, 0, handled)


def _compare_and_set(session: Session, record: V, expected_version: int, step: int, handled: Callable[[V], str]) -> V:
    model = type(record)
    changed = rows_changed(
        session,
        update(model)
        .where(model.id == record.id, model.version == expected_version)
        .values(version=model.version + step)
        .execution_options(synchronize_session=False),
    )
    if changed != 1:
        session.refresh(record)
        raise AlreadyHandled(handled(record))
    return record


def log(
    session: Session, subject: Subject, subject_id: int, actor_id: int | None, action: str, note: str | None = None
) -> None:
    """Add an entry to the one audit trail."""
    session.add(WorkflowEvent(subject=subject, subject_id=subject_id, actor_id=actor_id, action=action, note=note))


def events_of(session: Session, subject: Subject, subject_id: int) -> list[WorkflowEvent]:
    """An item's audit trail, oldest first."""
    query = select(WorkflowEvent).where(WorkflowEvent.subject == subject, WorkflowEvent.subject_id == subject_id)
    return list(session.scalars(query.order_by(WorkflowEvent.id)).unique())


# What each audit action is called on a Chinese screen (📜 记录, the console's 动作 column, a card's
# "最近"). A review stage's verdict is logged in Chinese already ("分管副区长审核通过") and shown as is.
ACTION_LABEL = {
    "created": "创建",
    "submitted": "提交",
    "filed": "备案",
    "approve": "批准",
    "reject": "不批准",
    "return": "退回补充",
    "reopened": "修改后重新提交",
    "withdrawn": "撤回",
    "revoked": "撤销",
    "cancelled": "取消",
    "returned": "销假",
    "rederived": "重新确定代行人",
    "entrusted": "委托主持工作",
    "revising": "修改",
    "reordered": "调整议程顺序",
    "meeting_date": "确定会期",
    "outcome": "记录会议结果",
    "done": "办结",
    "snoozed": "延后提醒",
}


def action_label(action: str) -> str:
    return ACTION_LABEL.get(action, action)


# An audit trail as people read it (in chat, on the console, in a CSV): local time, who, what, note.
HistoryRow = tuple[str, str, str, str]
HISTORY_COLUMNS = ("时间", "人员", "动作", "说明")


def history(session: Session, subject: Subject, subject_id: int, zone: tzinfo) -> list[HistoryRow]:
    return [
        (
            aware(e.at).astimezone(zone).strftime("%Y-%m-%d %H:%M"),
            e.actor.name if e.actor else "",
            action_label(e.action),
            e.note or "",
        )
        for e in events_of(session, subject, subject_id)
    ]
