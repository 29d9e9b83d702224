"""Leave requests as a state machine stored in the database.

    draft ──submit──> pending ──approve──> approved ──销假──> completed
      ^                 │ ├──reject──> rejected
      └──resubmit── returned <──return──┘ └──withdraw──> withdrawn

A decision is legal once, from the approver only, inside one transaction (the row is locked).
The form is a draft row whose `step` says which field comes next, so it survives restarts.
"""

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import forms, inputs
from bot.context import WorkContext
from bot.db import LeaveEvent, LeaveRequest, Person
from bot.deadlines import service as deadlines
from bot.errors import InvalidInput, NotFound, PermissionDenied
from bot.leave.dates import AM, PM, DayPart, parse_day
from bot.leave.routing import KINDS, MEETINGS, TRAVEL_KINDS, default_acting, route
from bot.roster import holder

MAX_DESTINATION = 100
MAX_REASON = 500
MAX_NOTE = 500
STATUS_LABEL = {
    "draft": "填写中",
    "pending": "待审批",
    "approved": "已批准",
    "rejected": "不批准",
    "returned": "已退回补充",
    "withdrawn": "已撤回",
    "completed": "已销假",
}


class Step(StrEnum):
    KIND = "kind"
    MEETING = "meeting"
    START = "start"
    END = "end"
    DESTINATION = "destination"
    REASON = "reason"
    ACTING = "acting"
    CONFIRM = "confirm"


TEXT_STEPS = (Step.START, Step.END, Step.DESTINATION, Step.REASON, Step.ACTING)
INPUT_PURPOSE = "leave:field"


def _steps_for(request: LeaveRequest) -> list[Step]:
    steps = [Step.KIND]
    if request.kind == "会议请假":
        steps.append(Step.MEETING)
    steps += [Step.START, Step.END]
    if request.kind in TRAVEL_KINDS:
        steps.append(Step.DESTINATION)
    return steps + [Step.REASON, Step.ACTING]


def _advance(session: Session, request: LeaveRequest) -> None:
    forms.advance(session, request, _steps_for(request), request.requester_id, INPUT_PURPOSE, set(TEXT_STEPS))


def _await_if_typed(session: Session, request: LeaveRequest) -> None:
    forms.await_if_typed(session, request, request.requester_id, INPUT_PURPOSE, set(TEXT_STEPS))


def _log(session: Session, request: LeaveRequest, actor: Person | None, action: str, note: str | None = None) -> None:
    session.add(LeaveEvent(request_id=request.id, actor_id=actor.id if actor else None, action=action, note=note))


def _own(session: Session, person: Person, request_id: int, status: str, refusal: str) -> LeaveRequest:
    return forms.owned(session, LeaveRequest, request_id, person, status, STATUS_LABEL, "找不到这份请假单。", refusal)


def _draft(session: Session, person: Person, request_id: int) -> LeaveRequest:
    return _own(session, person, request_id, "draft", "这份请假单{status}，不能再修改。")


# ----- the form ----------------------------------------------------------------------------------


def open_form(session: Session, person: Person) -> LeaveRequest:
    """Resume the person's unfinished form or start a new one."""
    draft = session.scalar(
        select(LeaveRequest).where(LeaveRequest.requester_id == person.id, LeaveRequest.status == "draft")
    )
    if draft is None:
        draft = LeaveRequest(requester_id=person.id, status="draft", step=Step.KIND, filled=[])
        session.add(draft)
        session.flush()
        _log(session, draft, person, "created")
    _await_if_typed(session, draft)
    session.commit()
    return draft


def choose_kind(session: Session, person: Person, request_id: int, kind: str) -> LeaveRequest:
    if kind not in KINDS:
        raise InvalidInput(f"没有这种请假类型：{kind!r}")
    request = _draft(session, person, request_id)
    request.kind = kind
    forms.fill(request, Step.KIND)
    if kind != "会议请假":
        request.meeting = None
    if kind not in TRAVEL_KINDS:
        request.destination = None
    return _save_and_advance(session, request)


def choose_meeting(session: Session, person: Person, request_id: int, meeting: str) -> LeaveRequest:
    if meeting not in MEETINGS:
        raise InvalidInput(f"没有这种会议：{meeting!r}")
    request = _draft(session, person, request_id)
    request.meeting = meeting
    forms.fill(request, Step.MEETING)
    return _save_and_advance(session, request)


