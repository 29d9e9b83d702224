"""Leave reports in chat: the /leave form, the approver's card, 销假 (/back), /leaves, /export.

The form's state is the draft row's `step` (bot.leave.service), so it survives restarts; the table
below says what each step asks. Every other message about a request is a card or a notice in the
outbox (bot.delivery), drawn by the renderers at the bottom of this module.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date

from sqlalchemy.orm import Session
from telegram import InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, ContextTypes

from bot import plaintext, privacy
from bot.calendar.dates import DayPart
from bot.calendar.labels import local_moment, month_day
from bot.calendar.overrides import load_calendar
from bot.db import PendingInput, Person
from bot.errors import DomainError, NotFound
from bot.leave import service
from bot.leave.export import export_file
from bot.leave.models import LeaveRequest
from bot.leave.routing import KINDS, MEETINGS, route
from bot.leave.service import STATUS_LABEL, LeaveStatus, Step
from bot.roster import Position, require_admin, require_person
from bot.services import Services
from bot.views import Button, CardAction, FormFlow, Line, OpenForm, Outcome, Strong, View, field, line, notice, view
from bot.workflow import outbox
from bot.workflow.context import WorkContext
from bot.workflow.inputs import FormHooks
from bot.workflow.models import Card, CardRole, OutboxMessage, Subject
from bot.workflow.review import VERDICT_CODES, Verdict
from handlers.callbacks import CallbackData
from handlers.common import (
    button,
    card_action,
    command,
    edit_html,
    form_command,
    private_chat,
    prompt_route,
    registered_only,
    send_html,
    send_overview,
    services,
    show_form,
    tell,
)
from handlers.features import Feature
from handlers.render import bold, escape, keyboard
from knowledge import article_label

CONFIRM_QUESTION = "请核对后提交："
REASON_LABEL = {Verdict.REJECT: "不批准", Verdict.RETURN: "退回补充"}
REASON_PROMPT = "请输入{label}的理由（请假单 #{id}，发送 /cancel 放弃）："
RETURN_PROMPT = (
    "销假：请简要报告返回情况和需要向区长报告的重要问题（请假单 #{id}），没有请回复“无”（发送 /cancel 放弃）："
)


# ----- buttons -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class FormButton(CallbackData, prefix="lf"):
    """A button of the form: k(ind), m(eeting), a(cting), e(dit), s(ubmit), c(ancel) with a value."""

    request_id: int
    action: str
    value: str = "-"


@dataclass(frozen=True)
class DecisionButton(CallbackData, prefix="ld"):
    """批准 (ok) / 不批准 (no) / 退回补充 (rt) on the approval card drawn for `version`."""

    request_id: int
    version: int
    action: str


@dataclass(frozen=True)
class RequesterButton(CallbackData, prefix="lr"):
    """The requester's 撤回 / 撤销 (wd), 修改后重新提交 (re) and 销假 (bk) on a card drawn for `version`."""

    request_id: int
    version: int
    action: str


@dataclass(frozen=True)
class EntrustButton(CallbackData, prefix="le"):
    """The 区长 entrusts the 副区长 `deputy_id` to preside (Art. 9), on the card drawn for `version`."""

    request_id: int
    version: int
    deputy_id: int


# ----- rendering -------------------------------------------------------------------------------


def _facts(request: LeaveRequest, today: date, preview: service.Acting | None = None) -> list[Line]:
    """The request's facts; `preview`: who will act, as derived on the confirmation screen."""
    lines = [
        field("申请人", f"{request.requester.name}（{request.requester.position}）"),
        field("类型", (request.kind or "") + (f"（{request.meeting}）" if request.meeting else "")),
        field("时间", service.period_label(request, today)),
    ]
    if request.destination:
        lines.append(field("目的地", request.destination))
    if request.reason:
        lines.append(field("事由", request.reason))
    acting = preview.person if preview is not None else request.acting
    lines.append(field("代行职责", _acting_label(acting, request)))
    return lines


