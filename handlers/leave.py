"""Leave reports in chat: the /leave form, the approver's buttons, 销假 (/back), /leaves, /export.

The form's state is the draft row's `step` (bot.leave.service), so it survives restarts; the table
below says what each step asks and which buttons it offers.
"""

from datetime import date
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, ContextTypes

from bot.db import LeaveRequest, PendingInput, Person
from bot.leave import service
from bot.leave.export import to_csv, to_xlsx
from bot.leave.routing import KINDS, MEETINGS, default_acting
from bot.leave.service import STATUS_LABEL, Step
from bot.roster import require_admin, require_person
from handlers import inputs
from handlers.common import (
    blocking,
    edit_html,
    explains_domain_errors,
    form_command,
    notify,
    registered_only,
    send_html,
    services,
    show,
    tell,
)
from handlers.render import bold, escape, keyboard, local_time

CANCEL_BUTTON = ("取消", "lv:c:{id}")
# Each step of the form: the question, and whether it offers buttons of its own.
STEP_QUESTIONS: dict[Step, str] = {
    Step.KIND: "请选择请假类型：",
    Step.MEETING: "请选择不能出席的会议：",
    Step.START: "请输入开始日期，如：12月3日、明天、下周一、2026-12-03 上午",
    Step.END: "请输入结束日期（可加“上午”表示只请到中午）：",
    Step.DESTINATION: "请输入目的地：",
    Step.REASON: "请输入事由：",
    Step.ACTING: "期间由谁代行职责？点按钮选择，或直接输入姓名：",
    Step.CONFIRM: "请核对后提交：",
}
EDITABLE = {
    Step.KIND: "类型",
    Step.MEETING: "会议",
    Step.START: "开始",
    Step.END: "结束",
    Step.DESTINATION: "目的地",
    Step.REASON: "事由",
    Step.ACTING: "代行人",
}


# ----- rendering -------------------------------------------------------------------------------


def _facts(request: LeaveRequest) -> list[str]:
    lines = [
        f"申请人：{escape(request.requester.name)}（{escape(request.requester.position)}）",
        f"类型：{escape(request.kind or '')}" + (f"（{escape(request.meeting)}）" if request.meeting else ""),
        f"时间：{escape(service.period_label(request))}",
    ]
    if request.destination:
        lines.append(f"目的地：{escape(request.destination)}")
    if request.reason:
        lines.append(f"事由：{escape(request.reason)}")
    lines.append(f"代行职责：{escape(request.acting.name) if request.acting else '无'}")
    return lines


def _form_view(request: LeaveRequest, acting_default: Person | None) -> tuple[str, InlineKeyboardMarkup]:
    step = Step(request.step)
    cancel = (CANCEL_BUTTON[0], CANCEL_BUTTON[1].format(id=request.id))
    title = bold(f"📝 请假单 #{request.id}")
    if step == Step.KIND:
        rows = [[(k, f"lv:k:{request.id}:{i}") for i, k in enumerate(KINDS[j : j + 3], start=j)] for j in (0, 3)]
        return f"{title}\n{STEP_QUESTIONS[step]}", keyboard([*rows, [cancel]])
    if step == Step.MEETING:
        rows = [[(m, f"lv:m:{request.id}:{i}")] for i, m in enumerate(MEETINGS)]
        return f"{title}\n{STEP_QUESTIONS[step]}", keyboard([*rows, [cancel]])
    if step == Step.ACTING:
        options = [("无需代行", f"lv:a:{request.id}:0")]
        if acting_default:
            options.insert(0, (f"{acting_default.name}（默认）", f"lv:a:{request.id}:{acting_default.id}"))
        return f"{title}\n{STEP_QUESTIONS[step]}", keyboard([options, [cancel]])
    if step == Step.CONFIRM:
        edits = [(f"改{label}", f"lv:e:{request.id}:{s.value}") for s, label in EDITABLE.items() if s in request.filled]
        rows = [edits[i : i + 4] for i in range(0, len(edits), 4)]
        body = "\n".join(_facts(request))
        return f"{title}\n{STEP_QUESTIONS[step]}\n{body}", keyboard(
            [[("✅ 提交", f"lv:s:{request.id}"), cancel], *rows]
        )
    return f"{title}\n{escape(STEP_QUESTIONS[step])}\n（随时可发送 /cancel 取消）", keyboard([[cancel]])


