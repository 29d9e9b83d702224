"""Leave requests as a state machine stored in the database.

    draft ──submit──> pending ──approve──> approved ──销假──> completed
      ^                 │ ├──reject──> rejected
      └──resubmit── returned <──return──┘ └──withdraw──> withdrawn

Leave is a one-stage review chain: the approver approves, rejects or sends back. Every move is a
compare-and-set on the request's version (bot.workflow.transitions), legal once, from the right
person; the messages it causes go into the outbox in the same transaction. Nothing here commits:
the command that called it does, once.
"""

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, tzinfo
from enum import StrEnum

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot import plaintext
from bot.calendar import WorkdayCalendar
from bot.calendar.dates import AM, HALF_LABEL, PM, DayPart, parse_day, parse_period
from bot.calendar.labels import with_weekday
from bot.calendar.workdays import WORK_START
from bot.db import Person, aware, utc
from bot.deadlines import service as deadlines
from bot.errors import AlreadyHandled, InvalidInput, NotFound, PermissionDenied
from bot.leave.models import LeaveRequest
from bot.leave.routing import KINDS, MEETINGS, TRAVEL_KINDS, default_acting, route
from bot.roster import Position, holder
from bot.workflow import forms, inputs, outbox, review
from bot.workflow.context import WorkContext
from bot.workflow.models import Card, CardRole, Subject
from bot.workflow.review import Verdict
from bot.workflow.transitions import current_version, log, transition

MAX_DESTINATION = 100
MAX_REASON = 500
MAX_NAME = 64  # people.name is String(64)


class LeaveStatus(StrEnum):
    DRAFT = "draft"
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    RETURNED = "returned"
    WITHDRAWN = "withdrawn"
    COMPLETED = "completed"


STATUS_LABEL = {
    LeaveStatus.DRAFT: "填写中",
    LeaveStatus.PENDING: "待审批",
    LeaveStatus.APPROVED: "已批准",
    LeaveStatus.REJECTED: "不批准",
    LeaveStatus.RETURNED: "已退回补充",
    LeaveStatus.WITHDRAWN: "已撤回",
    LeaveStatus.COMPLETED: "已销假",
}


# Leave is the one-stage review chain: the approver's verdict, its status and its audit entry.
DECIDED_STATUS = {
    Verdict.PASS: LeaveStatus.APPROVED,
    Verdict.REJECT: LeaveStatus.REJECTED,
    Verdict.RETURN: LeaveStatus.RETURNED,
}
AUDIT_ACTION = {Verdict.PASS: "approve", Verdict.REJECT: "reject", Verdict.RETURN: "return"}


class Step(StrEnum):
    KIND = "kind"
    MEETING = "meeting"
    START = "start"
    END = "end"
    DESTINATION = "destination"
    REASON = "reason"
    ACTING = "acting"
    CONFIRM = "confirm"


PREFIX = Subject.LEAVE  # prompts of this workflow are "leave:<purpose>"
INPUT_PURPOSE = "leave:field"
RETURN_PURPOSE = "leave:back"


# Art. 79: leave is asked for before it starts (离包外出 "须事先向区长请示", and 请销假制度 for the rest);
# a personal matter (事假) can be foreseen and asked for, an illness cannot: only sick leave may be
# reported afterwards (补报), within [leave] backdate_days.
BACKDATABLE_KINDS = ("病假",)
DEFAULT_BACKDATE_DAYS = 30


def check_start(request: LeaveRequest, today: date, backdate_days: int | None) -> None:
    """A start before `today` is a 补报: only sick leave, at most `backdate_days` back
    (None: the window was checked when the date was typed)."""
    start = request.start_date
    if start is None or start >= today:
        return
    label = DayPart(start, request.start_half).label(today)
    if request.kind == "离包外出":
        raise InvalidInput(
            f"开始日期 {label} 已经过去了。离包外出须事先向区长请示，经批准方可出行（第七十九条），不能事后补报。"
            "请输入今天或以后的日期。"
        )
    if request.kind not in BACKDATABLE_KINDS:
        raise InvalidInput(
            f"开始日期 {label} 已经过去了。{request.kind}应事先请假，只有病假可以事后补报。请输入今天或以后的日期。"
        )
    if backdate_days is not None and (today - start).days > backdate_days:
        raise InvalidInput(f"开始日期 {label} 已超过 {backdate_days} 天，不能再补报。请核对日期，或当面向审批人报告。")


def reported_late(request: LeaveRequest, zone: tzinfo) -> date | None:
    """补报: the day a leave was submitted, if it had started by then (else None)."""
    if request.start_date is None or request.submitted_at is None:
        return None
    submitted = aware(request.submitted_at).astimezone(zone).date()
    return submitted if request.start_date < submitted else None


def _read_start(session: Session, request: LeaveRequest, text: str, today: date) -> None:
    """A start date, or the whole period in one message (then the end is filled too)."""
    day, end = parse_period(text, today)
    request.start_date, request.start_half = day.day, day.half
    if end is not None:
        _set_end(request, end, today)
        forms.fill(request, Step.END)
    elif request.end_date and _period_key(request.end_date, request.end_half, end=True) < _period_key(
        day.day, day.half
    ):
        forms.unfill(request, Step.END)


def _read_end(session: Session, request: LeaveRequest, text: str, today: date) -> None:
    _set_end(request, parse_day(text, today), today)


def _set_end(request: LeaveRequest, day: DayPart, today: date) -> None:
    assert request.start_date is not None
    if _period_key(day.day, day.half, end=True) < _period_key(request.start_date, request.start_half):
        start = DayPart(request.start_date, request.start_half).label(today)
        raise InvalidInput(f"结束时间 {day.label(today)} 早于开始时间 {start}，请重新输入结束日期。")
    request.end_date, request.end_half = day.day, day.half


def _read_destination(session: Session, request: LeaveRequest, text: str, today: date) -> None:
    request.destination = forms.bounded(text, MAX_DESTINATION, "目的地")