def _acting_label(acting: Person | None, request: LeaveRequest, why: bool = True) -> str:
    """Who acts, and (`why`) why not the one named; never silently nobody."""
    named = request.named_acting
    away = f"（{named.name} 同期不在岗）" if why and named else ""
    if acting is not None:
        return acting.name + (away if named and named.id != acting.id else "")
    waiting = service.awaits_entrustment(request)
    if named is None and not waiting:
        return "无"
    if request.requester.position == Position.HEAD:
        return "区长委托的副区长（待定）" + away
    return ("由区长指定（待定）" if waiting else "待定") + away


def form_screen(session: Session, found: Services, request_id: int) -> View:
    """The form at the step it is at (bot.views.FormFlow.screen): what it asks, and a button per
    choice; at the confirmation the facts, how the dates were read and who decides, before 提交."""
    request = session.get(LeaveRequest, request_id)
    if request is None:
        raise NotFound("这份请假单已不存在，请重新发送 /leave。")
    today = found.clock.today()
    hints = service.form_hints(session, request)
    # A request submitted meanwhile (step None) shows its confirmation, as a topic does; 提交 is then refused.
    step = Step(request.step or Step.CONFIRM)
    field = service.FORM.field(step)
    question = field.question if field else CONFIRM_QUESTION

    def choose(label: str, action: str, value: object = "-") -> Button:
        return Button(label, FormButton(request.id, action, str(value)))

    cancel = choose("取消", "c")
    title = line(Strong(f"📝 请假单 #{request.id}"))
    if step == Step.KIND:
        rows = [[choose(k, "k", i) for i, k in enumerate(KINDS[j : j + 3], start=j)] for j in (0, 3)]
        return view([title, question], [*rows, [cancel]])
    if step == Step.MEETING:
        return view([title, question], [*([choose(m, "m", i)] for i, m in enumerate(MEETINGS)), [cancel]])
    if step == Step.ACTING:
        options = [choose("无需代行", "a", 0)]
        if hints.default:
            options.insert(0, choose(f"{hints.default.name}（默认）", "a", hints.default.id))
        entrust = [choose(f"委托 {deputy.name}（第九条）", "a", deputy.id) for deputy in hints.entrust]
        note = [f"⚠️ {hints.default_note}"] if hints.default_note else []
        return view([title, question, *note], [*([e] for e in entrust), options, [cancel]])
    if step == Step.CONFIRM:
        edits = [choose(f"改{f.label}", "e", f.step) for f in service.FORM.fields if f.step in request.filled]
        preview = hints.acting
        notes = [f"⚠️ {note}" for note in preview.notes] if preview is not None else []
        read_back = service.read_back(session, request, load_calendar(session), today)
        lines: list[Line | str] = [title, question, *_facts(request, today, preview), *notes, f"📅 {read_back}"]
        return view(lines, [[choose("✅ 提交", "s"), cancel], *(edits[i : i + 4] for i in range(0, len(edits), 4))])
    return view([title, *_filled_so_far(request, today), question, "（随时可发送 /cancel 取消）"], [[cancel]])


def _filled_so_far(request: LeaveRequest, today: date) -> list[str]:
    """What a form filled from a question (or resumed) already holds, so nothing is filled unseen."""
    facts = [f"类型：{request.kind}"] if request.kind else []
    if request.start_date:
        facts.append(f"开始：{DayPart(request.start_date, request.start_half).label(today)}")
    if request.end_date and Step.END in request.filled:
        facts.append(f"结束：{DayPart(request.end_date, request.end_half).label(today)}")
    if request.destination:
        facts.append(f"目的地：{request.destination}")
    return [f"已填：{'；'.join(facts)}"] if facts else []


def _reported_late(request: LeaveRequest, context: WorkContext) -> list[Line]:
    """补报: a sick leave submitted after it started says so."""
    submitted = service.reported_late(request, context.now.tzinfo or UTC)
    if submitted is None:
        return []
    assert request.start_date is not None  # a leave reported late has started
    return [field("补报", f"{month_day(request.start_date, submitted)}开始，{month_day(submitted, submitted)}提交")]


