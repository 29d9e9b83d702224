"""What the console shows, as plain data, and who may see it (the roster decides).

- Admins (办公室) see the whole office.
- Leaders (区长, 常务副区长, 副区长) see what they approve or act for and the departments of their areas.
- Everyone sees their own requests, topics and their department's deadlines.
- The kind and reason of 病假/事假 are shown only to the person, the approver and the admins.
- What the office group is told anyway (a leader's approved leave, its public kind, who acts) is on
  everyone's calendar and feed, without the reason and without its history.
"""

import calendar
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from bot import roster
from bot.calendar.dates import AM, HALF_LABEL, PM
from bot.calendar.labels import local_moment, month_day, with_weekday
from bot.calendar.workdays import WorkdayCalendar
from bot.db import Person, QuestionLog, aware, utc
from bot.deadlines.models import Deadline
from bot.errors import PermissionDenied
from bot.leave.models import LeaveRequest
from bot.leave.service import STATUS_LABEL as LEAVE_STATUS
from bot.leave.service import LeaveStatus, period_label, periods_overlap
from bot.privacy import PRIVATE_LEAVE_KINDS, mask_numbers, public_leave_kind
from bot.qa.service import FEEDBACK_REASONS
from bot.roster import Position
from bot.topics import service as topics
from bot.topics.materials import checklist_for
from bot.topics.models import Topic
from bot.topics.service import STATUS_LABEL as TOPIC_STATUS
from bot.topics.service import TopicStatus
from bot.workflow import transitions
from bot.workflow.models import Subject, WorkflowEvent
from bot.workflow.transitions import HistoryRow
from knowledge import article_label

LEADERS = (Position.HEAD, Position.EXECUTIVE_DEPUTY, Position.DEPUTY)
SHOWN_LEAVES = (LeaveStatus.PENDING, LeaveStatus.APPROVED, LeaveStatus.COMPLETED)
ANNOUNCED_LEAVES = (LeaveStatus.APPROVED, LeaveStatus.COMPLETED)


def _leader(person: Person) -> bool:
    return person.position in LEADERS


def _areas(person: Person) -> set[str]:
    return set(person.areas or []) | ({person.department} if person.department else set())


def require_admin(person: Person) -> None:
    if not person.is_admin:
        raise PermissionDenied("只有办公室管理员可以查看全办公室的视图。")


# ----- leave -----------------------------------------------------------------------------------


def may_see_leave(viewer: Person, request: LeaveRequest) -> bool:
    if viewer.is_admin or viewer.id in (request.requester_id, request.approver_id, request.acting_id):
        return True
    return _leader(viewer) and (request.requester.department or "") in _areas(viewer)


def may_see_reason(viewer: Person, request: LeaveRequest) -> bool:
    return viewer.is_admin or viewer.id in (request.requester_id, request.approver_id)


def announced(request: LeaveRequest) -> bool:
    """What the office group is told of anyway (bot.leave.service: the group notice): a leader's
    approved leave, with its public kind and who acts."""
    return request.status in ANNOUNCED_LEAVES and request.requester.position in LEADERS


def on_calendar(viewer: Person, request: LeaveRequest, group_told: bool) -> bool:
    """Whether a leave is on the viewer's calendar and feed: what they may see, and what the office
    group (when there is one, `group_told`) already announced."""
    return may_see_leave(viewer, request) or (group_told and announced(request))


def _kind(viewer: Person, request: LeaveRequest) -> str:
    if request.kind in PRIVATE_LEAVE_KINDS and not may_see_reason(viewer, request):
        return public_leave_kind(request.kind)
    return request.kind or "请假"


def _paired(first: Person, second: Person) -> str | None:
    """The article two people break by being away on the same day: AB partners (Art. 79), the
    区长 and the 常务副区长 (Art. 9)."""
    if first.ab_partner_name == second.name or second.ab_partner_name == first.name:
        return article_label(79)
    if {first.position, second.position} == {Position.HEAD, Position.EXECUTIVE_DEPUTY}:
        return article_label(9)
    return None


def _clashes(requests: list[LeaveRequest], today: date) -> dict[int, list[str]]:
    """For each leave, the leaves shown beside it that it conflicts with: both of a pair are marked,
    whichever was filed first."""
    found: dict[int, list[str]] = {}
    for index, first in enumerate(requests):
        for second in requests[index + 1 :]:
            article = periods_overlap(first, second) and _paired(first.requester, second.requester)
            if not article:
                continue
            for one, other in ((first, second), (second, first)):
                note = f"与 {other.requester.name} 的请假（#{other.id}，{period_label(other, today)}）同期不在岗（{article}）"
                found.setdefault(one.id, []).append(note)
    return found