def _approval_view(request: LeaveRequest, basis: str | None = None) -> tuple[str, InlineKeyboardMarkup]:
    lines = [bold(f"📝 请假审批 #{request.id}"), *_facts(request)]
    if basis:
        lines.append(f"依据：{escape(basis)}")
    for note in request.conflicts:
        lines.append(f"⚠️ {escape(note)}")
    buttons = [("批准", f"lv:ok:{request.id}"), ("不批准", f"lv:no:{request.id}"), ("退回补充", f"lv:rt:{request.id}")]
    return "\n".join(lines), keyboard([buttons])


def _outcome_line(request: LeaveRequest, zone: ZoneInfo) -> str:
    who = request.decided_by.name if request.decided_by else "系统"
    when = local_time(request.decided_at, zone).strftime("%m月%d日 %H:%M") if request.decided_at else ""
    note = f"，理由：{escape(request.decision_note)}" if request.decision_note and request.status != "approved" else ""
    return f"结果：{bold(STATUS_LABEL[request.status])}（{escape(who)}，{when}）{note}"


# ----- the form --------------------------------------------------------------------------------


async def _show_form(update: Update, context: ContextTypes.DEFAULT_TYPE, request_id: int, edit: bool) -> None:
    def load() -> tuple[str, InlineKeyboardMarkup]:
        with services(context).database.session() as session:
            request = session.get(LeaveRequest, request_id)
            assert request is not None
            return _form_view(request, default_acting(session, request.requester))

    text, markup = await blocking(load)
    await show(update, context, text, markup, edit)