def _outcome_line(request: LeaveRequest, context: WorkContext) -> Line:
    status = LeaveStatus(request.status)
    if status == LeaveStatus.PENDING:
        state = "逾期未批" if service.overdue(request, context.now.date()) else "待审批"
        approver = request.approver.name if request.approver else ""
        return line(f"📨 已提交给 {approver} 审批（", Strong(state), "）")
    if request.decided_at is None:
        return field("状态", Strong(STATUS_LABEL[status]))
    if request.decided_by is None:
        return field(
            "结果",
            Strong("已备案"),
            "（无需审批）" + (f"；现{STATUS_LABEL[status]}" if status != LeaveStatus.APPROVED else ""),
        )
    who = request.decided_by.name
    when = local_moment(request.decided_at, context.now.tzinfo or UTC, context.now.date())
    note = f"，理由：{request.decision_note}" if request.decision_note and status != LeaveStatus.APPROVED else ""
    later = f"；现{STATUS_LABEL[status]}" if status in (LeaveStatus.COMPLETED, LeaveStatus.WITHDRAWN) else ""
    decided = STATUS_LABEL[LeaveStatus.APPROVED] if later and status == LeaveStatus.COMPLETED else STATUS_LABEL[status]
    return field("结果", Strong(decided), f"（{who}，{when}）{note}{later}")


def _basis(session: Session, request: LeaveRequest) -> Line:
    """Why this approver (the rule, in words), as routing gives it."""
    return field("依据", route(session, request.requester, request.kind or "", request.meeting).basis)


def _approval_card(
    session: Session, request: LeaveRequest, card: Card, row: OutboxMessage, context: WorkContext
) -> View | None:
    heading = line(Strong(f"📝 请假审批 #{request.id}"))
    if row.template == service.REMINDER:
        if request.status != LeaveStatus.PENDING:
            return None  # decided meanwhile: the reminder is no longer owed
        heading = line(Strong(f"⏰ 请假审批 #{request.id} 仍在等待您审批"))
    elif service.overdue(request, context.now.date()):
        heading = line(*heading.spans, "（逾期未批）")
    lines = [
        heading,
        *_facts(request, context.now.date()),
        *_reported_late(request, context),
        _basis(session, request),
    ]
    lines += [line(f"⚠️ {note}") for note in request.conflicts]
    if card.retired:
        return view([*lines, "（已退回补充并重新提交，请以新的审批消息为准）"], version=request.version)
    if request.status == LeaveStatus.PENDING:
        buttons = [
            Button(label, DecisionButton(request.id, request.version, action))
            for label, action in (("批准", "ok"), ("不批准", "no"), ("退回补充", "rt"))
        ]
        return view(lines, [buttons], request.version)
    return view([*lines, _outcome_line(request, context)], version=request.version)


def _requester_card(session: Session, request: LeaveRequest, context: WorkContext) -> View:
    status = LeaveStatus(request.status)
    lines = [
        line(Strong(f"📝 我的请假单 #{request.id}")),
        *_facts(request, context.now.date()),
        *_reported_late(request, context),
        _outcome_line(request, context),
    ]
    if request.kind:
        lines.append(_basis(session, request))
    if request.conflicts and status == LeaveStatus.PENDING:
        lines += [line(f"⚠️ {note}") for note in request.conflicts]
    actions = {
        LeaveStatus.PENDING: ("撤回", "wd"),
        LeaveStatus.RETURNED: ("修改后重新提交", "re"),
        LeaveStatus.APPROVED: ("撤销", "wd") if _revocable(request, context.now.date()) else ("销假", "bk"),
    }
    buttons = []
    if status in actions:
        label, action = actions[status]
        buttons = [[Button(label, RequesterButton(request.id, request.version, action))]]
    return view(lines, buttons, request.version)


def _revocable(request: LeaveRequest, today: date) -> bool:
    """An approved leave not yet started can be withdrawn (撤销); once started it is closed by 销假."""
    return request.status == LeaveStatus.APPROVED and request.start_date is not None and request.start_date > today


def render_card(session: Session, card: Card, row: OutboxMessage, context: WorkContext) -> View | None:
    request = session.get(LeaveRequest, card.subject_id)
    if request is None:
        return None
    if card.role == CardRole.APPROVAL:
        return _approval_card(session, request, card, row, context)
    if card.role == CardRole.ENTRUST:
        return _entrust_card(session, request, row, context)
    return _requester_card(session, request, context)


