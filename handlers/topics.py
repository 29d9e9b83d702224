"""Meeting topics in chat: /topic form with its materials checklist, the Art. 49 review chain,
/agenda with order, dates and outcomes, /topics, and each topic's history.

The form's state is the draft row's `step` (bot.topics.service); this table says what each step asks.
"""

import csv
import io

from sqlalchemy import select
from sqlalchemy.orm import Session
from telegram import InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, ContextTypes

from bot.db import PendingInput, Person, Topic
from bot.errors import InvalidInput
from bot.roster import require_person
from bot.topics import service
from bot.topics.materials import MATTER_KINDS, checklist_for, item
from bot.topics.routing import MEETING_TYPES
from bot.topics.service import STATUS_LABEL, Step
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

STEP_QUESTIONS: dict[str, str] = {
    Step.MEETING: "请选择会议类型：",
    Step.TITLE: "请输入议题名称：",
    Step.SUMMARY: "请输入议题概要（需要会议研究决定什么）：",
    Step.DEPARTMENT: "汇报部门是哪个？点按钮，或输入部门名称：",
    Step.DEPUTY: "分管副区长（按部门推定，可改）：",
    Step.MATTER: "事项类型（决定需要哪些材料）：",
    Step.CONSULTED: "已征求哪些部门的意见？（没有请写“无”）",
    Step.DATE: "希望上会的日期，如 12月10日、下周三：",
    Step.CONFIRM: "请核对后提交：",
}
EDITABLE = {
    Step.MEETING: "会议",
    Step.TITLE: "名称",
    Step.SUMMARY: "概要",
    Step.DEPARTMENT: "部门",
    Step.DEPUTY: "分管领导",
    Step.MATTER: "类型",
    Step.CONSULTED: "征求意见",
    Step.DATE: "日期",
}
CHECK_LABEL = {"done": "已完成", "not_needed": "不需要"}


# ----- rendering -------------------------------------------------------------------------------


def _facts(topic: Topic) -> list[str]:
    lines = [
        f"会议：{escape(topic.meeting_type or '')}",
        f"议题：{escape(topic.title or '')}",
        f"概要：{escape(topic.summary or '')}",
        f"汇报部门：{escape(topic.department or '')}",
        f"分管副区长：{escape(topic.deputy.name) if topic.deputy else '未定'}",
        f"事项类型：{escape(topic.matter_kind or '')}",
        f"已征求意见：{escape(topic.consulted or '')}",
    ]
    if topic.desired_date:
        lines.append(f"希望上会：{topic.desired_date.isoformat()}")
    for material in checklist_for(topic.matter_kind or ""):
        state = topic.checklist.get(material.key)
        if state:
            reason = f"（{escape(state['reason'])}）" if state.get("reason") else ""
            lines.append(f"• {escape(material.label)}：{CHECK_LABEL[state['status']]}{reason}")
    return lines


def _departments(session: Session) -> list[str]:
    return sorted(set(session.scalars(select(Person.department).where(Person.department.is_not(None), Person.active))))