def choose_acting(session: Session, person: Person, request_id: int, acting_id: int | None) -> LeaveRequest:
    request = _draft(session, person, request_id)
    acting = None
    if acting_id is not None:
        acting = session.get(Person, acting_id)
        if acting is None or not acting.active or acting.id == person.id:
            raise InvalidInput("代行职责的人必须是花名册中的其他人。")
    request.acting = acting
    forms.fill(request, Step.ACTING)
    return _save_and_advance(session, request)


def enter_text(session: Session, person: Person, request_id: int, text: str, today: date) -> LeaveRequest:
    """Fill the typed field the form is waiting for; bad input raises InvalidInput and changes nothing."""
    request = _draft(session, person, request_id)
    step = Step(request.step)
    text = text.strip()
    if step == Step.START:
        day = parse_day(text, today)
        if day.day < today and request.kind != "病假":
            raise InvalidInput(f"开始日期 {day.label()} 已经过去了。请假应事先报告，请输入今天或以后的日期。")
        request.start_date, request.start_half = day.day, day.half
        if request.end_date and _period_key(request.end_date, request.end_half, end=True) < _period_key(
            day.day, day.half
        ):
            forms.unfill(request, Step.END)
    elif step == Step.END:
        day = parse_day(text, today)
        assert request.start_date is not None
        if _period_key(day.day, day.half, end=True) < _period_key(request.start_date, request.start_half):
            start = DayPart(request.start_date, request.start_half).label()
            raise InvalidInput(f"结束时间 {day.label()} 早于开始时间 {start}，请重新输入结束日期。")
        request.end_date, request.end_half = day.day, day.half
    elif step == Step.DESTINATION:
        request.destination = forms.bounded(text, MAX_DESTINATION, "目的地")
    elif step == Step.REASON:
        request.reason = forms.bounded(text, MAX_REASON, "事由")
    elif step == Step.ACTING:
        acting = session.scalar(select(Person).where(Person.name == text, Person.active))
        if acting is None or acting.id == person.id:
            raise InvalidInput(f"花名册中没有 {text!r}（或不能是您本人）。请输入代行人的姓名，或点按钮选择。")
        request.acting = acting
    else:
        raise InvalidInput("现在请点选按钮，不需要输入文字。")
    forms.fill(request, step)
    return _save_and_advance(session, request)


def _save_and_advance(session: Session, request: LeaveRequest) -> LeaveRequest:
    _advance(session, request)
    session.commit()
    return request


def edit_field(session: Session, person: Person, request_id: int, step: Step) -> LeaveRequest:
    """Go back to one field from the confirmation screen; its old value stays until replaced."""
    request = _draft(session, person, request_id)
    if step not in _steps_for(request):
        raise InvalidInput("这一项不需要填写。")
    forms.unfill(request, step)
    request.step = step
    _await_if_typed(session, request)
    session.commit()
    return request


def cancel(session: Session, person: Person, request_id: int) -> None:
    request = _draft(session, person, request_id)
    request.status = "withdrawn"
    inputs.clear(session, person.id, "leave:")
    _log(session, request, person, "cancelled")
    session.commit()


# ----- submission and conflicts -----------------------------------------------------------------


def _period_key(day: date, half: str | None, end: bool = False) -> int:
    """Half-day index: a period is [start key, end key]; a full day covers both halves."""
    base = day.toordinal() * 2
    if end:
        return base if half == AM else base + 1
    return base + 1 if half == PM else base


def _overlapping(
    session: Session, person_id: int, request: LeaveRequest, statuses: tuple[str, ...]
) -> list[LeaveRequest]:
    assert request.start_date and request.end_date
    candidates = session.scalars(
        select(LeaveRequest).where(
            LeaveRequest.requester_id == person_id,
            LeaveRequest.id != request.id,
            LeaveRequest.status.in_(statuses),
            LeaveRequest.start_date <= request.end_date,
            LeaveRequest.end_date >= request.start_date,
        )
    )
    mine = (_period_key(request.start_date, request.start_half), _period_key(request.end_date, request.end_half, True))
    return [
        other
        for other in candidates
        if _period_key(other.start_date, other.start_half) <= mine[1]
        and mine[0] <= _period_key(other.end_date, other.end_half, True)
    ]


@dataclass(frozen=True)
class Conflicts:
    notes: list[str]
    ab_conflict: bool