def _entrust_card(session: Session, request: LeaveRequest, row: OutboxMessage, context: WorkContext) -> View | None:
    """Art. 9: the 区长 chooses the 副区长 who presides while he and the 常务副区长 are away."""
    waiting = service.awaits_entrustment(request)
    if row.template == service.REMINDER and not waiting:
        return None  # answered (or no longer needed): the reminder is not owed
    today = context.now.date()
    own = request.requester.position == Position.HEAD
    lines = [
        line(Strong(f"🏛 {'委托主持工作' if own else '指定代行职责'}（请假单 #{request.id}）")),
        line(f"{'您' if own else _who(request)} {service.period_label(request, today)} {request.kind or ''}，"),
        *(line(f"⚠️ {note}") for note in request.conflicts),
    ]
    if waiting:
        candidates = service.entrust_candidates(session, request)
        lines.append(
            line(
                "按第九条，区长和常务副区长同时外出期间，区长可委托其他副区长主持工作。请选择："
                if own
                else "请区长指定同期代行职责的副区长："
            )
        )
        rows = [
            [Button(_entrust_label(request, deputy), EntrustButton(request.id, request.version, deputy.id))]
            for deputy in candidates
        ]
        if not rows:
            lines.append(line("同期所有副区长也都不在岗，请与办公室联系另行安排。"))
        return view(lines, rows, request.version)
    if request.acting is not None:
        lines.append(line(f"✅ 期间由 {request.acting.name} {'主持工作（第九条）' if own else '代行职责'}。"))
    else:
        lines.append(line(f"这份请假{STATUS_LABEL[LeaveStatus(request.status)]}，无需委托。"))
    return view(lines, version=request.version)


def _entrust_label(request: LeaveRequest, person: Person) -> str:
    if request.requester.position == Position.HEAD:
        return f"委托 {person.name}"
    return "由我本人代行" if person.position == Position.HEAD else f"指定 {person.name}"


def _who(request: LeaveRequest) -> str:
    return f"{request.requester.name}{request.requester.position}"


def _decider(request: LeaveRequest) -> str:
    return request.decided_by.name if request.decided_by else ""


NOTICES = {
    "leave.acting": lambda r, today: (
        f"📌 {_who(r)} {service.period_label(r, today)} {privacy.public_leave_kind(r.kind)}，期间由您代行职责。"
    ),
    "leave.acting_ends": lambda r, today: f"📌 {_who(r)} 已销假返岗，您的代行职责结束。",
    "leave.withdrawn": lambda r, today: (
        f"↩️ {_who(r)} 撤回了请假单 #{r.id}（{service.period_label(r, today)}），无需再审批。"
    ),
    "leave.returned": lambda r, today: (
        f"📌 {r.requester.name} 已销假（请假单 #{r.id}，{service.period_label(r, today)}）。"
        + (f"\n报告：{r.return_report}" if r.return_report else "")
    ),
    "leave.group_away": lambda r, today: (
        f"📢 {_who(r)} {service.period_label(r, today)} {privacy.public_leave_kind(r.kind)}"
        + (f"，期间由 {_now_acting(r)} 代行职责" if r.acting or r.named_acting else "")
        + "。"
    ),
    "leave.group_back": lambda r, today: f"📢 {_who(r)} 已销假返岗。",
    "leave.approved": lambda r, today: f"✅ 请假单 #{r.id} 已批准（{_decider(r)}）：{service.period_label(r, today)}",
    "leave.rejected": lambda r, today: (
        f"❌ 请假单 #{r.id} 未获批准（{_decider(r)}）：{service.period_label(r, today)}，"
        f"理由：{plaintext.clauses([r.decision_note or ''])}"
    ),
    "leave.sent_back": lambda r, today: (
        f"↩️ 请假单 #{r.id} 已退回补充（{_decider(r)}），意见：{plaintext.clauses([r.decision_note or ''])}"
        "请在上面的请假单上点“修改后重新提交”。"
    ),
    "leave.revoked": lambda r, today: (
        f"↩️ {_who(r)} 撤销了已批准的请假单 #{r.id}（{service.period_label(r, today)}），将按时在岗。"
    ),
    "leave.acting_cancelled": lambda r, today: (
        f"📌 {_who(r)} 撤销了 {service.period_label(r, today)} 的请假，您无需代行职责。"
    ),
    "leave.group_revoked": lambda r, today: (
        f"📢 {_who(r)} 撤销了 {service.period_label(r, today)} 的{privacy.public_leave_kind(r.kind)}，将按时在岗。"
    ),
}


