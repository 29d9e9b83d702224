"""Audit export of leave records as CSV or Excel (formula-safe: bot.spreadsheet)."""

from collections.abc import Sequence
from datetime import date

from bot import spreadsheet
from bot.leave.models import LeaveRequest
from bot.leave.service import STATUS_LABEL, period_label

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


def _row(request: LeaveRequest) -> list[str]:
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
        STATUS_LABEL[request.status],
        request.decided_at.strftime("%Y-%m-%d %H:%M") if request.decided_at else "",
        request.decision_note or "",
        f"第{request.article}条" if request.article else "",
        "；".join(request.conflicts),
        request.returned_on.isoformat() if request.returned_on else "",
        request.return_report or "",
    ]


def to_csv(requests: Sequence[LeaveRequest]) -> bytes:
    return spreadsheet.to_csv(COLUMNS, (_row(r) for r in requests))


def to_xlsx(requests: Sequence[LeaveRequest]) -> bytes:
    return spreadsheet.to_xlsx("请销假记录", COLUMNS, (_row(r) for r in requests))


def export_file(requests: Sequence[LeaveRequest], start: date, end: date, fmt: str) -> tuple[bytes, str]:
    """The records of a period as `fmt` ("xlsx" or "csv"), and the file's name."""
    content = to_csv(requests) if fmt == "csv" else to_xlsx(requests)
    return content, f"请销假记录_{start}_{end}.{fmt}"