def _read_reason(session: Session, request: LeaveRequest, text: str, today: date) -> None:
    request.reason = forms.bounded(text, MAX_REASON, "事由")


def _read_acting(session: Session, request: LeaveRequest, text: str, today: date) -> None:
    name = forms.bounded(text, MAX_NAME, "代行人姓名")
    acting = session.scalar(select(Person).where(Person.name == name, Person.active))
    if acting is None or acting.id == request.requester_id:
        raise InvalidInput(f"花名册中没有 {name!r}（或不能是您本人）。请输入代行人的姓名，或点按钮选择。")
    _set_named_acting(request, acting)


FORM = forms.FormSpec[LeaveRequest](
    INPUT_PURPOSE,
    (
        forms.Field(Step.KIND, "类型", "请选择请假类型："),
        forms.Field(Step.MEETING, "会议", "请选择不能出席的会议：", applies=lambda r: r.kind == "会议请假"),
        forms.Field(
            Step.START, "开始", "请输入开始日期，如：12月3日、明天、下周一、2026-12-03 上午；"
            "也可一次写明起止，如：12月7日下午到12月9日上午", True, read=_read_start
        ),
        forms.Field(Step.END, "结束", "请输入结束日期（可加“上午”表示只请到中午）：", True, read=_read_end),
        forms.Field(
            Step.DESTINATION, "目的地", "请输入目的地：", True, lambda r: r.kind in TRAVEL_KINDS, _read_destination
        ),
        forms.Field(Step.REASON, "事由", "请输入事由：", True, read=_read_reason),
        forms.Field(Step.ACTING, "代行人", "期间由谁代行职责？点按钮选择，或直接输入姓名：", True, read=_read_acting),
    ),
)


def _log(session: Session, request: LeaveRequest, actor: Person | None, action: str, note: str | None = None) -> None:
    log(session, Subject.LEAVE, request.id, actor.id if actor else None, action, note)


def _own(
    session: Session, person: Person, request_id: int, status: LeaveStatus, refusal: str, version: int | None = None
) -> LeaveRequest:
    return forms.owned(
        session, LeaveRequest, request_id, person, status, STATUS_LABEL, "找不到这份请假单。", refusal, version
    )


def _draft(session: Session, person: Person, request_id: int) -> LeaveRequest:
    return _own(session, person, request_id, LeaveStatus.DRAFT, "这份请假单已经处理过（{status}），不能再修改。")


def _handled(request: LeaveRequest) -> str:
    return f"这份请假已经处理过（{STATUS_LABEL[LeaveStatus(request.status)]}），不能重复处理。"


# ----- the form ----------------------------------------------------------------------------------


def open_draft(session: Session, person: Person) -> int | None:
    return session.scalar(
        select(LeaveRequest.id).where(LeaveRequest.requester_id == person.id, LeaveRequest.status == LeaveStatus.DRAFT)
    )


def open_form(session: Session, person: Person) -> int:
    """Resume the person's unfinished form or start a new one; returns its id."""
    draft_id = open_draft(session, person)
    if draft_id is None:
        draft = LeaveRequest(requester_id=person.id, status=LeaveStatus.DRAFT, step=Step.KIND, filled=[])
        session.add(draft)
        session.flush()
        _log(session, draft, person, "created")
    else:
        found = session.get(LeaveRequest, draft_id)
        assert found is not None  # open_draft just found it, in this unit of work
        draft = found
    forms.await_if_typed(session, FORM, draft)
    return draft.id


def choose_kind(session: Session, person: Person, request_id: int, kind: str) -> None:
    if kind not in KINDS:
        raise InvalidInput(f"没有这种请假类型：{kind!r}")
    request = _draft(session, person, request_id)
    request.kind = kind
    forms.fill(request, Step.KIND)
    if kind != "会议请假":
        request.meeting = None
    if kind not in TRAVEL_KINDS:
        request.destination = None
    _advance(session, request)


def choose_meeting(session: Session, person: Person, request_id: int, meeting: str) -> None:
    if meeting not in MEETINGS:
        raise InvalidInput(f"没有这种会议：{meeting!r}")
    request = _draft(session, person, request_id)
    request.meeting = meeting
    forms.fill(request, Step.MEETING)
    _advance(session, request)


def choose_acting(session: Session, person: Person, request_id: int, acting_id: int | None) -> None:
    request = _draft(session, person, request_id)
    acting = None
    if acting_id is not None:
        acting = session.get(Person, acting_id)
        if acting is None or not acting.active or acting.id == person.id:
            raise InvalidInput("代行职责的人必须是花名册中的其他人。")
    _set_named_acting(request, acting)
    forms.fill(request, Step.ACTING)
    _advance(session, request)


def enter_text(
    session: Session,
    person: Person,
    request_id: int,
    text: str,
    today: date,
    backdate_days: int = DEFAULT_BACKDATE_DAYS,
) -> None:
    """Fill the typed field the form is waiting for; bad input raises InvalidInput and changes nothing
    (the unit of work is rolled back). A start in the past is a 补报 (`check_start`)."""
    request = _draft(session, person, request_id)
    typed_start = request.step == Step.START
    forms.enter_text(session, FORM, request, text, today)
    if typed_start:
        check_start(request, today, backdate_days)


def _advance(session: Session, request: LeaveRequest) -> None:
    forms.advance(session, FORM, request)


def edit_field(session: Session, person: Person, request_id: int, step: Step) -> None:
    """Go back to one field from the confirmation screen; its old value stays until replaced."""
    request = _draft(session, person, request_id)
    if step not in FORM.steps_for(request):
        raise InvalidInput("这一项不需要填写。")
    forms.unfill(request, step)
    request.step = step
    forms.await_if_typed(session, FORM, request)


def cancel(session: Session, person: Person, request_id: int) -> None:
    request = _draft(session, person, request_id)
    request.status = LeaveStatus.WITHDRAWN
    inputs.clear(session, person.id, "leave:")
    _log(session, request, person, "cancelled")