def _form_view(topic: Topic, departments: list[str], deputies: list[Person]) -> tuple[str, InlineKeyboardMarkup]:
    step = topic.step or Step.CONFIRM
    cancel = ("取消", f"tp:c:{topic.id}")
    title = bold(f"📋 议题申报 #{topic.id}")
    rows: list[list[tuple[str, str]]] = []
    if step == Step.MEETING:
        rows = [[(m, f"tp:f:{topic.id}:{step}:{i}")] for i, m in enumerate(MEETING_TYPES)]
    elif step == Step.DEPARTMENT:
        rows = [[(d, f"tp:f:{topic.id}:{step}:{i}")] for i, d in enumerate(departments)]
    elif step == Step.DEPUTY:
        rows = [
            [(f"{d.name}（{d.position}）" + ("✓" if topic.deputy_id == d.id else ""), f"tp:f:{topic.id}:{step}:{d.id}")]
            for d in deputies
        ]
    elif step == Step.MATTER:
        rows = [[(k, f"tp:f:{topic.id}:{step}:{i}")] for i, k in enumerate(MATTER_KINDS)]
    elif step.startswith("check:"):
        material = item(step.split(":")[1])
        question = f"材料：{bold(material.label)}\n依据：{escape(material.why)}（第{material.article}条）"
        rows = [[("已完成", f"tp:f:{topic.id}:{step}:done"), ("不需要", f"tp:f:{topic.id}:{step}:skip")], [cancel]]
        return f"{title}\n{question}", keyboard(rows)
    elif step.startswith("reason:"):
        material = item(step.split(":")[1])
        return f"{title}\n请说明为什么不需要“{escape(material.label)}”：", keyboard([[cancel]])
    elif step == Step.CONFIRM:
        edits = [(f"改{label}", f"tp:e:{topic.id}:{s.value}") for s, label in EDITABLE.items()]
        body = "\n".join(_facts(topic))
        rows = [[("✅ 提交", f"tp:s:{topic.id}"), cancel], edits[:4], edits[4:]]
        return f"{title}\n{STEP_QUESTIONS[step]}\n{body}", keyboard(rows)
    return f"{title}\n{escape(STEP_QUESTIONS[step])}", keyboard([*rows, [cancel]])


def _review_view(topic: Topic) -> tuple[str, InlineKeyboardMarkup]:
    stage = service.current_stage(topic)
    lines = [
        bold(
            f"📋 议题{stage['action']} #{topic.id}（{topic.meeting_type}，第{topic.stage + 1}/{len(topic.chain)}步：{stage['role']}）"
        ),
        f"申报人：{escape(topic.requester.name)}",
        *_facts(topic),
        "依据：第四十九条 " + escape(" → ".join(f"{s['role']}{s['action']}" for s in topic.chain)),
    ]
    base = f"{topic.id}:{topic.stage}"
    buttons = [("通过", f"tp:ok:{base}"), ("退回修改", f"tp:rt:{base}"), ("不予上会", f"tp:no:{base}")]
    return "\n".join(lines), keyboard([buttons, [("📜 记录", f"tp:his:{topic.id}")]])


# ----- the form --------------------------------------------------------------------------------


async def _show_form(update: Update, context: ContextTypes.DEFAULT_TYPE, topic_id: int, edit: bool) -> None:
    def load() -> tuple[str, InlineKeyboardMarkup]:
        with services(context).database.session() as session:
            topic = session.get(Topic, topic_id)
            assert topic is not None
            deputies = list(
                session.scalars(select(Person).where(Person.position.in_(("常务副区长", "副区长")), Person.active))
            )
            return _form_view(topic, _departments(session), deputies)

    text, markup = await blocking(load)
    await show(update, context, text, markup, edit)


@explains_domain_errors
async def form_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The form's buttons: choices, checklist statuses, edit, submit, cancel."""
    query = update.callback_query
    assert query is not None and query.data is not None
    parts = query.data.split(":")
    action, topic_id = parts[1], int(parts[2])
    found = services(context)

    def work() -> Topic | str | None:
        with found.database.session() as session:
            person = require_person(session, query.from_user.id)
            if action == "f":
                step, value = ":".join(parts[3:-1]), parts[-1]
                return service.choose(session, person, topic_id, step, _button_value(session, step, value))
            if action == "e":
                service.edit_field(session, person, topic_id, parts[3])
            elif action == "c":
                service.cancel(session, person, topic_id)
                return "cancelled"
            elif action == "s":
                return service.submit(session, person, topic_id)
            return None

    outcome = await blocking(work)
    await query.answer()
    if outcome == "cancelled":
        await edit_html(update, "已取消这个议题。")
    elif isinstance(outcome, Topic) and outcome.status == "in_review":
        await _after_submit(update, context, outcome)
    else:
        await _show_form(update, context, topic_id, edit=True)


