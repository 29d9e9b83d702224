"""Who may see what, where, and for how long it is kept: the privacy rules in one place.

- Where: a group chat never shows a person's lists (请假, 议题, 期限, the agenda with its buttons),
  histories or exports. The bot sends them to the person's private chat and says so in the group.
- Who: an item's history and export go only to the people on it (the requester, the reviewers and
  deciders of its chain) and the office admins; the leave export is for admins only.
- Notices to a group name sick and personal leave only as 请假 (`public_leave_kind`).
- Admin views of what people asked mask ID-card, phone and bank-card numbers (`mask_numbers`).
- Questions are deleted after [privacy] question_log_days days (`purge_question_log`).
"""

import re
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session

from bot.db import Person, QuestionLog, rows_changed, utc
from bot.errors import PermissionDenied

PRIVATE_LEAVE_KINDS = ("病假", "事假")
GROUP_NOTE = "涉及个人事项，已私聊发给您。"
# Before the other patterns, so an ID-card number is not taken for a phone number inside it.
_NUMBERS = (
    re.compile(r"(?<!\d)(\d{6})\d{8}(\d{3}[\dXx])(?![\dXx])"),  # 18-digit resident ID card
    re.compile(r"(?<!\d)(\d{4})\d{8,11}(\d{4})(?!\d)"),  # bank card: 16–19 digits
    re.compile(r"(?<!\d)(1[3-9]\d)\d{4}(\d{4})(?!\d)"),  # mainland mobile phone
)


def public_leave_kind(kind: str | None) -> str:
    """What a group may read about a leave's kind."""
    return "请假" if not kind or kind in PRIVATE_LEAVE_KINDS else kind


def mask_numbers(text: str) -> str:
    """110101199003071234 -> 110101********1234, 13812345678 -> 138****5678."""
    for pattern in _NUMBERS:
        text = pattern.sub(lambda m: m[1] + "*" * (len(m[0]) - len(m[1]) - len(m[2])) + m[2], text)
    return text


def require_on_item(person: Person, involved: set[int], what: str) -> None:
    """Let through the people on an item and the office admins; refuse everyone else."""
    if person.id not in involved and not person.is_admin:
        raise PermissionDenied(f"只有相关人员和办公室管理员可以查看{what}。")


def purge_question_log(session: Session, now: datetime, keep_days: int) -> int:
    """Delete questions asked more than `keep_days` days ago; how many were deleted."""
    cutoff = utc(now) - timedelta(days=keep_days)
    return rows_changed(
        session, delete(QuestionLog).where(QuestionLog.asked_at < cutoff).execution_options(synchronize_session=False)
    )