# ----- submission and conflicts -----------------------------------------------------------------


def _period_key(day: date, half: str | None, end: bool = False) -> int:
    """Half-day index: a period is [start key, end key]; a full day covers both halves."""
    base = day.toordinal() * 2
    if end:
        return base if half == AM else base + 1
    return base + 1 if half == PM else base


def periods_overlap(first: LeaveRequest, second: LeaveRequest) -> bool:
    """By half days: a morning-only and an afternoon-only leave on the same day do not overlap."""
    assert first.start_date and first.end_date and second.start_date and second.end_date
    return _period_key(first.start_date, first.start_half) <= _period_key(
        second.end_date, second.end_half, end=True
    ) and _period_key(second.start_date, second.start_half) <= _period_key(first.end_date, first.end_half, end=True)


def overlapping(
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
        # (the query's date comparisons already leave out rows without dates)
        if other.start_date is not None
        and _period_key(other.start_date, other.start_half) <= mine[1]
        and mine[0] <= _last_key_away(other)
    ]


def _last_key_away(request: LeaveRequest) -> int:
    """The last half day a leave keeps its requester away: its end, or the day before an early 销假."""
    assert request.end_date is not None
    last = _period_key(request.end_date, request.end_half, end=True)
    if request.status == LeaveStatus.COMPLETED and request.returned_on is not None:
        last = min(last, _period_key(request.returned_on - timedelta(days=1), None, end=True))
    return last


AWAY = (LeaveStatus.PENDING, LeaveStatus.APPROVED)
# Whose leave keeps them from acting: also a leave already closed by 销假, up to the day of return.
ABSENT = (*AWAY, LeaveStatus.COMPLETED)


@dataclass(frozen=True)
class Acting:
    """Who acts while a leave's requester is away, as the rules derive it, and every conflict found
    on the way (each with its article)."""

    person: Person | None
    notes: list[str]
    ab_conflict: bool
    # Art. 9: the 区长 and the 常务副区长 away together and no 副区长 entrusted (or the one entrusted is
    # away); likewise a 副区长 whose AB partner and the 常务副区长 are all away: Art. 79 stops at the
    # 常务副区长, so the 区长, who leads the government's work (Art. 9), names the 副区长 who acts.
    needs_entrustment: bool = False
    # Why the acting person is not the one named (for the notices), if so.
    because: str | None = None


def _away_leave(session: Session, person: Person | None, request: LeaveRequest) -> LeaveRequest | None:
    """The person's own leave (pending or approved) on any day of `request`, if any."""
    if person is None or person.id == request.requester_id:
        return None
    found = overlapping(session, person.id, request, ABSENT)
    return found[0] if found else None


def _ab_partner(session: Session, person: Person) -> Person | None:
    if not person.ab_partner_name:
        return None
    return session.scalar(select(Person).where(Person.name == person.ab_partner_name, Person.active))


def _away_note(person: Person, leave: LeaveRequest) -> str:
    return f"{person.name} 同期也不在岗（请假单 #{leave.id}，{period_label(leave)}）"


# Whose acting person the 区长 names when the AB partner and the 常务副区长 are away too.
NAMED_BY_HEAD = (Position.DEPUTY, Position.EXECUTIVE_DEPUTY)


def derive_acting(session: Session, request: LeaveRequest, named: Person | None) -> Acting:
    """The rules in order: the person named (on the form, the AB partner by default); if away, the AB
    partner; AB partners away together hand over to the 常务副区长 (Art. 79). For the 区长: the
    常务副区长, and when she is away too the 副区长 he entrusts (Art. 9). Nobody away on any day of
    the leave is ever named; when the rules run out, the 区长 is asked to name a 副区长 (Art. 9)."""
    requester = request.requester
    head, executive = holder(session, Position.HEAD), holder(session, Position.EXECUTIVE_DEPUTY)
    is_head = head is not None and requester.id == head.id
    notes: list[str] = []
    partner = _ab_partner(session, requester)
    partner_leave = _away_leave(session, partner, request)
    if partner is not None and partner_leave is not None:
        notes.append(
            f"AB角 {_away_note(partner, partner_leave)}：互为AB角的领导原则上不同时外出，确需同时外出的，"
            f"由常务副区长{' ' + executive.name if executive else ''}代行职责（第七十九条）"
        )
    pair = {Position.HEAD: executive, Position.EXECUTIVE_DEPUTY: head}.get(Position(requester.position))
    pair_leave = _away_leave(session, pair, request)
    if pair is not None and pair_leave is not None:
        whom = f"已委托 {request.entrusted.name}" if request.entrusted else "请区长明确受委托的副区长"
        notes.append(
            f"区长和常务副区长同期外出（{_away_note(pair, pair_leave)}）：按第九条，区长可委托其他副区长主持工作，{whom}"
        )
    if named is None and partner_leave is None:
        return Acting(None, notes, False)  # 无需代行, and no rule names anyone
    chain = [named, executive, request.entrusted] if is_head else [named, partner, executive, request.entrusted]
    covered = {p.id for p in (partner, pair) if p is not None}  # their absence is noted above
    tried: list[Person] = []
    for candidate in chain:
        if candidate is None or candidate.id == requester.id or candidate in tried:
            continue
        leave = _away_leave(session, candidate, request)
        if leave is None:
            because = f"{'、'.join(p.name for p in tried)} 同期不在岗" if tried else None
            return Acting(candidate, notes, partner_leave is not None, because=because)
        if candidate.id not in covered:
            notes.append(f"{_away_note(candidate, leave)}，不能代行职责")
        tried.append(candidate)
    if is_head:
        return Acting(None, notes, False, needs_entrustment=True, because="常务副区长同期不在岗")
    if head is not None and requester.position in NAMED_BY_HEAD:
        notes.append("代行职责的人同期都不在岗，第七十九条对此未作规定，请区长指定一位同期在岗的副区长代行职责")
        return Acting(None, notes, partner_leave is not None, needs_entrustment=True, because="由区长指定")
    notes.append("能代行职责的人同期都不在岗，请另行安排（第七十九条）")
    return Acting(None, notes, partner_leave is not None, because="能代行职责的人同期都不在岗")