def _button_value(session: Session, step: str, value: str) -> str:
    """Buttons carry indexes and ids; turn them back into what the service takes."""
    options = {Step.MEETING: MEETING_TYPES, Step.MATTER: MATTER_KINDS, Step.DEPARTMENT: tuple(_departments(session))}
    if step in options:
        choices = options[step]
        if not value.isdigit() or int(value) >= len(choices):
            raise InvalidInput("这个选项已失效，请重新选择。")
        return choices[int(value)]
    if step.startswith("check:"):
        return "done" if value == "done" else "not_needed"
    return value


async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE, person: Person, pending: PendingInput) -> None:
    """A typed answer for the topic workflow: a form field, a reason, or a meeting date."""
    assert update.message is not None and update.message.text is not None and update.effective_chat is not None
    text, purpose = update.message.text, pending.purpose
    found = services(context)

    def work() -> Topic:
        with found.database.session() as session:
            actor = session.get(Person, person.id)
            assert actor is not None
            if purpose == service.INPUT_PURPOSE:
                return service.enter_text(session, actor, pending.target_id, text, found.clock.today())
            if purpose == "topic:meeting_date":
                return service.set_meeting_date(session, actor, pending.target_id, text, found.clock.today())
            topic = session.get(Topic, pending.target_id)
            stage = topic.stage if topic else -1
            return service.decide(session, pending.target_id, stage, actor, purpose.split(":")[1], text)

    topic = await blocking(work)
    if purpose == service.INPUT_PURPOSE:
        await _show_form(update, context, topic.id, edit=False)
    elif purpose == "topic:meeting_date":
        await send_html(
            context,
            update.effective_chat.id,
            f"已将议题 #{topic.id} 安排在 {topic.meeting_date} 的{escape(topic.meeting_type or '')}。",
        )
    else:
        await send_html(context, update.effective_chat.id, f"已处理议题 #{topic.id}：{STATUS_LABEL[topic.status]}。")
        await _tell_requester(context, topic)


inputs.TEXT_ROUTES["topic"] = on_text


# ----- the chain -------------------------------------------------------------------------------


async def _send_to_stage(context: ContextTypes.DEFAULT_TYPE, topic: Topic) -> bool:
    def load() -> Person | None:
        with services(context).database.session() as session:
            return session.get(Person, int(service.current_stage(topic)["person_id"]))

    stage_person = await blocking(load)
    text, markup = _review_view(topic)
    return await notify(context, stage_person, text, markup)


async def _after_submit(update: Update, context: ContextTypes.DEFAULT_TYPE, topic: Topic) -> None:
    reached = await _send_to_stage(context, topic)
    stage = service.current_stage(topic)
    route = " → ".join(f"{s['role']}{s['action']}" for s in topic.chain)
    where = (
        f"已送{stage['role']} {escape(str(stage['person_name']))}{stage['action']}"
        if reached
        else f"已提交，但{stage['role']} {escape(str(stage['person_name']))} 尚未绑定账号，请线下报送"
    )
    await edit_html(update, f"📨 议题 #{topic.id} {where}。\n流程（第四十九条）：{escape(route)}")


async def _tell_requester(context: ContextTypes.DEFAULT_TYPE, topic: Topic) -> None:
    if topic.status == "in_review":
        stage = service.current_stage(topic)
        text = f"📋 议题 #{topic.id} 上一步已通过，现送{stage['role']} {escape(str(stage['person_name']))}{stage['action']}。"
        markup = None
    elif topic.status == "accepted":
        text, markup = (
            f"✅ 议题 #{topic.id}“{escape(topic.title or '')}”已确定提请{escape(topic.meeting_type or '')}。",
            None,
        )
    elif topic.status == "returned":
        text = f"↩️ 议题 #{topic.id} 被退回修改。"
        markup = keyboard([[("修改后重新提交", f"tp:rv:{topic.id}")]])
    else:
        text, markup = f"⛔ 议题 #{topic.id} 不予上会。", None
    await notify(context, topic.requester, text + "\n" + await _last_note(context, topic), markup)


async def _last_note(context: ContextTypes.DEFAULT_TYPE, topic: Topic) -> str:
    def load() -> str:
        with services(context).database.session() as session:
            _, events = service.history(session, topic.id)
            last = events[-1]
            who = last.actor.name if last.actor else ""
            return f"{escape(who)}：{escape(last.action)}" + (f"（{escape(last.note)}）" if last.note else "")

    return await blocking(load)