@dataclass(frozen=True)
class LeaveItem:
    id: int
    who: str
    department: str
    kind: str
    status: str
    pending: bool
    acting: str
    start: date
    end: date
    period: str
    # Each note with its article: the leave's own, and the leaves it clashes with on the calendar.
    conflicts: tuple[str, ...]
    # Whether the viewer may open it (its history); an announced leave of someone else is not.
    openable: bool
    start_half: str | None = None
    end_half: str | None = None

    def half_on(self, day: date) -> str:
        """上午 or 下午 on a calendar day the leave covers only half of, else ""."""
        if day == self.start and self.start_half == PM:
            return HALF_LABEL[PM]
        return HALF_LABEL[AM] if day == self.end and self.end_half == AM else ""


@dataclass(frozen=True)
class Day:
    day: date
    in_month: bool
    workday: bool
    holiday: str | None
    leaves: list[LeaveItem] = field(default_factory=list)


@dataclass(frozen=True)
class LeaveCalendar:
    year: int
    month: int
    weeks: list[list[Day]]
    departments: list[str]
    department: str | None
    conflicts: list[LeaveItem]
    # The month's leaves in order, for the list view (a phone's screen).
    items: list[LeaveItem]


def leave_calendar(
    session: Session,
    viewer: Person,
    year: int,
    month: int,
    department: str | None,
    workdays: WorkdayCalendar,
    group_told: bool = True,
) -> LeaveCalendar:
    """A month of who is away (and acting), conflicts first; both leaves of a conflict are marked."""
    first = date(year, month, 1)
    last = date(year, month, calendar.monthrange(year, month)[1])
    query = select(LeaveRequest).where(
        LeaveRequest.status.in_(SHOWN_LEAVES), LeaveRequest.start_date <= last, LeaveRequest.end_date >= first
    )
    requests = [
        r
        for r in session.scalars(query.order_by(LeaveRequest.start_date, LeaveRequest.id))
        if r.start_date and r.end_date and on_calendar(viewer, r, group_told)
    ]
    if department:
        requests = [r for r in requests if r.requester.department == department]
    clashes = _clashes(requests, first)
    items = []
    for r in requests:
        assert r.start_date is not None and r.end_date is not None  # only dated leaves were kept above
        openable = may_see_leave(viewer, r)
        # Its own notes name the partner away too, with the article; a leave filed before its
        # partner's may have none, and is marked by the clash.
        notes = (list(r.conflicts) if openable else []) or clashes.get(r.id, [])
        items.append(
            LeaveItem(
                r.id,
                f"{r.requester.name}（{r.requester.position}）",
                r.requester.department or "",
                _kind(viewer, r) if openable else public_leave_kind(r.kind),
                LEAVE_STATUS[LeaveStatus(r.status)],
                r.status == LeaveStatus.PENDING,
                r.acting.name if r.acting else "",
                r.start_date,
                r.end_date,
                period_label(r, first),
                tuple(notes),
                openable,
                r.start_half,
                r.end_half,
            )
        )
    start = first - timedelta(days=first.weekday())
    weeks = []
    for week in range(6):
        days = []
        for offset in range(7):
            day = start + timedelta(days=week * 7 + offset)
            info = workdays.day(day)
            away = [i for i in items if i.start <= day <= i.end]
            days.append(Day(day, day.month == month, info.is_workday, info.name, away))
        weeks.append(days)
        if (start + timedelta(days=week * 7 + 7)).month != month and week >= 3:
            break
    departments = roster.departments(session)
    return LeaveCalendar(year, month, weeks, departments, department, [i for i in items if i.conflicts], items)


@dataclass(frozen=True)
class LeaveDetail:
    id: int
    facts: list[tuple[str, str]]
    history: list[HistoryRow]


def leave_detail(session: Session, viewer: Person, request_id: int, zone: tzinfo) -> LeaveDetail:
    request = session.get(LeaveRequest, request_id)
    if request is None or not may_see_leave(viewer, request) or request.status == LeaveStatus.DRAFT:
        raise PermissionDenied("无权查看这份请假。")
    facts = [
        ("申请人", f"{request.requester.name}（{request.requester.position}）"),
        ("类型", _kind(viewer, request)),
        ("时间", period_label(request)),
        ("状态", LEAVE_STATUS[LeaveStatus(request.status)]),
        ("审批人", request.approver.name if request.approver else "（备案）"),
        ("代行职责", request.acting.name if request.acting else "无"),
    ]
    if may_see_reason(viewer, request):
        facts.append(("事由", request.reason or ""))
    facts += [("冲突提示", note) for note in request.conflicts]
    return LeaveDetail(request.id, facts, transitions.history(session, Subject.LEAVE, request.id, zone))