def check_conflicts(session: Session, request: LeaveRequest) -> Acting:
    """Refuse an overlap with one's own leave; derive the acting person and flag every conflict."""
    own = overlapping(session, request.requester_id, request, AWAY)
    if own:
        other = own[0]
        raise InvalidInput(
            f"与您已有的请假（{period_label(other)}，{STATUS_LABEL[LeaveStatus(other.status)]}）时间重叠，不能重复提交。"
        )
    return derive_acting(session, request, request.named_acting)


@dataclass(frozen=True)
class FormHints:
    """What the form offers and shows: the default acting person (never someone away) and why it is
    not the usual one; on the confirmation screen, who will act and every conflict."""

    default: Person | None
    default_note: str | None
    acting: Acting | None
    # For the 区长 when the 常务副区长 is away too: the 副区长 he may entrust instead (Art. 9).
    entrust: list[Person]


def form_hints(session: Session, request: LeaveRequest) -> FormHints:
    """Read-only: the draft is not changed."""
    if not (request.start_date and request.end_date):
        return FormHints(default_acting(session, request.requester), None, None, [])
    usual = default_acting(session, request.requester)
    by_rule = derive_acting(session, request, usual) if usual else None
    default = by_rule.person if by_rule else None
    note = None
    if usual is not None and by_rule is not None and (default is None or default.id != usual.id):
        note = plaintext.clauses(by_rule.notes)
    acting = None
    if request.step == Step.CONFIRM:
        own = overlapping(session, request.requester_id, request, AWAY)
        acting = derive_acting(session, request, request.named_acting)
        if own:
            clash = f"与您已有的请假单 #{own[0].id}（{period_label(own[0])}）时间重叠，不能提交"
            acting = Acting(acting.person, [clash, *acting.notes], acting.ab_conflict, acting.needs_entrustment)
    entrust = entrust_candidates(session, request) if by_rule and by_rule.needs_entrustment else []
    return FormHints(default, note, acting, entrust)


def _set_named_acting(request: LeaveRequest, person: Person | None) -> None:
    """The form's choice; who really acts is derived from it when the leave is submitted."""
    request.named_acting = person
    request.acting = person


def _involved(session: Session, request: LeaveRequest) -> list[int]:
    """Everyone whose leave the conflict checks read: their rows are held while this one is decided,
    so two partners submitting at the same moment see each other."""
    requester = request.requester
    ids = {requester.id}
    partner = default_acting(session, requester)
    for person in (
        partner,
        request.named_acting,
        request.entrusted,
        holder(session, Position.HEAD),
        holder(session, Position.EXECUTIVE_DEPUTY),
    ):
        if person is not None:
            ids.add(person.id)
    return sorted(ids)


@dataclass(frozen=True)
class Submitted:
    request_id: int
    needs_approval: bool
    approver_reached: bool
    approver_name: str | None
    basis: str
    conflicts: tuple[str, ...]


def _schedule_return(session: Session, request: LeaveRequest, context: WorkContext) -> None:
    """An approved leave owes a 销假 after it ends (Art. 79): a deadline with its reminders."""
    assert request.end_date is not None
    deadlines.create_deadline(
        session,
        "leave_return",
        request.end_date,
        context,
        title=f"{request.requester.name}的请假（#{request.id}，{period_label(request)}）销假",
        due=request.end_date,
        responsible=request.requester,
        requester=request.requester,
        approver=request.approver,
        source=f"leave:{request.id}",
    )


def submit(
    session: Session, person: Person, request_id: int, context: WorkContext, origin: tuple[int, int] | None = None
) -> Submitted:
    """Check, route and submit a completed form; a report needing no approval is filed at once.
    `origin` (chat id, message id) is the form message, which becomes the requester's card."""
    request = session.get(LeaveRequest, request_id)
    if request is not None and request.requester_id == person.id and request.status == LeaveStatus.DRAFT:
        for person_id in _involved(session, request):  # in id order, so two submissions never deadlock
            # A write that changes nothing still holds the row until commit, on any database.
            session.execute(update(Person).where(Person.id == person_id).values(active=Person.active))
    request = _draft(session, person, request_id)
    missing = [s for s in FORM.steps_for(request) if s not in request.filled]
    if missing:
        raise InvalidInput("请假单还没有填完，请先完成各项。")
    check_start(request, context.now.date(), None)  # the kind may have been changed since the date was typed
    acting = check_conflicts(session, request)
    routed = route(session, request.requester, request.kind or "", request.meeting)
    request.approver = routed.approver
    request.article = routed.article
    request.acting, request.conflicts, request.ab_conflict = acting.person, acting.notes, acting.ab_conflict
    request.submitted_at = utc(context.now)
    request.step = None
    inputs.clear(session, person.id, "leave:")
    outbox.retire_cards(session, Subject.LEAVE, request.id, CardRole.APPROVAL, context.now)
    if origin is not None:
        outbox.adopt_card(session, Subject.LEAVE, request.id, CardRole.REQUESTER, person, *origin, context.now)
    reached = False
    if routed.approver is None:
        request.status = LeaveStatus.APPROVED
        request.decided_at = utc(context.now)
        request.decision_note = "备案（无需审批）"
        _log(session, request, person, "filed", routed.basis)
        _announce_approval(session, request, context)
        _redraw_when_started(session, request, context)
    else:
        request.status = LeaveStatus.PENDING
        _log(session, request, person, "submitted")
        reached = outbox.send_card(session, Subject.LEAVE, request.id, CardRole.APPROVAL, routed.approver, context.now)
        _schedule_pending(session, request, routed.basis, context)
    if acting.needs_entrustment:
        _ask_entrustment(session, request, context)
    _rederive_around(session, request, context)
    return Submitted(
        request.id,
        routed.approver is not None,
        reached,
        routed.approver.name if routed.approver else None,
        routed.basis,
        tuple(acting.notes),
    )