@explains_domain_errors
async def stage_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """通过 / 退回修改 / 不予上会 at one stage (the latter two then ask for a reason)."""
    query = update.callback_query
    assert query is not None and query.data is not None
    _, action, topic_id, stage = query.data.split(":")
    decision = {"ok": "pass", "rt": "return", "no": "reject"}[action]

    def work() -> Topic:
        with services(context).database.session() as session:
            actor = require_person(session, query.from_user.id)
            if decision == "pass":
                return service.decide(session, int(topic_id), int(stage), actor, decision)
            return service.ask_reason(session, int(topic_id), int(stage), actor, decision)

    topic = await blocking(work)
    if decision == "pass":
        await query.answer("已通过")
        await edit_html(
            update, f"{_review_view_text(topic)}\n结果：{bold('通过')}（{escape(query.from_user.first_name)}）"
        )
        if topic.status == "in_review":
            await _send_to_stage(context, topic)
        await _tell_requester(context, topic)
    else:
        await query.answer()
        label = "退回修改" if decision == "return" else "不予上会"
        await send_html(context, query.from_user.id, f"请输入{label}的理由（议题 #{topic.id}）：")


def _review_view_text(topic: Topic) -> str:
    return f"{bold(f'📋 议题 #{topic.id}')}\n" + "\n".join(_facts(topic))


# ----- requester, agenda and history -----------------------------------------------------------


@explains_domain_errors
async def topic_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Revise a returned topic; show or export a topic's history."""
    query = update.callback_query
    assert query is not None and query.data is not None and query.message is not None
    _, action, topic_id = query.data.split(":")
    found = services(context)
    chat_id = query.message.chat.id

    if action == "rv":

        def revise() -> int:
            with found.database.session() as session:
                return service.revise(session, require_person(session, query.from_user.id), int(topic_id)).id

        await query.answer()
        await _show_form(update, context, await blocking(revise), edit=False)
        return

    def load() -> tuple[Topic, list[tuple[str, str, str, str]]]:
        with found.database.session() as session:
            require_person(session, query.from_user.id)
            topic, events = service.history(session, int(topic_id))
            zone = found.settings.timezone
            rows = [
                (
                    local_time(e.at, zone).strftime("%Y-%m-%d %H:%M"),
                    e.actor.name if e.actor else "",
                    e.action,
                    e.note or "",
                )
                for e in events
            ]
            return topic, rows

    topic, rows = await blocking(load)
    await query.answer()
    if action == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(["时间", "人员", "动作", "说明"])
        writer.writerows(rows)
        await context.bot.send_document(
            chat_id, buffer.getvalue().encode("utf-8-sig"), filename=f"议题{topic.id}记录.csv"
        )
        return
    lines = [bold(f"📜 议题 #{topic.id}“{topic.title or ''}”全部记录（{STATUS_LABEL[topic.status]}）")]
    lines += [
        f"{at} {escape(who)} {escape(what)}" + (f"：{escape(note)}" if note else "") for at, who, what, note in rows
    ]
    await send_html(context, chat_id, "\n".join(lines), keyboard([[("导出 CSV", f"tp:csv:{topic.id}")]]))