def leaves_for_feed(session: Session, owner: Person, group_told: bool = True) -> list[LeaveRequest]:
    """What a calendar feed shows: the office's leave for admins, else what the owner may see and
    what the office group announced."""
    query = select(LeaveRequest).where(LeaveRequest.status.in_(SHOWN_LEAVES)).order_by(LeaveRequest.start_date)
    return [r for r in session.scalars(query) if r.start_date and r.end_date and on_calendar(owner, r, group_told)]


def feed_kind(owner: Person, request: LeaveRequest) -> str:
    return _kind(owner, request) if may_see_leave(owner, request) else public_leave_kind(request.kind)


def feed_summary(owner: Person, request: LeaveRequest) -> str:
    """An event's title in a calendar feed: who, what, and the half days when a half applies (the
    event itself spans whole days, which is all a calendar's all-day event can say)."""
    who = f"{request.requester.name}{request.requester.position}"
    halves = f"（{period_label(request)}）" if request.start_half or request.end_half else ""
    state = "（待审批）" if request.status == LeaveStatus.PENDING else ""
    return f"{who} {feed_kind(owner, request)}{halves}{state}"


# ----- topics ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TopicCard:
    id: int
    title: str
    meeting: str
    department: str
    actor: str
    waiting: str


@dataclass(frozen=True)
class Board:
    columns: list[tuple[str, list[TopicCard]]]
    agenda: list[tuple[str, list[str]]]


# The board's columns, every one shown even when empty: the stages of the Art. 49 chains
# (bot.topics.routing) in the order a topic meets them, then where a topic ends.
STAGE_COLUMNS = (
    "待办公室副主任审核",
    "待分管副区长审核",
    "待办公室主任审核",
    "待分管副区长确定",
    "待常务副区长确定",
    "待区长确定",
)
END_COLUMNS = tuple(
    TOPIC_STATUS[s]
    for s in (
        TopicStatus.ACCEPTED,
        TopicStatus.CONCLUDED,
        TopicStatus.RETURNED,
        TopicStatus.REJECTED,
        TopicStatus.WITHDRAWN,
    )
)


def stage_column(stage: dict[str, str | int]) -> str:
    """A stage's column: one person holding two roles ("常务副区长（兼分管副区长）") sits under the later."""
    return f"待{str(stage['role']).split('（')[0]}{stage['action']}"


def _may_see(viewer: Person, topic: topics.OnChain, department: str | None) -> bool:
    """The people on a topic, the admins, and the leaders of its department see it."""
    on_it = viewer.id in topics.involved(topic)
    return viewer.is_admin or on_it or (_leader(viewer) and (department or "") in _areas(viewer))