def _first_moment(request: LeaveRequest, context: WorkContext) -> datetime:
    assert request.start_date is not None
    return datetime.combine(request.start_date, WORK_START, tzinfo=context.now.tzinfo)


def _redraw_when_started(session: Session, request: LeaveRequest, context: WorkContext) -> None:
    """The requester's 撤销 becomes 销假 on the leave's first day: its cards are redrawn then."""
    assert request.start_date is not None
    if request.start_date > context.now.date():
        outbox.redraw_cards(session, Subject.LEAVE, request.id, context.now, at=_first_moment(request, context))


def _announce_approval(session: Session, request: LeaveRequest, context: WorkContext) -> None:
    """Approved (or filed): the acting person and the office group are told; the 销假 clock starts."""
    _schedule_return(session, request, context)
    if request.acting is not None:
        outbox.notify_person(session, request.acting, "leave.acting", context.now, request_id=request.id)
    outbox.notice(session, context.leave_notice_chat, "leave.group_away", context.now, request_id=request.id)


# ----- the acting person, re-derived when any leave around it changes ------------------------------


def awaits_entrustment(request: LeaveRequest) -> bool:
    """Someone must act and nobody the rules name can, so the 区长 names a 副区长: for his own leave
    while the 常务副区长 is away too (Art. 9), or for a 副区长's whose AB partner and the 常务副区长
    are away too (see Acting.needs_entrustment)."""
    if request.status not in AWAY or request.acting is not None:
        return False
    if request.requester.position == Position.HEAD:
        return request.named_acting is not None
    return request.requester.position in NAMED_BY_HEAD and (request.ab_conflict or request.named_acting is not None)


def entrusting_head(session: Session, request: LeaveRequest) -> Person | None:
    """Who names the 副区长 in `awaits_entrustment`: the 区长."""
    return request.requester if request.requester.position == Position.HEAD else holder(session, Position.HEAD)


def _unchanged(request: LeaveRequest, derived: Acting) -> bool:
    return (
        request.acting_id == (derived.person.id if derived.person else None)
        and list(request.conflicts) == derived.notes
        and request.ab_conflict == derived.ab_conflict
    )


def _rederive(session: Session, request: LeaveRequest, context: WorkContext) -> None:
    """Apply the rules again to a pending or approved leave; a change is a transition of its own
    (compare-and-set), its cards are redrawn, and whoever becomes or stops being acting is told."""
    if _unchanged(request, derive_acting(session, request, request.named_acting)):
        return
    # Held, then read again: a unit of work changing the same leave meanwhile is seen, not undone.
    current_version(session, LeaveRequest, request.id, held=True)
    derived = derive_acting(session, request, request.named_acting)
    if request.status not in AWAY or _unchanged(request, derived):
        return
    transition(session, request, request.version, _handled)
    before, asked = request.acting, awaits_entrustment(request)
    request.acting, request.conflicts, request.ab_conflict = derived.person, derived.notes, derived.ab_conflict
    _log(session, request, None, "rederived", plaintext.clauses(derived.notes) or None)
    outbox.redraw_cards(session, Subject.LEAVE, request.id, context.now)
    if request.status == LeaveStatus.APPROVED and before is not request.acting:
        _announce_acting_change(session, request, before, derived, context)
    if derived.needs_entrustment and not asked:  # already asked: those cards and reminders stand
        _ask_entrustment(session, request, context)


def _rederive_around(session: Session, changed: LeaveRequest, context: WorkContext) -> None:
    """Every other pending or approved leave on any of `changed`'s days, in id order (so that two
    units of work hold them in the same order)."""
    assert changed.start_date and changed.end_date
    for other in session.scalars(
        select(LeaveRequest)
        .where(
            LeaveRequest.id != changed.id,
            LeaveRequest.status.in_(AWAY),
            LeaveRequest.start_date <= changed.end_date,
            LeaveRequest.end_date >= changed.start_date,
        )
        .order_by(LeaveRequest.id)
    ).all():
        _rederive(session, other, context)


def _article(request: LeaveRequest) -> int:
    return 9 if request.requester.position == Position.HEAD else 79


def _announce_acting_change(
    session: Session, request: LeaveRequest, before: Person | None, derived: Acting, context: WorkContext
) -> None:
    """Told once per change (the keys name the version): who stops, who starts, the requester, the group."""
    key = f"leave:{request.id}:v{request.version}"
    facts = {"request_id": request.id, "because": derived.because or "", "article": _article(request)}
    if before is not None:
        outbox.notify_person(session, before, "leave.acting_released", context.now, f"{key}:released", **facts)
    if request.acting is not None:
        outbox.notify_person(session, request.acting, "leave.acting_now", context.now, f"{key}:acting", **facts)
    outbox.notify_person(session, request.requester, "leave.acting_changed", context.now, f"{key}:requester", **facts)
    outbox.notice(
        session, context.leave_notice_chat, "leave.group_acting_changed", context.now, f"{key}:group", **facts
    )


def _ask_entrustment(session: Session, request: LeaveRequest, context: WorkContext) -> None:
    """Art. 9: the 区长 is asked, with a button per 副区长 who is not away, whom he entrusts; and
    reminded at 09:00 each working day until he answers or his leave has ended: a reminder of an
    answered question is dropped when it falls due, and after the leave there is nothing to entrust."""
    key = f"leave:{request.id}:v{request.version}:entrust"
    head = entrusting_head(session, request)
    if head is None:
        return
    outbox.send_card(session, Subject.LEAVE, request.id, CardRole.ENTRUST, head, context.now, key=key)
    assert request.end_date is not None
    day = context.now.date()
    while (day := context.calendar.next_workday(day).date) <= request.end_date:
        outbox.send_card(
            session,
            Subject.LEAVE,
            request.id,
            CardRole.ENTRUST,
            head,
            context.now,
            send_at=datetime.combine(day, WORK_START, tzinfo=context.now.tzinfo),
            working_hours_only=True,
            purpose=REMINDER,
            key=f"{key}:{day:%Y%m%d}",
        )