def check_conflicts(session: Session, request: LeaveRequest) -> Conflicts:
    """Refuse an overlap with one's own leave; flag AB partner, acting person and Art. 9 clashes."""
    requester = request.requester
    own = _overlapping(session, requester.id, request, ("pending", "approved"))
    if own:
        other = own[0]
        raise InvalidInput(
            f"与您已有的请假（{period_label(other)}，{STATUS_LABEL[other.status]}）时间重叠，不能重复提交。"
        )
    notes: list[str] = []
    ab_conflict = False
    away = ("pending", "approved")
    partner = default_acting(session, requester) if requester.ab_partner_name else None
    if partner and _overlapping(session, partner.id, request, away):
        ab_conflict = True
        executive = holder(session, "常务副区长")
        notes.append(
            f"AB角 {partner.name} 同期也不在岗：互为AB角的领导原则上不同时外出，确需同时外出的，由常务副区长"
            f"{' ' + executive.name if executive else ''}代行职责（第七十九条）。"
        )
    if (
        request.acting
        and request.acting.id != (partner.id if partner else None)
        and _overlapping(session, request.acting.id, request, away)
    ):
        notes.append(f"指定的代行人 {request.acting.name} 同期也不在岗，请另行安排。")
    pair = {"区长": "常务副区长", "常务副区长": "区长"}.get(requester.position)
    other_leader = holder(session, pair) if pair else None
    if other_leader and _overlapping(session, other_leader.id, request, away):
        notes.append("区长和常务副区长同期外出：按第九条，区长可委托其他副区长主持工作，请明确受委托人。")
    return Conflicts(notes, ab_conflict)


@dataclass(frozen=True)
class Submitted:
    request: LeaveRequest
    needs_approval: bool
    basis: str


def _schedule_return(session: Session, request: LeaveRequest, context: WorkContext) -> None:
    """An approved leave owes a 销假 after it ends (Art. 79): a deadline with its reminders."""
    assert request.end_date is not None
    deadlines.create_deadline(
        session,
        "leave_return",
        request.end_date,
        context.now,
        context.calendar,
        context.groups,
        title=f"{request.requester.name}的请假（#{request.id}，{period_label(request)}）销假",
        due=request.end_date,
        responsible=request.requester,
        requester=request.requester,
        approver=request.approver,
        source=f"leave:{request.id}",
    )


def submit(session: Session, person: Person, request_id: int, context: WorkContext) -> Submitted:
    """Check, route and submit a completed form; a report needing no approval is approved at once."""
    request = _draft(session, person, request_id)
    missing = [s for s in _steps_for(request) if s not in request.filled]
    if missing:
        raise InvalidInput("请假单还没有填完，请先完成各项。")
    conflicts = check_conflicts(session, request)
    routed = route(session, request.requester, request.kind or "", request.meeting)
    request.approver = routed.approver
    request.article = routed.article
    request.conflicts, request.ab_conflict = conflicts.notes, conflicts.ab_conflict
    request.submitted_at = deadlines.utc(context.now)
    request.step = None
    inputs.clear(session, person.id, "leave:")
    if routed.approver is None:
        request.status = "approved"
        request.decided_at = deadlines.utc(context.now)
        request.decision_note = "备案（无需审批）"
        _log(session, request, person, "filed", routed.basis)
        _schedule_return(session, request, context)
    else:
        request.status = "pending"
        _log(session, request, person, "submitted")
    session.commit()
    return Submitted(request, routed.approver is not None, routed.basis)


# ----- decisions ---------------------------------------------------------------------------------


DECISIONS = {"approve": "approved", "reject": "rejected", "return": "returned"}


def _pending_for(session: Session, request_id: int, actor: Person) -> LeaveRequest:
    request = session.get(LeaveRequest, request_id, with_for_update=True)
    if request is None:
        raise NotFound("找不到这份请假单。")
    if request.approver_id != actor.id:
        raise PermissionDenied("您不是这份请假的审批人，不能处理。")
    if request.status != "pending":
        raise InvalidInput(f"这份请假已经处理过（{STATUS_LABEL[request.status]}），不能重复处理。")
    return request


def ask_reason(session: Session, request_id: int, actor: Person, decision: str) -> LeaveRequest:
    """不批准 / 退回补充 need a reason: await it from the approver's next message."""
    request = _pending_for(session, request_id, actor)
    inputs.expect_text(session, actor.id, f"leave:{decision}", request.id)
    session.commit()
    return request