def _why(facts: dict) -> str:
    """Why the acting person changed, with the article: “（刘洋 同期不在岗，第七十九条）”."""
    because = f"{facts['because']}，" if facts.get("because") else ""
    return f"（{because}{article_label(int(facts['article']))}）"


def _now_acting(r: LeaveRequest) -> str:
    return _acting_label(r.acting, r, why=False)


def _away(r: LeaveRequest, today: date) -> str:
    return f"{_who(r)} {service.period_label(r, today)} {privacy.public_leave_kind(r.kind)}"


# Notices that need the facts queued with them (why the acting person changed), or that are owed only
# while the leave still waits in the round of approval they were queued for (None: no longer owed).
NOTICES_WITH_FACTS: dict[str, Callable[[LeaveRequest, date, dict], str | None]] = {
    "leave.acting_now": lambda r, today, facts: f"📌 {_away(r, today)}，期间改由您代行职责{_why(facts)}。",
    "leave.acting_released": lambda r, today, facts: (
        f"📌 {_away(r, today)}，期间改由 {_now_acting(r)} 代行职责{_why(facts)}，您不再代行。"
    ),
    "leave.acting_changed": lambda r, today, facts: (
        f"📌 您的请假单 #{r.id}（{service.period_label(r, today)}）期间改由 {_now_acting(r)} 代行职责{_why(facts)}。"
    ),
    "leave.group_acting_changed": lambda r, today, facts: (
        f"📢 更正：{_away(r, today)}，期间改由 {_now_acting(r)} 代行职责{_why(facts)}。"
    ),
    "leave.escalated": lambda r, today, facts: (
        f"⏰ 请办公室督办：{_who(r)} 的请假单 #{r.id}（{service.period_label(r, today)}）已等待审批"
        f" {facts['hours']:g} 个工作小时，{r.approver.name if r.approver else '审批人'} 尚未审批。依据：{facts['basis']}"
        if service.still_waiting(r, facts.get("submitted"))
        else None
    ),
    "leave.overdue": lambda r, today, facts: (
        f"⌛ 您的请假单 #{r.id}（{service.period_label(r, today)}）已到开始时间，"
        f"{r.approver.name if r.approver else '审批人'} 仍未审批，已标记为逾期未批。请当面向审批人报告。"
        if service.still_waiting(r, facts.get("submitted"))
        else None
    ),
}


def render_notice(session: Session, row: OutboxMessage, context: WorkContext) -> View | None:
    request = session.get(LeaveRequest, int(row.payload["request_id"]))
    if request is None:
        return None
    today, template = context.now.date(), row.template or ""
    if template in NOTICES_WITH_FACTS:
        text = NOTICES_WITH_FACTS[template](request, today, row.payload)
        return notice(text) if text is not None else None
    return notice(NOTICES[template](request, today))


# ----- the form --------------------------------------------------------------------------------


def press_form(
    session: Session, found: Services, person: Person, data: FormButton, origin: tuple[int, int] | None = None
) -> str | None:
    """A form button, in any channel (bot.views.FormFlow.press): kind, meeting, acting person, edit a
    field, submit, cancel. What the filler is told when the form ends; None: it shows its next step.
    `origin` (chat id, message id): the form message that becomes the requester's card; without one
    (a channel that cannot edit the form's message) the card is sent anew."""
    rid, value = data.request_id, data.value
    if data.action == "k":
        service.choose_kind(session, person, rid, KINDS[_index(value, KINDS)])
    elif data.action == "m":
        service.choose_meeting(session, person, rid, MEETINGS[_index(value, MEETINGS)])
    elif data.action == "a":
        service.choose_acting(session, person, rid, int(value) if value.isdigit() and value != "0" else None)
    elif data.action == "e":
        service.edit_field(session, person, rid, _step(value))
    elif data.action == "c":
        service.cancel(session, person, rid)
        return "已取消这份请假单。"
    elif data.action == "s":
        context = found.context(session)
        submitted = service.submit(session, person, rid, context, origin)
        if origin is None:
            outbox.send_card(session, Subject.LEAVE, rid, CardRole.REQUESTER, person, context.now)
        return _submitted_answer(submitted)
    else:
        raise service.InvalidInput("这个按钮已失效，请重新发送 /leave。")
    return None