def entrust_candidates(session: Session, request: LeaveRequest) -> list[Person]:
    """The 副区长 the 区长 may entrust (Art. 9): every active one, other than the requester, not away
    on any day of the leave (and the 区长 himself for another's leave)."""
    deputies = session.scalars(
        select(Person)
        .where(Person.position == Position.DEPUTY, Person.active, Person.id != request.requester_id)
        .order_by(Person.id)
    ).all()
    if request.requester.position != Position.HEAD:
        # Naming a 副区长's stand-in, the 区长 may also take the work on himself.
        deputies = [*deputies, *filter(None, [holder(session, Position.HEAD)])]
    return [d for d in deputies if _away_leave(session, d, request) is None]


def _entrust_handled(request: LeaveRequest) -> str:
    if request.entrusted is not None and request.acting is not None and request.acting.id == request.entrusted_id:
        return f"已经处理过：已委托 {request.entrusted.name} 主持工作。"
    if request.status not in AWAY:
        return _handled(request)
    return "已经处理过：情况已有变化，请以最新的委托消息为准。"


def entrust(
    session: Session, request_id: int, version: int, actor: Person, deputy_id: int, context: WorkContext
) -> Person:
    """The 区长 entrusts a 副区长 to preside while he and the 常务副区长 are away (Art. 9); legal
    once, from the 区长, for the card drawn for `version`. The one entrusted and the group are told."""
    request = session.get(LeaveRequest, request_id)
    if request is None:
        raise NotFound("找不到这份请假单。")
    head = entrusting_head(session, request)
    if head is None or actor.id != head.id:
        raise PermissionDenied("只有区长本人可以委托副区长主持工作（第九条）。")
    if version != request.version or not awaits_entrustment(request):
        raise AlreadyHandled(_entrust_handled(request))
    deputy = session.get(Person, deputy_id)
    if deputy is None or deputy not in entrust_candidates(session, request):
        raise InvalidInput("只能委托同期在岗的副区长，请重新选择。")
    transition(session, request, version, _entrust_handled)
    request.entrusted = deputy
    derived = derive_acting(session, request, request.named_acting)
    request.acting, request.conflicts, request.ab_conflict = derived.person, derived.notes, derived.ab_conflict
    _log(session, request, actor, "entrusted", deputy.name)
    outbox.redraw_cards(session, Subject.LEAVE, request.id, context.now)
    key = f"leave:{request.id}:v{request.version}"
    if request.status == LeaveStatus.APPROVED and request.requester_id != actor.id:
        _announce_acting_change(session, request, None, replace(derived, because="由区长指定"), context)
    elif request.status == LeaveStatus.APPROVED:
        facts = {"request_id": request.id, "because": "受区长委托主持工作", "article": 9}
        outbox.notify_person(session, deputy, "leave.acting_now", context.now, f"{key}:acting", **facts)
        outbox.notice(
            session, context.leave_notice_chat, "leave.group_acting_changed", context.now, f"{key}:group", **facts
        )
    return deputy


# ----- pending approvals: reminded, escalated, overdue -------------------------------------------

REMINDER = "reminder"  # the purpose of a card sent again as a reminder


def overdue(request: LeaveRequest, today: date) -> bool:
    """逾期未批: asked for before it started, and still pending on or after its first day."""
    return (
        request.status == LeaveStatus.PENDING
        and request.start_date is not None
        and request.submitted_at is not None
        and request.start_date <= today
        and request.submitted_at.date() < request.start_date
    )


def still_waiting(request: LeaveRequest, submitted: str | None) -> bool:
    """A reminder or escalation queued at submission `submitted` is still owed."""
    return (
        request.status == LeaveStatus.PENDING
        and request.submitted_at is not None
        and utc(request.submitted_at).isoformat() == submitted
    )


def _schedule_pending(session: Session, request: LeaveRequest, basis: str, context: WorkContext) -> None:
    """Like DingTalk and Feishu approvals: the approver is reminded after `remind_after` working
    hours, the office after `escalate_after`; the requester is told when the first day comes while
    it is still pending (逾期未批). What is no longer pending by then is not sent."""
    assert request.submitted_at is not None and request.start_date is not None
    calendar, now = context.calendar, context.now
    submitted = utc(request.submitted_at).isoformat()
    key = f"leave:{request.id}:{utc(request.submitted_at):%Y%m%d%H%M%S}"
    outbox.send_card(
        session,
        Subject.LEAVE,
        request.id,
        CardRole.APPROVAL,
        request.approver,
        now,
        send_at=calendar.add_working_hours(now, context.leave_remind_after),
        working_hours_only=True,
        purpose=REMINDER,
        key=f"{key}:remind",
    )
    office = outbox.group_recipient("office") if "office" in context.groups else None
    if office is None:
        office = outbox.person_recipient(session, holder(session, Position.OFFICE_DIRECTOR))
    outbox.notice(
        session,
        office,
        "leave.escalated",
        calendar.add_working_hours(now, context.leave_escalate_after),
        f"{key}:escalate",
        request_id=request.id,
        submitted=submitted,
        hours=context.leave_escalate_after.total_seconds() / 3600,
        basis=basis,
    )
    if request.start_date > now.date():
        first_day = _first_moment(request, context)
        outbox.notify_person(
            session,
            request.requester,
            "leave.overdue",
            first_day,
            f"{key}:overdue",
            request_id=request.id,
            submitted=submitted,
        )
        outbox.redraw_cards(session, Subject.LEAVE, request.id, now, at=first_day)


# ----- decisions ---------------------------------------------------------------------------------


