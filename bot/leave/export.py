"""Audit export of leave records as CSV or Excel (formula-safe: bot.spreadsheet)."""

from collections.abc import Sequence
from datetime import date, tzinfo

from bot import plaintext, spreadsheet
from bot.calendar.labels import local_moment, month_day
from bot.leave.models import LeaveRequest
from bot.leave.service import period_label, status_label
from knowledge import article_label

COLUMNS = (
    "编号",
    "申请人",
    "职务",
    "部门",
    "类型",
    "会议",
    "时间",
    "目的地",
    "事由",
    "代行人",
    "审批人",
    "状态",
    "审批时间",
    "审批意见",
    "依据条款",
    "冲突提示",
    "销假日期",
    "销假报告",
)


def _row(request: LeaveRequest, zone: tzinfo) -> list[str]:
    person = request.requester
    return [
        str(request.id),
        person.name,
        person.position,
        person.department or "",
        request.kind or "",
        request.meeting or "",
        period_label(request),
        request.destination or "",
        request.reason or "",
        request.acting.name if request.acting else "",
        request.approver.name if request.approver else "（备案）",
        status_label(request),
        local_moment(request.decided_at, zone) if request.decided_at else "",
        request.decision_note or "",
        article_label(request.article) if request.article else "",
        plaintext.clauses(request.conflicts),
        month_day(request.returned_on) if request.returned_on else "",
        request.return_report or "",
    ]


def to_csv(requests: Sequence[LeaveRequest], zone: tzinfo) -> bytes:
    return spreadsheet.to_csv(COLUMNS, (_row(r, zone) for r in requests))


def to_xlsx(requests: Sequence[LeaveRequest], zone: tzinfo) -> bytes:
    return spreadsheet.to_xlsx("请销假记录", COLUMNS, (_row(r, zone) for r in requests))


def export_file(requests: Sequence[LeaveRequest], start: date, end: date, fmt: str, zone: tzinfo) -> tuple[bytes, str]:
    """The records of a period as `fmt` ("xlsx" or "csv"), and the file's name; times in `zone`,
    the office's."""
    content = to_csv(requests, zone) if fmt == "csv" else to_xlsx(requests, zone)
    return content, f"请销假记录_{start}_{end}.{fmt}"