@explains_domain_errors
async def form_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Buttons of the form: kind, meeting, acting person, edit a field, submit, cancel."""
    query = update.callback_query
    assert query is not None and query.data is not None
    _, action, request_id, *rest = query.data.split(":")
    value = rest[0] if rest else ""
    found = services(context)

    def work() -> service.Submitted | str | None:
        with found.database.session() as session:
            person = require_person(session, query.from_user.id)
            rid = int(request_id)
            if action == "k":
                service.choose_kind(session, person, rid, KINDS[int(value)])
            elif action == "m":
                service.choose_meeting(session, person, rid, MEETINGS[int(value)])
            elif action == "a":
                service.choose_acting(session, person, rid, int(value) or None)
            elif action == "e":
                service.edit_field(session, person, rid, Step(value))
            elif action == "c":
                service.cancel(session, person, rid)
                return "cancelled"
            elif action == "s":
                return service.submit(session, person, rid, found.context(session))
            return None

    outcome = await blocking(work)
    await query.answer()
    if outcome == "cancelled":
        await edit_html(update, "已取消这份请假单。")
    elif isinstance(outcome, service.Submitted):
        await _after_submit(update, context, outcome)
    else:
        await _show_form(update, context, int(request_id), edit=True)


async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE, person: Person, pending: PendingInput) -> None:
    """A typed answer for the leave workflow: a form field, a refusal reason or a 销假 report."""
    assert update.message is not None and update.message.text is not None
    text = update.message.text
    found = services(context)
    purpose = pending.purpose

    def work() -> LeaveRequest:
        with found.database.session() as session:
            actor = session.get(Person, person.id)
            assert actor is not None
            if purpose == service.INPUT_PURPOSE:
                return service.enter_text(session, actor, pending.target_id, text, found.clock.today())
            if purpose == "leave:back":
                request = service.record_return(session, actor, pending.target_id, text, found.clock.now())
            else:
                request = service.decide(
                    session, pending.target_id, actor, purpose.split(":")[1], found.context(session), text
                )
            return request

    request = await blocking(work)
    if purpose == service.INPUT_PURPOSE:
        await _show_form(update, context, request.id, edit=False)
    elif purpose == "leave:back":
        await _after_return(update, context, request)
    else:
        await _after_decision(update, context, request)


inputs.TEXT_ROUTES["leave"] = on_text


# ----- submission and decisions ----------------------------------------------------------------


async def _after_submit(update: Update, context: ContextTypes.DEFAULT_TYPE, submitted: service.Submitted) -> None:
    request = submitted.request
    if not submitted.needs_approval:
        await edit_html(update, f"✅ 已备案：请假单 #{request.id}\n{escape(submitted.basis)}")
        await _announce_approval(context, request)
        return
    text, markup = _approval_view(request, submitted.basis)
    reached = await notify(context, request.approver, text, markup)
    status = (
        f"已提交给 {escape(request.approver.name)} 审批。"
        if reached
        else (f"已提交，但审批人 {escape(request.approver.name)} 尚未绑定账号，请当面报告。")
    )
    conflicts = "".join(f"\n⚠️ {escape(n)}" for n in request.conflicts)
    await edit_html(update, f"📨 请假单 #{request.id} {status}\n{escape(submitted.basis)}{conflicts}")


@explains_domain_errors
async def decision_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """批准 / 不批准 / 退回补充 from the approver (the latter two then ask for a reason)."""
    query = update.callback_query
    assert query is not None and query.data is not None
    _, action, request_id = query.data.split(":")
    decision = {"ok": "approve", "no": "reject", "rt": "return"}[action]
    found = services(context)

    def work() -> LeaveRequest:
        with found.database.session() as session:
            actor = require_person(session, query.from_user.id)
            if decision == "approve":
                request = service.decide(session, int(request_id), actor, decision, found.context(session))
            else:
                request = service.ask_reason(session, int(request_id), actor, decision)
            return request

    request = await blocking(work)
    if decision == "approve":
        await query.answer("已批准")
        await edit_html(
            update, f"{_approval_view(request)[0]}\n{_outcome_line(request, services(context).settings.timezone)}"
        )
        await _after_decision(update, context, request)
    else:
        await query.answer()
        label = "不批准" if decision == "reject" else "退回补充"
        await send_html(context, query.from_user.id, f"请输入{label}的理由（请假单 #{request.id}）：")


async def _after_decision(update: Update, context: ContextTypes.DEFAULT_TYPE, request: LeaveRequest) -> None:
    outcome = _outcome_line(request, services(context).settings.timezone)
    markup = None
    if request.status == "returned":
        markup = keyboard([[("修改后重新提交", f"lv:re:{request.id}")]])
    elif request.status == "pending":
        markup = keyboard([[("撤回", f"lv:wd:{request.id}")]])
    await notify(
        context,
        request.requester,
        f"📝 您的请假单 #{request.id}（{escape(service.period_label(request))}）\n{outcome}",
        markup,
    )
    if update.message:
        await send_html(context, update.message.chat.id, f"已处理请假单 #{request.id}：{outcome}")
    if request.status == "approved":
        await _announce_approval(context, request)


async def _announce_approval(context: ContextTypes.DEFAULT_TYPE, request: LeaveRequest) -> None:
    """Tell the acting person what they cover; post the notice to the office group if configured."""
    period = service.period_label(request)
    who = f"{request.requester.name}{request.requester.position}"
    if request.acting:
        await notify(context, request.acting, escape(f"📌 {who} {period} {request.kind}，期间由您代行职责。"))
    group = services(context).settings.leave_notice_group
    if group is not None:
        acting = f"，期间由 {request.acting.name} 代行职责" if request.acting else ""
        await send_html(context, group, escape(f"📢 {who} {period} {request.kind}{acting}。"))


@explains_domain_errors
async def requester_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The requester's buttons: withdraw a pending request, revise a returned one, 销假."""
    query = update.callback_query
    assert query is not None and query.data is not None
    _, action, request_id = query.data.split(":")
    found = services(context)

    def work() -> LeaveRequest:
        with found.database.session() as session:
            person = require_person(session, query.from_user.id)
            if action == "wd":
                return service.withdraw(session, person, int(request_id))
            if action == "re":
                return service.reopen(session, person, int(request_id))
            return service.await_return_report(session, person, int(request_id))

    request = await blocking(work)
    await query.answer()
    if action == "wd":
        await edit_html(update, f"已撤回请假单 #{request.id}。")
    elif action == "re":
        await _show_form(update, context, request.id, edit=False)
    else:
        await send_html(
            context,
            query.from_user.id,
            f"销假：请简要报告返回情况和需要向区长报告的重要问题（请假单 #{request.id}），没有请回复“无”：",
        )