def _pending_for(session: Session, request_id: int, version: int, actor: Person) -> LeaveRequest:
    """The request if it waits for `actor`, its approver, as the card drawn for `version` showed it."""
    request = session.get(LeaveRequest, request_id)
    if request is None:
        raise NotFound("找不到这份请假单。")
    turn = None
    if request.status == LeaveStatus.PENDING and request.approver_id is not None:
        turn = review.Turn(0, request.approver_id, "您不是这份请假的审批人，不能处理。")
    return review.awaiting(request, turn, 0, version, actor, _handled)


def ask_reason(session: Session, request_id: int, version: int, actor: Person, verdict: Verdict) -> None:
    """不批准 / 退回补充 need a reason: await it from the approver's next message."""
    request = _pending_for(session, request_id, version, actor)
    review.ask_reason(session, Subject.LEAVE, request, version, actor, verdict, _handled)


def lost_reason_prompt(session: Session, actor: Person, request_id: int, verdict: Verdict) -> str | None:
    """None while the actor's prompt for a reason on this request stands; else what became of the
    request (a decision pressed at the same moment won, and the prompt went with it)."""
    request = session.get(LeaveRequest, request_id)
    if request is None:
        return "找不到这份请假单。"
    if inputs.prompt_stands(session, actor.id, f"{PREFIX}:{verdict}", request):
        return None
    return _handled(request)


def decide(
    session: Session,
    request_id: int,
    version: int,
    actor: Person,
    verdict: Verdict,
    context: WorkContext,
    note: str | None = None,
) -> LeaveStatus:
    """Approve, reject or send back; legal once, from the approver, with a reason for a refusal."""
    request = _pending_for(session, request_id, version, actor)
    reason = review.conclude(session, Subject.LEAVE, request, version, verdict, note, _handled)
    request.status = DECIDED_STATUS[verdict]
    request.decided_by, request.decided_at, request.decision_note = actor, utc(context.now), reason
    _log(session, request, actor, AUDIT_ACTION[verdict], reason)
    if request.status == LeaveStatus.APPROVED:
        acting = derive_acting(session, request, request.named_acting)
        request.acting, request.conflicts, request.ab_conflict = acting.person, acting.notes, acting.ab_conflict
        _announce_approval(session, request, context)
        if acting.needs_entrustment:
            _ask_entrustment(session, request, context)
    else:
        _rederive_around(session, request, context)  # no longer away: those it stood in for are freed
    _tell_requester(session, request, context)
    if request.status == LeaveStatus.APPROVED:
        _redraw_when_started(session, request, context)
    return LeaveStatus(request.status)


# The short notice the requester gets for each decision (handlers.leave.NOTICES renders them).
DECISION_NOTICE = {
    LeaveStatus.APPROVED: "leave.approved",
    LeaveStatus.REJECTED: "leave.rejected",
    LeaveStatus.RETURNED: "leave.sent_back",
}


def _tell_requester(session: Session, request: LeaveRequest, context: WorkContext) -> None:
    """The requester's cards are redrawn. The decision is then a short notice when the requester
    already has a card (it carries the buttons, 销假 or 修改后重新提交: a second full card would show
    them twice); otherwise a new card with the item's buttons."""
    outbox.redraw_cards(session, Subject.LEAVE, request.id, context.now)
    has_card = session.scalar(
        select(Card.id).where(
            Card.subject == Subject.LEAVE, Card.subject_id == request.id, Card.role == CardRole.REQUESTER
        )
    )
    if has_card is not None:
        notice = DECISION_NOTICE[LeaveStatus(request.status)]
        outbox.notify_person(session, request.requester, notice, context.now, request_id=request.id)
        return
    outbox.send_card(session, Subject.LEAVE, request.id, CardRole.REQUESTER, request.requester, context.now)


def reopen(session: Session, person: Person, request_id: int, version: int, context: WorkContext) -> int:
    """A returned request goes back to the form's confirmation screen for revision."""
    request = _own(
        session,
        person,
        request_id,
        LeaveStatus.RETURNED,
        "这份请假已经处理过（{status}），不能修改后重新提交。",
        version,
    )
    if open_draft(session, person):
        raise InvalidInput("您还有一份正在填写的请假单，请先提交或取消它。")
    request.status = LeaveStatus.DRAFT
    request.acting = request.named_acting  # derived again when it is resubmitted
    _advance(session, request)
    _log(session, request, person, "reopened")
    outbox.redraw_cards(session, Subject.LEAVE, request.id, context.now)
    return request.id


def withdraw(session: Session, person: Person, request_id: int, version: int, context: WorkContext) -> LeaveStatus:
    """The requester takes back a pending request (撤回), or an approved one before it starts (撤销):
    the approver is told; after an approval also the acting person and the group, and the 销假
    deadline is closed. Those whose acting depended on this leave are re-derived. Returns the
    status the request was withdrawn from."""
    current = session.get(LeaveRequest, request_id)
    was = LeaveStatus(current.status) if current is not None else LeaveStatus.PENDING
    if was == LeaveStatus.APPROVED and current is not None and current.start_date is not None:
        if current.start_date <= context.now.date():
            raise InvalidInput(
                f"这份请假从 {period_label(current, context.now.date())} 开始，已经开始了，不能撤销；返岗后请销假。"
            )
    else:
        was = LeaveStatus.PENDING
    refusal = "这份请假已经处理过（{status}），只有待审批或尚未开始的已批准请假可以撤回。"
    request = _own(session, person, request_id, was, refusal, version)
    request.status = LeaveStatus.WITHDRAWN
    inputs.clear_target(session, PREFIX, request.id)
    outbox.redraw_cards(session, Subject.LEAVE, request.id, context.now)
    if was == LeaveStatus.PENDING:
        _log(session, request, person, "withdrawn")
        outbox.notify_person(session, request.approver, "leave.withdrawn", context.now, request_id=request.id)
    else:
        _log(session, request, person, "revoked")
        deadlines.close_by_source(session, f"leave:{request.id}", person, context)
        outbox.notify_person(session, request.approver, "leave.revoked", context.now, request_id=request.id)
        outbox.notify_person(session, request.acting, "leave.acting_cancelled", context.now, request_id=request.id)
        outbox.notice(session, context.leave_notice_chat, "leave.group_revoked", context.now, request_id=request.id)
    _rederive_around(session, request, context)
    return was