@button(FormButton)
async def form_button(update: Update, context: ContextTypes.DEFAULT_TYPE, data: FormButton) -> str | None:
    """Buttons of the form: the next step replaces the form's message; 取消 says so there."""
    query = update.callback_query
    assert query is not None and query.message is not None
    found = services(context)
    origin = (query.message.chat.id, query.message.message_id)

    def work(session: Session) -> str | None:
        return press_form(session, found, require_person(session, query.from_user.id), data, origin)

    told = await command(context, work)
    if told is None:
        await show_form(update, context, FORM_FLOW, data.request_id, edit=True)
        return None
    if data.action == "c":
        await edit_html(update, told)
        return None
    return told


def _index(value: str, options: tuple[str, ...]) -> int:
    if not value.isdigit() or int(value) >= len(options):
        raise service.InvalidInput("这个选项已失效，请重新选择。")
    return int(value)


def _step(value: str) -> Step:
    try:
        return Step(value)
    except ValueError:
        raise service.InvalidInput("这个按钮已失效，请重新发送 /leave。") from None


def _submitted_answer(submitted: service.Submitted) -> str:
    if not submitted.needs_approval:
        return "已备案。" + ("注意：" + submitted.conflicts[0] if submitted.conflicts else "")
    if submitted.approver_reached:
        return f"已提交给 {submitted.approver_name} 审批。"
    return f"已提交，但审批人 {submitted.approver_name} 尚未绑定账号，请当面报告。"


def answer_prompt(session: Session, found: Services, actor: Person, pending: PendingInput, text: str) -> str | None:
    """A typed answer for the leave workflow, in any channel: a refusal's reason or a 销假 report
    (what the person is told), or a form field (None: the form shows its next step)."""
    purpose, target, version = pending.purpose, pending.target_id, pending.target_version or 0
    if purpose == service.INPUT_PURPOSE:
        service.enter_text(session, actor, target, text, found.clock.today(), found.settings.leave_backdate_days)
        return None
    if purpose == service.RETURN_PURPOSE:
        request = service.record_return(session, actor, target, version, text, found.context(session))
        return f"✅ 已销假：请假单 #{request.id}，返回日期 {request.returned_on}。"
    verdict = Verdict(purpose.split(":")[1])
    status = service.decide(session, target, version, actor, verdict, found.context(session), text)
    return f"已处理请假单 #{target}：{STATUS_LABEL[status]}。"


# ----- decisions and the requester's buttons ---------------------------------------------------


def decide_by_button(session: Session, found: Services, actor: Person, data: DecisionButton) -> str:
    """批准 / 不批准 / 退回补充 pressed on an approval card, in any channel: 批准 decides (one
    compare-and-set transition on the version the card shows); the other two ask for the reason,
    which the approver's next text gives (answer_prompt). What the approver is told."""
    verdict = VERDICT_CODES.get(data.action)
    if verdict is None:
        raise service.InvalidInput("这个按钮已失效。")
    if verdict == Verdict.PASS:
        service.decide(session, data.request_id, data.version, actor, verdict, found.context(session))
        return "已批准"
    service.ask_reason(session, data.request_id, data.version, actor, verdict)
    return REASON_PROMPT.format(label=REASON_LABEL[verdict], id=data.request_id)


@button(DecisionButton)
async def decision_button(update: Update, context: ContextTypes.DEFAULT_TYPE, data: DecisionButton) -> str | None:
    """批准 / 不批准 / 退回补充 on the approval card (the latter two then ask for a reason)."""
    query = update.callback_query
    assert query is not None
    told = await card_action(update, context, decide_by_button, data)
    verdict = VERDICT_CODES[data.action]
    if verdict == Verdict.PASS:
        return told

    def lost(session: Session) -> str | None:
        actor = require_person(session, query.from_user.id)
        return service.lost_reason_prompt(session, actor, data.request_id, verdict)

    # A 批准 pressed at the same moment may win after the prompt was stored (it drops the prompt): the
    # approver is not asked for a reason then, nor left with a question whose answer goes nowhere.
    if (handled := await command(context, lost)) is not None:
        return handled
    label = REASON_LABEL[verdict]
    prompt = await context.bot.send_message(query.from_user.id, told)
    if (handled := await command(context, lost)) is not None:
        await prompt.edit_text(f"请假单 #{data.request_id}：{handled}{label}的理由无需再输入。")
    return None


