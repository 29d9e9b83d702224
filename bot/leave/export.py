"""Audit export of leave records as CSV or Excel."""

import csv
import io
from collections.abc import Sequence

from openpyxl import Workbook
from openpyxl.utils import get_column_letter

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
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    writer.writerows(_row(r) for r in requests)
    # The BOM makes Excel on Chinese Windows open UTF-8 correctly.
    return buffer.getvalue().encode("utf-8-sig")


def to_xlsx(requests: Sequence[LeaveRequest]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "请销假记录"
    sheet.append(COLUMNS)
    for request in requests:
        sheet.append(_row(request))
    for index, title in enumerate(COLUMNS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = max(8, len(title) * 2 + 2)
    sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