# ----- 销假 and reminders --------------------------------------------------------------------------


def returnable(session: Session, person: Person) -> list[tuple[int, int, str]]:
    """Approved leaves of the person not yet closed by 销假: (id, version, period)."""
    return [
        (r.id, r.version, period_label(r))
        for r in session.scalars(
            select(LeaveRequest)
            .where(LeaveRequest.requester_id == person.id, LeaveRequest.status == LeaveStatus.APPROVED)
            .order_by(LeaveRequest.start_date)
        )
    ]


def await_return_report(session: Session, person: Person, request_id: int, version: int | None, today: date) -> int:
    """销假 starts: the person's next message is the report. Returns the request id."""
    request = session.get(LeaveRequest, request_id)
    if request is None or request.requester_id != person.id:
        raise NotFound("找不到这份请假单。")
    if request.status != LeaveStatus.APPROVED or (version is not None and version != request.version):
        raise InvalidInput(f"这份请假{STATUS_LABEL[LeaveStatus(request.status)]}，不需要销假。")
    if request.start_date and request.start_date > today:
        raise InvalidInput(
            f"这份请假从 {period_label(request)}，还没有开始，不能销假。不再需要的话请在请假单上点“撤销”。"
        )
    inputs.expect_text(session, person.id, RETURN_PURPOSE, request.id, request.version)
    return request.id


def record_return(
    session: Session, person: Person, request_id: int, version: int, report: str, context: WorkContext
) -> LeaveRequest:
    """销假: record the return and the report (“无” for none); legal once; ends the reminders."""
    report = forms.bounded(report.strip(), MAX_REASON, "销假报告")
    request = _own(session, person, request_id, LeaveStatus.APPROVED, "这份请假{status}，不需要销假。", version)
    request.status = LeaveStatus.COMPLETED
    request.returned_on = context.now.date()
    deadlines.close_by_source(session, f"leave:{request.id}", person, context)
    request.return_report = None if report in {"无", "没有", "无。"} else report
    inputs.clear(session, person.id, "leave:")
    _log(session, request, person, "returned", request.return_report)
    outbox.redraw_cards(session, Subject.LEAVE, request.id, context.now)
    outbox.notify_person(session, request.approver, "leave.returned", context.now, request_id=request.id)
    if request.acting is not None:
        outbox.notify_person(session, request.acting, "leave.acting_ends", context.now, request_id=request.id)
    outbox.notice(session, context.leave_notice_chat, "leave.group_back", context.now, request_id=request.id)
    _rederive_around(session, request, context)  # back early: no longer away on the days left
    return request


# ----- lists and export --------------------------------------------------------------------------


def read_back(session: Session, request: LeaveRequest, calendar: WorkdayCalendar, today: date) -> str:
    """How the form read the dates, and who decides: "12月7日（周一）–12月9日（周三），共3个工作日，
    报 王建国 区长 审批"."""
    start, end = request.start_date, request.end_date
    assert start is not None and end is not None
    first = with_weekday(start, today) + HALF_LABEL[request.start_half]
    last = with_weekday(end, today) + HALF_LABEL[request.end_half]
    workdays = sum(calendar.is_workday(start + timedelta(days=n)) for n in range((end - start).days + 1)) - (
        0.5 * (request.start_half == PM and calendar.is_workday(start))
        + 0.5 * (request.end_half == AM and calendar.is_workday(end))
    )
    span = first if first == last else f"{first}–{last}"
    length = f"共{workdays:g}个工作日" if workdays else "不含工作日"
    routed = route(session, request.requester, request.kind or "", request.meeting)
    approver = routed.approver
    who = f"报 {approver.name} {approver.position} 审批" if approver else "报办公室备案（无需审批）"
    return f"{span}，{length}，{who}"


def status_label(request: LeaveRequest) -> str:
    """The status as people read it: a report filed without approval is 已备案, not 已批准."""
    if request.status == LeaveStatus.APPROVED and request.approver_id is None:
        return "已备案"
    return STATUS_LABEL[LeaveStatus(request.status)]


def period_label(request: LeaveRequest, today: date | None = None) -> str:
    if not request.start_date or not request.end_date:
        return "日期未填"
    start = DayPart(request.start_date, request.start_half).label(today)
    end = DayPart(request.end_date, request.end_half).label(today)
    return start if start == end else f"{start}–{end}"


def my_requests(session: Session, person: Person, limit: int = 10) -> list[LeaveRequest]:
    return list(
        session.scalars(
            select(LeaveRequest)
            .where(LeaveRequest.requester_id == person.id, LeaveRequest.status != LeaveStatus.DRAFT)
            .order_by(LeaveRequest.id.desc())
            .limit(limit)
        )
    )


def waiting_for(session: Session, approver: Person) -> list[LeaveRequest]:
    return list(
        session.scalars(
            select(LeaveRequest)
            .where(LeaveRequest.approver_id == approver.id, LeaveRequest.status == LeaveStatus.PENDING)
            .order_by(LeaveRequest.submitted_at)
        )
    )


def requests_in_period(session: Session, start: date, end: date) -> list[LeaveRequest]:
    """Submitted requests whose leave touches [start, end], for the audit export."""
    return list(
        session.scalars(
            select(LeaveRequest)
            .where(
                LeaveRequest.status != LeaveStatus.DRAFT, LeaveRequest.start_date <= end, LeaveRequest.end_date >= start
            )
            .order_by(LeaveRequest.start_date, LeaveRequest.id)
        )
    )