def requester_action(session: Session, found: Services, person: Person, data: RequesterButton) -> Outcome:
    """The requester's buttons, in any channel: withdraw a pending request (or revoke an approved one
    not yet started), revise a returned one (its form opens again), 销假 (asks for the report)."""
    if data.action == "wd":
        status = service.withdraw(session, person, data.request_id, data.version, found.context(session))
        return "已撤销" if status == LeaveStatus.APPROVED else "已撤回"
    if data.action == "re":
        return OpenForm(
            service.PREFIX, service.reopen(session, person, data.request_id, data.version, found.context(session))
        )
    if data.action == "bk":
        request_id = service.await_return_report(session, person, data.request_id, data.version, found.clock.today())
        return RETURN_PROMPT.format(id=request_id)
    raise service.InvalidInput("这个按钮已失效。")


@button(RequesterButton)
async def requester_button(update: Update, context: ContextTypes.DEFAULT_TYPE, data: RequesterButton) -> str | None:
    """The requester's buttons; 销假's question goes to the private chat, a reopened form is shown."""
    query = update.callback_query
    assert query is not None
    told = await card_action(update, context, requester_action, data)
    if isinstance(told, OpenForm):
        await show_form(update, context, FORM_FLOW, told.record_id, edit=False)
    elif data.action == "bk":
        await send_html(context, query.from_user.id, escape(told))
    else:
        return told
    return None


def entrust_action(session: Session, found: Services, actor: Person, data: EntrustButton) -> str:
    """The 区长 chooses the 副区长 who presides while he and the 常务副区长 are away (Art. 9), or who
    acts for a 副区长 whose stand-ins are all away; in any channel."""
    deputy = service.entrust(session, data.request_id, data.version, actor, data.deputy_id, found.context(session))
    request = session.get(LeaveRequest, data.request_id)
    assert request is not None
    if request.requester_id == actor.id:
        return f"已委托 {deputy.name} 主持工作"
    return f"已指定 {deputy.name} 代行职责"


@button(EntrustButton)
async def entrust_button(update: Update, context: ContextTypes.DEFAULT_TYPE, data: EntrustButton) -> str:
    return await card_action(update, context, entrust_action, data)


# ----- commands --------------------------------------------------------------------------------