def decide(
    session: Session, request_id: int, actor: Person, decision: str, context: WorkContext, note: str | None = None
) -> LeaveRequest:
    """Approve, reject or send back; legal once, from the approver, with a reason for a refusal."""
    request = _pending_for(session, request_id, actor)
    if decision != "approve":
        note = forms.bounded((note or "").strip(), MAX_NOTE, "理由")
    if decision == "approve" and request.ab_conflict and request.requester.position != "常务副区长":
        executive = holder(session, "常务副区长")
        if executive is not None:
            request.acting = executive
    request.status = DECISIONS[decision]
    request.decided_by, request.decided_at, request.decision_note = actor, deadlines.utc(context.now), note
    inputs.clear(session, actor.id, "leave:")
    _log(session, request, actor, decision, note)
    if request.status == "approved":
        _schedule_return(session, request, context)
    session.commit()
    return request


def reopen(session: Session, person: Person, request_id: int) -> LeaveRequest:
    """A returned request goes back to the form's confirmation screen for revision."""
    request = _own(session, person, request_id, "returned", "这份请假{status}，不能修改后重新提交。")
    if session.scalar(
        select(LeaveRequest.id).where(LeaveRequest.requester_id == person.id, LeaveRequest.status == "draft")
    ):
        raise InvalidInput("您还有一份正在填写的请假单，请先提交或取消它。")
    request.status = "draft"
    _advance(session, request)
    _log(session, request, person, "reopened")
    session.commit()
    return request


def withdraw(session: Session, person: Person, request_id: int) -> LeaveRequest:
    request = _own(session, person, request_id, "pending", "只有待审批的请假可以撤回，这份{status}。")
    request.status = "withdrawn"
    _log(session, request, person, "withdrawn")
    session.commit()
    return request


# ----- 销假 and reminders --------------------------------------------------------------------------


def returnable(session: Session, person: Person) -> list[LeaveRequest]:
    """Approved leaves of the person not yet closed by 销假."""
    return list(
        session.scalars(
            select(LeaveRequest)
            .where(LeaveRequest.requester_id == person.id, LeaveRequest.status == "approved")
            .order_by(LeaveRequest.start_date)
        )
    )


def await_return_report(session: Session, person: Person, request_id: int) -> LeaveRequest:
    request = _approved_of(session, person, request_id)
    inputs.expect_text(session, person.id, "leave:back", request.id)
    session.commit()
    return request


def _approved_of(session: Session, person: Person, request_id: int) -> LeaveRequest:
    return _own(session, person, request_id, "approved", "这份请假{status}，不需要销假。")


def record_return(session: Session, person: Person, request_id: int, report: str, now: datetime) -> LeaveRequest:
    """销假: record the return and the report (“无” for none); legal once; ends the reminders."""
    request = _approved_of(session, person, request_id)
    report = forms.bounded(report.strip(), MAX_REASON, "销假报告")
    request.status = "completed"
    request.returned_on = now.date()
    deadlines.close_by_source(session, f"leave:{request.id}", person, now)
    request.return_report = None if report in {"无", "没有", "无。"} else report
    inputs.clear(session, person.id, "leave:")
    _log(session, request, person, "returned", request.return_report)
    session.commit()
    return request


# ----- lists and export --------------------------------------------------------------------------


def period_label(request: LeaveRequest) -> str:
    if not request.start_date or not request.end_date:
        return "日期未填"
    start = DayPart(request.start_date, request.start_half).label()
    end = DayPart(request.end_date, request.end_half).label()
    return start if start == end else f"{start}–{end}"


def my_requests(session: Session, person: Person, limit: int = 10) -> list[LeaveRequest]:
    return list(
        session.scalars(
            select(LeaveRequest)
            .where(LeaveRequest.requester_id == person.id, LeaveRequest.status != "draft")
            .order_by(LeaveRequest.id.desc())
            .limit(limit)
        )
    )


def waiting_for(session: Session, approver: Person) -> list[LeaveRequest]:
    return list(
        session.scalars(
            select(LeaveRequest)
            .where(LeaveRequest.approver_id == approver.id, LeaveRequest.status == "pending")
            .order_by(LeaveRequest.submitted_at)
        )
    )


def requests_in_period(session: Session, start: date, end: date) -> list[LeaveRequest]:
    """Submitted requests whose leave touches [start, end], for the audit export."""
    return list(
        session.scalars(
            select(LeaveRequest)
            .where(LeaveRequest.status != "draft", LeaveRequest.start_date <= end, LeaveRequest.end_date >= start)
            .order_by(LeaveRequest.start_date, LeaveRequest.id)
        )
    )


def events_of(session: Session, request_id: int) -> list[LeaveEvent]:
    return list(session.scalars(select(LeaveEvent).where(LeaveEvent.request_id == request_id).order_by(LeaveEvent.id)))


inputs.FORM_CANCELLERS[INPUT_PURPOSE] = cancel