async def _after_return(update: Update, context: ContextTypes.DEFAULT_TYPE, request: LeaveRequest) -> None:
    assert update.effective_chat is not None
    await send_html(
        context, update.effective_chat.id, f"✅ 已销假：请假单 #{request.id}，返回日期 {request.returned_on}。"
    )
    report = f"\n报告：{escape(request.return_report)}" if request.return_report else ""
    await notify(
        context,
        request.approver,
        f"📌 {escape(request.requester.name)} 已销假（请假单 #{request.id}，{escape(service.period_label(request))}）。{report}",
    )


# ----- commands --------------------------------------------------------------------------------


@registered_only
async def come_back(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/back: 销假 — record the return of an approved leave."""
    assert update.effective_user is not None and update.effective_chat is not None

    def work() -> list[tuple[int, str]]:
        with services(context).database.session() as session:
            person = require_person(session, update.effective_user.id)
            open_leaves = service.returnable(session, person)
            if len(open_leaves) == 1:
                service.await_return_report(session, person, open_leaves[0].id)
            return [(r.id, service.period_label(r)) for r in open_leaves]

    open_leaves = await blocking(work)
    if not open_leaves:
        await tell(update, context, "您没有需要销假的请假。")
    elif len(open_leaves) == 1:
        await send_html(
            context,
            update.effective_chat.id,
            f"销假：请简要报告返回情况和需要向区长报告的重要问题（请假单 #{open_leaves[0][0]}），没有请回复“无”：",
        )
    else:
        markup = keyboard([[(f"#{rid} {period}", f"lv:bk:{rid}")] for rid, period in open_leaves])
        await send_html(context, update.effective_chat.id, "请选择要销假的请假：", markup)


@registered_only
async def list_leaves(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/leaves: my requests, and those waiting for my approval."""
    assert update.effective_user is not None and update.effective_chat is not None

    def work() -> list[tuple[str, InlineKeyboardMarkup | None]]:
        with services(context).database.session() as session:
            person = require_person(session, update.effective_user.id)
            messages = []
            for request in service.waiting_for(session, person):
                messages.append(_approval_view(request, None))
            mine = service.my_requests(session, person)
            if mine:
                lines = [bold("我的请假")]
                buttons = []
                for r in mine:
                    lines.append(
                        f"#{r.id} {escape(r.kind or '')} {escape(service.period_label(r))}：{STATUS_LABEL[r.status]}"
                    )
                    if r.status == "pending":
                        buttons.append([(f"撤回 #{r.id}", f"lv:wd:{r.id}")])
                    elif r.status == "approved":
                        buttons.append([(f"销假 #{r.id}", f"lv:bk:{r.id}")])
                messages.append(("\n".join(lines), keyboard(buttons) if buttons else None))
            return messages

    messages = await blocking(work)
    if not messages:
        await tell(update, context, "没有请假记录，也没有待您审批的请假。")
    for text, markup in messages:
        await send_html(context, update.effective_chat.id, text, markup)


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

    def work() -> bytes:
        with services(context).database.session() as session:
            require_admin(session, update.effective_user.id)
            rows = service.requests_in_period(session, start, end)
            return to_csv(rows) if fmt == "csv" else to_xlsx(rows)

    content = await blocking(work)
    await context.bot.send_document(
        update.effective_chat.id,
        content,
        filename=f"请销假记录_{start}_{end}.{fmt}",
        caption=f"{start} 至 {end} 的请销假记录",
    )


def build_handlers() -> list[BaseHandler]:
    return [
        CommandHandler(
            "leave", form_command(service.open_form, _show_form, "请在与我的私聊中发送 /leave 填写请假单。")
        ),
        CommandHandler("back", come_back),
        CommandHandler("leaves", list_leaves),
        CommandHandler("export", export),
        CallbackQueryHandler(form_button, pattern=r"^lv:[kmaesc]:\d+(:\w+)?$"),
        CallbackQueryHandler(decision_button, pattern=r"^lv:(ok|no|rt):\d+$"),
        CallbackQueryHandler(requester_button, pattern=r"^lv:(wd|re|bk):\d+$"),
    ]