def _waited(since: datetime, now: datetime) -> str:
    hours = int((utc(now) - aware(since)).total_seconds() // 3600)
    return f"{hours // 24} 天 {hours % 24} 小时" if hours >= 24 else f"{hours} 小时"


def topic_board(session: Session, viewer: Person, now: datetime) -> Board:
    """Topics by stage of the Art. 49 chain: who must act now and for how long it has waited."""
    last_moves = dict(
        session.execute(
            select(WorkflowEvent.subject_id, func.max(WorkflowEvent.at))
            .where(WorkflowEvent.subject == Subject.TOPIC)
            .group_by(WorkflowEvent.subject_id)
        ).all()
    )
    # Columns, not ORM objects: the board of a big office has a thousand topics.
    rows = session.execute(
        select(
            Topic.id,
            Topic.status,
            Topic.title,
            Topic.meeting_type,
            Topic.department,
            Topic.chain,
            Topic.stage,
            Topic.requester_id,
            Topic.created_at,
        )
        .where(Topic.status != TopicStatus.DRAFT)
        .order_by(Topic.id)
    ).all()
    columns: dict[str, list[TopicCard]] = {name: [] for name in STAGE_COLUMNS + END_COLUMNS}
    for row in rows:
        if not _may_see(viewer, row, row.department):
            continue
        status = TopicStatus(row.status)
        if status == TopicStatus.IN_REVIEW and row.stage < len(row.chain):
            stage = row.chain[row.stage]
            column, actor = stage_column(stage), str(stage["person_name"])
        else:
            column, actor = TOPIC_STATUS[status], ""
        since = last_moves.get(row.id) or row.created_at
        card = TopicCard(
            row.id, row.title or "", row.meeting_type or "", row.department or "", actor, _waited(since, now)
        )
        columns.setdefault(column, []).append(card)
    agenda: dict[str, list[str]] = {}
    for topic in topics.agenda(session):
        if _may_see(viewer, topic, topic.department):
            when = month_day(topic.meeting_date) if topic.meeting_date else "会期未定"
            agenda.setdefault(f"{topic.meeting_type}（{when}）", []).append(f"{topic.agenda_order}. {topic.title}")
    return Board(list(columns.items()), list(agenda.items()))


def topic_history(session: Session, viewer: Person, topic_id: int, zone: tzinfo) -> tuple[Topic, list[HistoryRow]]:
    topic = session.get(Topic, topic_id)
    if topic is None or not _may_see(viewer, topic, topic.department):
        raise PermissionDenied("无权查看这个议题。")
    return topic, transitions.history(session, Subject.TOPIC, topic.id, zone)


@dataclass(frozen=True)
class Material:
    label: str
    mark: str  # ✓ done, — not needed (with the reason), ✗ missing
    note: str
    article: str


@dataclass(frozen=True)
class ChainStep:
    """One stage of the Art. 49 chain as it stands: who, and what they did when (or that it waits)."""

    role: str
    action: str
    person: str
    state: str  # 通过 / 退回修改 / 不予上会 / 待处理 / 未到
    when: str
    note: str


@dataclass(frozen=True)
class TopicPage:
    topic: Topic
    status: str
    facts: list[tuple[str, str]]
    materials: list[Material]
    chain: list[ChainStep]
    slot: str | None  # where it stands on the agenda, or what the meeting decided
    history: list[HistoryRow]


def _materials(topic: Topic) -> list[Material]:
    found = []
    for material in checklist_for(topic.matter_kind or ""):
        state = topic.checklist.get(material.key, {})
        status = state.get("status")
        mark, note = ("✓", "已具备") if status == "done" else ("—", "不需要") if status == "not_needed" else ("✗", "缺")
        if state.get("reason"):
            note += f"：{state['reason']}"
        found.append(Material(material.label, mark, note, article_label(material.article)))
    return found


def _chain(session: Session, topic: Topic, zone: tzinfo, now: datetime) -> list[ChainStep]:
    """Each stage with its verdict in this round (since the last submission), who gave it and when."""
    events = transitions.events_of(session, Subject.TOPIC, topic.id)
    submitted = max((i for i, e in enumerate(events) if e.action == "submitted"), default=-1)
    round_events = events[submitted + 1 :]
    since = events[-1].at if events else topic.created_at
    steps = []
    for index, stage in enumerate(topic.chain):
        role, action, person = str(stage["role"]), str(stage["action"]), str(stage["person_name"])
        verdicts = {f"{role}{action}通过": "通过", f"{role}退回修改": "退回修改", f"{role}不予上会": "不予上会"}
        event = next((e for e in round_events if e.action in verdicts), None)
        if event is not None:
            who = event.actor.name if event.actor else person
            step = ChainStep(
                role, action, who, verdicts[event.action], local_moment(event.at, zone, now.date()), event.note or ""
            )
        elif topic.status == TopicStatus.IN_REVIEW and index == topic.stage:
            step = ChainStep(role, action, person, "待处理", f"已等 {_waited(since, now)}", "")
        else:
            step = ChainStep(role, action, person, "未到", "", "")
        steps.append(step)
    return steps


def _slot(topic: Topic, today: date) -> str | None:
    when = with_weekday(topic.meeting_date, today) if topic.meeting_date else "会期未定"
    if topic.status == TopicStatus.ACCEPTED:
        return f"{topic.meeting_type} 第{topic.agenda_order}项 · {when}"
    if topic.status == TopicStatus.CONCLUDED:
        return f"{topic.meeting_type} · {when} · 会议结果：{topic.outcome}"
    return None


def topic_page(session: Session, viewer: Person, topic_id: int, zone: tzinfo, now: datetime) -> TopicPage:
    """The topic itself: what it is, its materials, the chain with who acted when, its agenda slot."""
    topic, history = topic_history(session, viewer, topic_id, zone)
    deputy = f"{topic.deputy.name}（{topic.deputy.position}）" if topic.deputy else "未定"
    facts = [
        ("会议类型", topic.meeting_type or ""),
        ("议题", topic.title or ""),
        ("概要", topic.summary or ""),
        ("汇报部门", topic.department or ""),
        ("分管领导", deputy),
        ("申报人", f"{topic.requester.name}（{topic.requester.position}）"),
        ("事项类型", topic.matter_kind or ""),
        ("已征求意见", topic.consulted or ""),
    ]
    if topic.desired_date:
        facts.append(("希望上会", with_weekday(topic.desired_date, now.date())))
    status = TOPIC_STATUS[TopicStatus(topic.status)]
    return TopicPage(
        topic, status, facts, _materials(topic), _chain(session, topic, zone, now), _slot(topic, now.date()), history
    )


# ----- deadlines -------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeadlineRow:
    id: int
    title: str
    department: str
    due: date
    overdue: bool
    workdays_left: int
    article: str


@dataclass(frozen=True)
class Deadlines:
    rows: list[DeadlineRow]
    month: list[list[Day]]
    warning: str | None


def deadlines(session: Session, viewer: Person, today: date, workdays: WorkdayCalendar) -> Deadlines:
    """Open deadlines, overdue first, with the month's working days."""
    query = select(Deadline).where(Deadline.status == "open")
    if not viewer.is_admin:
        query = query.where(
            or_(
                Deadline.department.in_(_areas(viewer) if _leader(viewer) else {viewer.department or ""}),
                Deadline.requester_id == viewer.id,
                Deadline.responsible_id == viewer.id,
            )
        )
    rows = []
    for deadline in session.scalars(query):
        left = sum(
            1 for n in range((deadline.due_date - today).days) if workdays.is_workday(today + timedelta(days=n + 1))
        )
        rows.append(
            DeadlineRow(
                deadline.id,
                deadline.title,
                deadline.department or "",
                deadline.due_date,
                deadline.due_date < today,
                left,
                article_label(deadline.article) if deadline.article else "",
            )
        )
    rows.sort(key=lambda r: (not r.overdue, r.due, r.id))
    first = today.replace(day=1)
    start = first - timedelta(days=first.weekday())
    month = [
        [
            Day(day, day.month == today.month, (info := workdays.day(day)).is_workday, info.name)
            for day in (start + timedelta(days=w * 7 + d) for d in range(7))
        ]
        for w in range(6)
    ]
    fallback = {workdays.day(d.day).source for week in month for d in week if workdays.day(d.day).source.is_fallback}
    warning = None
    if fallback:
        warning = f"⚠️ {today.year}年的日历按{'、'.join(sorted(s.value for s in fallback))}推算，国务院公布调休安排后可能变化。"
    return Deadlines(rows, month, warning)


# ----- questions -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Disliked:
    """A 👎 answer: the question (numbers masked), why the asker disliked it, when."""

    question: str
    reason: str
    when: str


@dataclass(frozen=True)
class QuestionReport:
    per_day: list[tuple[date, int]]
    total: int
    declined: int
    tentative: int
    cited: list[tuple[str, int]]
    disliked: list[Disliked]
    peak: int  # the chart's top: the busiest day, at least 1


def question_report(session: Session, viewer: Person, today: date, zone, days: int = 30) -> QuestionReport:
    require_admin(viewer)
    since = today - timedelta(days=days - 1)
    rows = session.execute(
        select(QuestionLog.asked_at, QuestionLog.declined, QuestionLog.tentative, QuestionLog.cited).where(
            QuestionLog.asked_at >= utc(datetime.combine(since, datetime.min.time(), zone))
        )
    ).all()
    per_day = Counter(aware(at).astimezone(zone).date() for at, *_ in rows)
    cited = Counter(int(key.rpartition("#")[2]) for *_, keys in rows for key in keys[:1])  # "<rulebook>#50"
    disliked = session.execute(
        select(QuestionLog.question, QuestionLog.feedback_reason, QuestionLog.asked_at)
        .where(QuestionLog.feedback == -1)
        .order_by(QuestionLog.id.desc())
        .limit(10)
    ).all()
    counts = [(since + timedelta(days=n), per_day.get(since + timedelta(days=n), 0)) for n in range(days)]
    return QuestionReport(
        counts,
        len(rows),
        sum(1 for _, declined, *_ in rows if declined),
        sum(1 for _, _, tentative, _ in rows if tentative),
        [(article_label(n), c) for n, c in cited.most_common(8)],
        [
            Disliked(mask_numbers(q), FEEDBACK_REASONS.get(reason or "", "未说明原因"), local_moment(at, zone, today))
            for q, reason, at in disliked
        ],
        max([n for _, n in counts] + [1]),
    )