@registered_only
async def list_topics(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/topics: my topics, and those waiting for my review or decision."""
    assert update.effective_user is not None and update.effective_chat is not None

    def work() -> list[tuple[str, InlineKeyboardMarkup | None]]:
        with services(context).database.session() as session:
            person = require_person(session, update.effective_user.id)
            messages = [_review_view(t) for t in service.awaiting(session, person)]
            mine = service.my_topics(session, person)
            if mine:
                lines = [bold("我申报的议题")] + [
                    f"#{t.id} {escape(t.title or '')}（{escape(t.meeting_type or '')}）：{STATUS_LABEL[t.status]}"
                    for t in mine
                ]
                messages.append(("\n".join(lines), keyboard([[(f"📜 #{t.id}", f"tp:his:{t.id}")] for t in mine])))
            return messages

    messages = await blocking(work)
    if not messages:
        await tell(update, context, "没有议题记录，也没有待您处理的议题。")
    for text, markup in messages:
        await send_html(context, update.effective_chat.id, text, markup)


@registered_only
async def show_agenda(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/agenda: accepted topics of each upcoming meeting in order (the 区长 and 办公室 can arrange them)."""
    assert update.effective_user is not None and update.effective_chat is not None

    def work() -> tuple[list[Topic], bool]:
        with services(context).database.session() as session:
            person = require_person(session, update.effective_user.id)
            return service.agenda(session), person.position in service.AGENDA_MANAGERS or person.is_admin

    topics, manager = await blocking(work)
    if not topics:
        await tell(update, context, "目前没有已确定上会的议题。")
        return
    heading = None
    for topic in topics:
        meeting = f"{topic.meeting_type}（{topic.meeting_date.isoformat() if topic.meeting_date else '会期未定'}）"
        if meeting != heading:
            heading = meeting
            await send_html(context, update.effective_chat.id, bold(f"📅 {meeting}"))
        text = f"{topic.agenda_order}. {escape(topic.title or '')}（{escape(topic.department or '')}）"
        markup = None
        if manager:
            markup = keyboard(
                [
                    [("⬆️", f"tp:up:{topic.id}"), ("⬇️", f"tp:dn:{topic.id}"), ("📅 会期", f"tp:dt:{topic.id}")],
                    [("通过·需发文", f"tp:out:{topic.id}:p1"), ("通过", f"tp:out:{topic.id}:p0")],
                    [("原则通过·需发文", f"tp:out:{topic.id}:a1"), ("原则通过", f"tp:out:{topic.id}:a0")],
                    [("暂缓", f"tp:out:{topic.id}:d0"), ("不通过", f"tp:out:{topic.id}:n0")],
                ]
            )
        await send_html(context, update.effective_chat.id, text, markup)


@explains_domain_errors
async def agenda_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Arrange the agenda: move, set the meeting date, record the outcome."""
    query = update.callback_query
    assert query is not None and query.data is not None
    parts = query.data.split(":")
    action, topic_id = parts[1], int(parts[2])
    found = services(context)

    def work() -> Topic:
        with found.database.session() as session:
            actor = require_person(session, query.from_user.id)
            if action in ("up", "dn"):
                return service.move(session, actor, topic_id, -1 if action == "up" else 1)
            if action == "dt":
                return service.await_meeting_date(session, actor, topic_id)
            code = parts[3]
            return service.record_outcome(session, actor, topic_id, code[0], code[1] == "1", found.context(session))

    topic = await blocking(work)
    if action == "dt":
        await query.answer()
        await send_html(context, query.from_user.id, f"请输入议题 #{topic.id} 的会议日期（如 12月15日）：")
    elif action == "out":
        await query.answer("已记录")
        note = (
            "，已生成5个工作日印发期限（第五十条）"
            if parts[3][1] == "1" and topic.outcome in ("通过", "原则通过")
            else ""
        )
        await edit_html(update, f"{escape(topic.title or '')}：会议结果 {bold(topic.outcome or '')}{note}")
    else:
        await query.answer("已调整顺序，发送 /agenda 查看")


def build_handlers() -> list[BaseHandler]:
    return [
        CommandHandler("topic", form_command(service.open_form, _show_form, "请在与我的私聊中发送 /topic 申报议题。")),
        CommandHandler("topics", list_topics),
        CommandHandler("agenda", show_agenda),
        CallbackQueryHandler(form_button, pattern=r"^tp:(f|e|s|c):\d+"),
        CallbackQueryHandler(stage_button, pattern=r"^tp:(ok|rt|no):\d+:\d+$"),
        CallbackQueryHandler(topic_button, pattern=r"^tp:(rv|his|csv):\d+$"),
        CallbackQueryHandler(agenda_button, pattern=r"^tp:(up|dn|dt|out):\d+"),
    ]