@registered_only
async def come_back(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/back: 销假 — record the return of an approved leave."""
    assert update.effective_user is not None and update.effective_chat is not None
    user_id, today = update.effective_user.id, services(context).clock.today()

    def work(session: Session) -> list[tuple[int, int, str]]:
        person = require_person(session, user_id)
        open_leaves = service.returnable(session, person)
        if len(open_leaves) == 1:
            service.await_return_report(session, person, open_leaves[0][0], open_leaves[0][1], today)
        return open_leaves

    try:
        open_leaves, refusal = await command(context, work), None
    except DomainError as exc:  # it names the leave and its dates
        open_leaves, refusal = [], str(exc)
    # Every answer of /back is about the person's own leave: in their private chat (bot.privacy).
    chat_id = await private_chat(update, context)
    if not open_leaves:
        await send_html(context, chat_id, escape(refusal or "您没有需要销假的请假。"))
        return
    if len(open_leaves) == 1:
        await send_html(context, chat_id, RETURN_PROMPT.format(id=open_leaves[0][0]))
    else:
        markup = keyboard(
            [[(f"#{rid} {period}", RequesterButton(rid, version, "bk").pack())] for rid, version, period in open_leaves]
        )
        await send_html(context, chat_id, "请选择要销假的请假：", markup)


@registered_only
async def list_leaves(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/leaves: my requests; and a fresh approval card for each request waiting for me."""
    assert update.effective_user is not None and update.effective_chat is not None
    user_id, found = update.effective_user.id, services(context)

    def work(session: Session) -> tuple[int, tuple[str, InlineKeyboardMarkup | None] | None]:
        person = require_person(session, user_id)
        now = found.clock.now()
        waiting = service.waiting_for(session, person)
        for request in waiting:
            outbox.send_card(session, Subject.LEAVE, request.id, CardRole.APPROVAL, person, now)
        mine = service.my_requests(session, person)
        if not mine:
            return len(waiting), None
        lines, rows = [bold("我的请假")], []
        for r in mine:
            status = LeaveStatus(r.status)
            lines.append(
                f"#{r.id} {escape(r.kind or '')} {escape(service.period_label(r, now.date()))}：{service.status_label(r)}"
            )
            if status == LeaveStatus.PENDING:
                rows.append([(f"撤回 #{r.id}", RequesterButton(r.id, r.version, "wd").pack())])
            elif _revocable(r, now.date()):
                rows.append([(f"撤销 #{r.id}", RequesterButton(r.id, r.version, "wd").pack())])
            elif status == LeaveStatus.APPROVED:
                rows.append([(f"销假 #{r.id}", RequesterButton(r.id, r.version, "bk").pack())])
        return len(waiting), ("\n".join(lines), keyboard(rows) if rows else None)

    waiting, mine = await command(context, work)
    await send_overview(
        update,
        context,
        f"待您审批的请假有 {waiting} 份，审批消息随后发给您。" if waiting else None,
        mine,
        "没有请假记录，也没有待您审批的请假。",
    )


@registered_only
async def export(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/export 2026-12-01 2026-12-31 [csv]: leave records of a period for audit (admins)."""
    assert update.effective_user is not None and update.effective_chat is not None
    args = list(context.args or [])
    fmt = args.pop() if args and args[-1] in {"csv", "xlsx"} else "xlsx"
    try:
        start, end = (date.fromisoformat(a) for a in args) if len(args) == 2 else (None, None)
    except ValueError:
        start = end = None
    if start is None or end is None or end < start:
        await tell(update, context, "用法：/export 2026-12-01 2026-12-31 [csv|xlsx]")
        return
    user_id, zone = update.effective_user.id, services(context).settings.timezone

    def work(session: Session) -> tuple[bytes, str]:
        require_admin(session, user_id)
        return export_file(service.requests_in_period(session, start, end), start, end, fmt, zone)

    content, name = await command(context, work)
    await context.bot.send_document(
        await private_chat(update, context), content, filename=name, caption=f"{start} 至 {end} 的请销假记录"
    )


def build_handlers() -> list[BaseHandler]:
    return [
        CommandHandler("leave", form_command(FORM_FLOW, "请在与我的私聊中发送 /leave 填写请假单。")),
        CommandHandler("back", come_back),
        CommandHandler("leaves", list_leaves),
        CommandHandler("export", export),
        CallbackQueryHandler(form_button, pattern=FormButton.matches),
        CallbackQueryHandler(decision_button, pattern=DecisionButton.matches),
        CallbackQueryHandler(requester_button, pattern=RequesterButton.matches),
        CallbackQueryHandler(entrust_button, pattern=EntrustButton.matches),
    ]


FORM_FLOW = FormFlow(
    commands=frozenset({"/leave", "请假"}),
    open=service.open_form,
    screen=form_screen,
    press=press_form,
    hooks=FormHooks(service.open_draft, service.cancel),
)

FEATURE = Feature(
    name="leave",
    handlers=build_handlers,
    models={Subject.LEAVE: LeaveRequest},
    forms={service.PREFIX: FORM_FLOW},
    text_routes={service.PREFIX: prompt_route(FORM_FLOW, answer_prompt)},
    replies={service.PREFIX: answer_prompt},
    actions={
        DecisionButton: CardAction(DecisionButton.parse, decide_by_button),
        RequesterButton: CardAction(RequesterButton.parse, requester_action),
        EntrustButton: CardAction(EntrustButton.parse, entrust_action),
    },
    cards={Subject.LEAVE: render_card},
    notices={template: render_notice for template in (*NOTICES, *NOTICES_WITH_FACTS)},
    buttons=(FormButton, DecisionButton, RequesterButton, EntrustButton),
)
