"""Meeting topics in chat: /topic form with its materials checklist, the Art. 49 review chain,
/agenda with order, dates and outcomes, /topics, and each topic's history.

The form's state is the draft row's `step` (bot.topics.service); this table says what each step asks.
"""

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session
from telegram import CallbackQuery, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, ContextTypes

from bot import privacy, roster
from bot.calendar.labels import month_day
from bot.db import PendingInput, Person
from bot.errors import InvalidInput, NotFound
from bot.roster import require_person
from bot.services import Services
from bot.topics import service
from bot.topics.materials import MATTER_KINDS, checklist_for, item
from bot.topics.models import Topic
from bot.topics.routing import MEETING_TYPES
from bot.topics.service import STATUS_LABEL, Step, TopicStatus
from bot.views import Button, CardAction, FormFlow, Line, OpenForm, Outcome, Strong, View, field, line, view
from bot.workflow import outbox
from bot.workflow.context import WorkContext
from bot.workflow.inputs import FormHooks
from bot.workflow.models import Card, CardRole, OutboxMessage, Subject
from bot.workflow.review import VERDICT_CODES, Verdict
from bot.workflow.transitions import HistoryRow, action_label, events_of
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
from handlers.render import bold, escape, keyboard, view_html
from knowledge import article_label

CONFIRM_QUESTION = "请核对后提交："
CHECK_LABEL = {"done": "已完成", "not_needed": "不需要"}


@dataclass(frozen=True)
class FormButton(CallbackData, prefix="tf"):
    """A form button: f(ill) `step` with `value`, e(dit) `step`, s(ubmit), c(ancel)."""

    topic_id: int
    action: str
    step: str = "-"
    value: str = "-"


@dataclass(frozen=True)
class StageButton(CallbackData, prefix="ts"):
    """通过 (ok) / 退回修改 (rt) / 不予上会 (no) at `stage` of a card drawn for `version`."""

    topic_id: int
    stage: int
    version: int
    action: str


@dataclass(frozen=True)
class TopicButton(CallbackData, prefix="tt"):
    """修改后重新提交 (rv, at `version`), 记录 (his) and its CSV (csv)."""

    topic_id: int
    version: int
    action: str


@dataclass(frozen=True)
class AgendaButton(CallbackData, prefix="ta"):
    """Agenda: up, dn, dt (meeting date), or an outcome code (p1 = 通过·需发文 …) at `version`."""

    topic_id: int
    version: int
    action: str


# ----- rendering -------------------------------------------------------------------------------


def _facts(topic: Topic, today: date) -> list[Line]:
    lines = [
        field("会议", topic.meeting_type or ""),
        field("议题", topic.title or ""),
        field("概要", topic.summary or ""),
        field("汇报部门", topic.department or ""),
        field("分管副区长", topic.deputy.name if topic.deputy else "未定"),
        field("事项类型", topic.matter_kind or ""),
        field("已征求意见", topic.consulted or ""),
    ]
    if topic.desired_date:
        lines.append(field("希望上会", month_day(topic.desired_date, today)))
    for material in checklist_for(topic.matter_kind or ""):
        state = topic.checklist.get(material.key)
        if state:
            reason = f"（{state['reason']}）" if state.get("reason") else ""
            lines.append(field(f"• {material.label}", f"{CHECK_LABEL[state['status']]}{reason}"))
    return lines


def form_screen(session: Session, found: Services, topic_id: int) -> View:
    """The form at the step it is at (bot.views.FormFlow.screen): what it asks, and a button per
    choice; at the confirmation the facts before 提交."""
    topic = session.get(Topic, topic_id)
    if topic is None:
        raise NotFound("这个议题已不存在，请重新发送 /topic。")
    step = topic.step or Step.CONFIRM

    def fill(label: str, value: object) -> Button:
        return Button(label, FormButton(topic.id, "f", step.replace(":", "."), str(value)))

    cancel = Button("取消", FormButton(topic.id, "c"))
    title = line(Strong(f"📋 议题申报 #{topic.id}"))
    rows: list[list[Button]] = []
    if step == Step.MEETING:
        rows = [[fill(m, i)] for i, m in enumerate(MEETING_TYPES)]
    elif step == Step.DEPARTMENT:
        # The requester's own department first, marked as the default.
        choices = enumerate(roster.departments(session, active_only=True))
        rows = sorted(
            ([fill(d + ("✓" if d == topic.department else ""), i)] for i, d in choices),
            key=lambda row: not row[0].label.endswith("✓"),
        )
    elif step == Step.DEPUTY:
        deputies = session.scalars(select(Person).where(Person.position.in_(("常务副区长", "副区长")), Person.active))
        rows = [[fill(f"{d.name}（{d.position}）" + ("✓" if topic.deputy_id == d.id else ""), d.id)] for d in deputies]
    elif step == Step.MATTER:
        rows = [[fill(k, i)] for i, k in enumerate(MATTER_KINDS)]
    elif step.startswith("check:"):
        material = item(step.split(":")[1])
        question: list[Line | str] = [
            line("材料：", Strong(material.label)),
            f"依据：{material.why}（{article_label(material.article)}）",
        ]
        return view([title, *question], [[fill("已完成", "done"), fill("不需要", "skip")], [cancel]])
    elif step.startswith("reason:"):
        material = item(step.split(":")[1])
        return view([title, f"请说明为什么不需要“{material.label}”（发送 /cancel 放弃）："], [[cancel]])
    elif step == Step.CONFIRM:
        edits = [Button(f"改{f.label}", FormButton(topic.id, "e", f.step)) for f in service.FORM.fields]
        facts = _facts(topic, found.clock.today())
        return view(
            [title, CONFIRM_QUESTION, *facts],
            [[Button("✅ 提交", FormButton(topic.id, "s")), cancel], edits[:4], edits[4:]],
        )
    field = service.FORM.field(step)
    assert field is not None
    hint = ["（随时可发送 /cancel 取消）"] if field.typed else []
    return view([title, field.question, *hint], [*rows, [cancel]])


def _stage_title(topic: Topic, stage_index: int) -> str:
    stage = topic.chain[stage_index]
    return (
        f"📋 议题{stage['action']} #{topic.id}（{topic.meeting_type}，"
        f"第{stage_index + 1}/{len(topic.chain)}步：{stage['role']}）"
    )


def _review_card(topic: Topic, card: Card, today: date) -> View:
    stage_index = card.stage or 0
    lines = [
        line(Strong(_stage_title(topic, stage_index))),
        field("申报人", topic.requester.name),
        *_facts(topic, today),
        field("依据", "第四十九条 " + service.route_text(topic)),
    ]
    history = [Button("📜 记录", TopicButton(topic.id, topic.version, "his"))]
    live = not card.retired and topic.status == TopicStatus.IN_REVIEW and topic.stage == stage_index
    if live:
        buttons = [
            Button(label, StageButton(topic.id, topic.stage, topic.version, action))
            for label, action in (("通过", "ok"), ("退回修改", "rt"), ("不予上会", "no"))
        ]
        return view(lines, [buttons, history], topic.version)
    lines.append(_stage_result(topic, stage_index, card.retired))
    return view(lines, [history], topic.version)


def _stage_result(topic: Topic, stage_index: int, retired: bool) -> Line:
    """What became of the stage a card was sent for, and where the topic is now."""
    passed = topic.status in (TopicStatus.ACCEPTED, TopicStatus.CONCLUDED) or (
        topic.status == TopicStatus.IN_REVIEW and topic.stage > stage_index
    )
    now = f"；议题现在：{_status_line(topic)}"
    if retired:
        return line("（议题已修改后重新提交，请以新的审核消息为准）" + now)
    if passed:
        return field("结果", Strong("通过"), f"（{topic.chain[stage_index]['person_name']}）{now}")
    return field("结果", Strong(STATUS_LABEL[TopicStatus(topic.status)]), now)


def _status_line(topic: Topic) -> str:
    status = TopicStatus(topic.status)
    if status == TopicStatus.IN_REVIEW:
        stage = service.current_stage(topic)
        return f"送{stage['role']} {stage['person_name']}{stage['action']}（第{topic.stage + 1}/{len(topic.chain)}步）"
    if topic.outcome and status in (TopicStatus.CONCLUDED, TopicStatus.ACCEPTED, TopicStatus.RETURNED):
        return f"{STATUS_LABEL[status]}（会议结果：{topic.outcome}）"
    return STATUS_LABEL[status]


def _requester_headline(topic: Topic) -> list[Line]:
    status, title = TopicStatus(topic.status), topic.title or ""
    if status == TopicStatus.IN_REVIEW:
        stage = service.current_stage(topic)
        who = f"{stage['role']} {stage['person_name']}{stage['action']}"
        return [line(f"📨 议题 #{topic.id} 已送{who}。"), field("流程（第四十九条）", service.route_text(topic))]
    if status == TopicStatus.ACCEPTED:
        return [line(f"✅ 议题 #{topic.id}“{title}”已确定提请{topic.meeting_type or ''}。")]
    if status == TopicStatus.RETURNED:
        return [line(f"↩️ 议题 #{topic.id} 被退回修改。")]
    if status == TopicStatus.REJECTED:
        return [line(f"⛔ 议题 #{topic.id} 不予上会。")]
    return [line(f"📋 议题 #{topic.id}“{title}”：{_status_line(topic)}")]


def _requester_card(session: Session, topic: Topic) -> View:
    lines = [*_requester_headline(topic), field("议题", f"{topic.title or ''}（{topic.meeting_type or ''}）")]
    events = events_of(session, Subject.TOPIC, topic.id)
    if events:
        last = events[-1]
        lines.append(
            field(
                "最近",
                f"{last.actor.name if last.actor else ''} {action_label(last.action)}"
                + (f"（{last.note}）" if last.note else ""),
            )
        )
    rows = [[Button("📜 记录", TopicButton(topic.id, topic.version, "his"))]]
    if topic.status == TopicStatus.RETURNED:
        rows.insert(0, [Button("修改后重新提交", TopicButton(topic.id, topic.version, "rv"))])
    return view(lines, rows, topic.version)


def render_card(session: Session, card: Card, row: OutboxMessage, context: WorkContext) -> View | None:
    topic = session.get(Topic, card.subject_id)
    if topic is None:
        return None
    if card.role == CardRole.APPROVAL:
        return _review_card(topic, card, context.now.date())
    return _requester_card(session, topic)


# ----- the form --------------------------------------------------------------------------------


def press_form(
    session: Session, found: Services, person: Person, data: FormButton, origin: tuple[int, int] | None = None
) -> str | None:
    """A form button, in any channel (bot.views.FormFlow.press): choices, checklist statuses, edit,
    submit, cancel. What the filler is told when the form ends; None: it shows its next step.
    `origin` (chat id, message id): the form message that becomes the requester's card; without one
    (a channel that cannot edit the form's message) the card is sent anew."""
    topic_id, step = data.topic_id, data.step.replace(".", ":")
    if data.action == "f":
        service.choose(session, person, topic_id, step, _button_value(session, step, data.value))
    elif data.action == "e":
        service.edit_field(session, person, topic_id, step)
    elif data.action == "c":
        service.cancel(session, person, topic_id)
        return "已取消这个议题。"
    elif data.action == "s":
        context = found.context(session)
        submitted = service.submit(session, person, topic_id, context, origin)
        if origin is None:
            outbox.send_card(session, Subject.TOPIC, topic_id, CardRole.REQUESTER, person, context.now)
        if submitted.reached:
            return f"已送{submitted.role} {submitted.person_name}{submitted.action}。"
        return f"已提交，但{submitted.role} {submitted.person_name} 尚未绑定账号，请线下报送。"
    else:
        raise InvalidInput("这个按钮已失效，请重新发送 /topic。")
    return None


@button(FormButton)
async def form_button(update: Update, context: ContextTypes.DEFAULT_TYPE, data: FormButton) -> str | None:
    """The form's buttons: the next step replaces the form's message; 取消 says so there."""
    query = update.callback_query
    assert query is not None and query.message is not None
    found = services(context)
    origin = (query.message.chat.id, query.message.message_id)

    def work(session: Session) -> str | None:
        return press_form(session, found, require_person(session, query.from_user.id), data, origin)

    told = await command(context, work)
    if told is None:
        await show_form(update, context, FORM_FLOW, data.topic_id, edit=True)
        return None
    if data.action == "c":
        await edit_html(update, told)
        return None
    return told


def _button_value(session: Session, step: str, value: str) -> str:
    """Buttons carry indexes and ids; turn them back into what the service takes."""
    options: dict[str, tuple[str, ...]] = {
        Step.MEETING: MEETING_TYPES,
        Step.MATTER: MATTER_KINDS,
        Step.DEPARTMENT: tuple(roster.departments(session, active_only=True)),
    }
    if step in options:
        choices = options[step]
        if not value.isdigit() or int(value) >= len(choices):
            raise InvalidInput("这个选项已失效，请重新选择。")
        return choices[int(value)]
    if step.startswith("check:"):
        if step.split(":")[1] not in {i.key for kind in MATTER_KINDS for i in checklist_for(kind)}:
            raise InvalidInput("这个选项已失效，请重新选择。")
        return "done" if value == "done" else "not_needed"
    if step == Step.DEPUTY and not value.isdigit():
        raise InvalidInput("这个选项已失效，请重新选择。")
    return value


def answer_prompt(session: Session, found: Services, actor: Person, pending: PendingInput, text: str) -> str | None:
    """A typed answer for the topic workflow, in any channel: a reason or a meeting date (what the
    person is told), or a form field (None: the form shows its next step)."""
    purpose, target, version = pending.purpose, pending.target_id, pending.target_version or 0
    if purpose == service.INPUT_PURPOSE:
        service.enter_text(session, actor, target, text, found.clock.today())
        return None
    if purpose == service.MEETING_DATE_PURPOSE:
        topic = service.set_meeting_date(session, actor, target, version, text, found.clock.today())
        return f"已将议题 #{topic.id} 安排在 {topic.meeting_date} 的{topic.meeting_type or ''}。"
    current = session.get(Topic, target)
    stage = current.stage if current else -1
    verdict = Verdict(purpose.split(":")[1])
    status = service.decide(session, target, stage, version, actor, verdict, found.context(session), text)
    return f"已处理议题 #{target}：{STATUS_LABEL[status]}。"


# ----- the chain, the requester, history ---------------------------------------------------------


def decide_by_button(session: Session, found: Services, actor: Person, data: StageButton) -> str:
    """通过 / 退回修改 / 不予上会 pressed on a review card, in any channel: 通过 decides the stage the
    card was sent for; the other two ask for the reason (answer_prompt). What the reviewer is told."""
    verdict = VERDICT_CODES.get(data.action)
    if verdict is None:
        raise InvalidInput("这个按钮已失效。")
    if verdict == Verdict.PASS:
        service.decide(session, data.topic_id, data.stage, data.version, actor, verdict, found.context(session))
        return "已通过"
    service.ask_reason(session, data.topic_id, data.stage, data.version, actor, verdict)
    label = "退回修改" if verdict == Verdict.RETURN else "不予上会"
    return f"请输入{label}的理由（议题 #{data.topic_id}，发送 /cancel 放弃）："


@button(StageButton)
async def stage_button(update: Update, context: ContextTypes.DEFAULT_TYPE, data: StageButton) -> str | None:
    """通过 / 退回修改 / 不予上会 at one stage (the latter two then ask for a reason)."""
    told = await card_action(update, context, decide_by_button, data)
    if VERDICT_CODES[data.action] == Verdict.PASS:
        return told
    assert update.callback_query is not None
    await send_html(context, update.callback_query.from_user.id, told)
    return None


def _history(session: Session, found: Services, person: Person, topic_id: int) -> View:
    """A topic's whole record, for someone involved in it (bot.privacy), with 导出 CSV."""
    topic, rows = service.history(session, topic_id, found.settings.timezone)
    privacy.require_on_item(person, service.involved(topic), "这个议题的记录")
    status = STATUS_LABEL[TopicStatus(topic.status)]
    lines: list[Line | str] = [line(Strong(f"📜 议题 #{topic.id}“{topic.title or ''}”全部记录（{status}）"))]
    lines += [f"{at} {who} {what}" + (f"：{note}" if note else "") for at, who, what, note in rows]
    return view(lines, [[Button("导出 CSV", TopicButton(topic.id, topic.version, "csv"))]])


def topic_action(session: Session, found: Services, person: Person, data: TopicButton) -> Outcome:
    """修改后重新提交 (the form opens again) and 📜 记录 (the record, as text: a channel that cannot
    send files shows no 导出 CSV), in any channel."""
    if data.action == "rv":
        return OpenForm(
            service.PREFIX, service.revise(session, person, data.topic_id, data.version, found.context(session))
        )
    if data.action == "his":
        return _history(session, found, person, data.topic_id).plain
    raise InvalidInput("这个按钮已失效。")


@button(TopicButton)
async def topic_button(update: Update, context: ContextTypes.DEFAULT_TYPE, data: TopicButton) -> str | None:
    """Revise a returned topic; show or export a topic's history."""
    query = update.callback_query
    assert query is not None and query.message is not None
    # Histories go to the private chat of whoever pressed (bot.privacy), also from a group.
    found, chat_id = services(context), query.from_user.id
    if data.action == "rv":
        opened = await card_action(update, context, topic_action, data)
        assert isinstance(opened, OpenForm)
        await show_form(update, context, FORM_FLOW, opened.record_id, edit=False)
        return None
    if data.action == "his":
        history = await command(context, lambda s: _history(s, found, require_person(s, chat_id), data.topic_id))
        await send_html(context, chat_id, *view_html(history))
        return _sent_privately(query)
    if data.action != "csv":
        raise InvalidInput("这个按钮已失效。")

    def load(session: Session) -> tuple[Topic, list[HistoryRow]]:
        person = require_person(session, query.from_user.id)
        topic, rows = service.history(session, data.topic_id, found.settings.timezone)
        privacy.require_on_item(person, service.involved(topic), "这个议题的记录")
        return topic, rows

    content, name = service.history_file(*await command(context, load))
    await context.bot.send_document(chat_id, content, filename=name)
    return _sent_privately(query)


def _sent_privately(query: CallbackQuery) -> str | None:
    """The press's answer when what it asked for went to the private chat instead of a group."""
    assert query.message is not None
    return privacy.GROUP_NOTE if query.message.chat.id != query.from_user.id else None


@registered_only
async def list_topics(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/topics: my topics; and a fresh review card for each topic waiting for me."""
    assert update.effective_user is not None and update.effective_chat is not None
    user_id, found = update.effective_user.id, services(context)

    def work(session: Session) -> tuple[int, tuple[str, InlineKeyboardMarkup] | None]:
        person = require_person(session, user_id)
        now = found.clock.now()
        waiting = service.awaiting(session, person)
        for topic in waiting:
            service.send_review_card(session, topic, now)
        mine = service.my_topics(session, person)
        if not mine:
            return len(waiting), None
        lines = [bold("我申报的议题")] + [
            f"#{t.id} {escape(t.title or '')}（{escape(t.meeting_type or '')}）：{escape(_status_line(t))}"
            for t in mine
        ]
        rows = [[(f"📜 #{t.id}", TopicButton(t.id, t.version, "his").pack())] for t in mine]
        return len(waiting), ("\n".join(lines), keyboard(rows))

    waiting, mine = await command(context, work)
    await send_overview(
        update,
        context,
        f"待您处理的议题有 {waiting} 个，审核消息随后发给您。" if waiting else None,
        mine,
        "没有议题记录，也没有待您处理的议题。",
    )


# ----- agenda ----------------------------------------------------------------------------------


@registered_only
async def show_agenda(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/agenda: accepted topics of each upcoming meeting in order (the 区长 and 办公室 can arrange them)."""
    assert update.effective_user is not None and update.effective_chat is not None
    user_id = update.effective_user.id

    def work(session: Session) -> tuple[list[Topic], bool]:
        person = require_person(session, user_id)
        return service.agenda(session), person.position in service.AGENDA_MANAGERS or person.is_admin

    topics, manager = await command(context, work)
    today = services(context).clock.today()
    if not topics:
        await tell(update, context, "目前没有已确定上会的议题。")
        return
    chat_id = await private_chat(update, context)
    heading = None
    for topic in topics:
        meeting = (
            f"{topic.meeting_type}（{month_day(topic.meeting_date, today) if topic.meeting_date else '会期未定'}）"
        )
        if meeting != heading:
            heading = meeting
            await send_html(context, chat_id, bold(f"📅 {meeting}"))
        text = f"{topic.agenda_order}. {escape(topic.title or '')}（{escape(topic.department or '')}）"
        markup = None
        if manager:

            def data(action: str, topic: Topic = topic) -> str:
                return AgendaButton(topic.id, topic.version, action).pack()

            markup = keyboard(
                [
                    [("⬆️", data("up")), ("⬇️", data("dn")), ("📅 会期", data("dt"))],
                    [("通过·需发文", data("p1")), ("通过", data("p0"))],
                    [("原则通过·需发文", data("a1")), ("原则通过", data("a0"))],
                    [("暂缓", data("d0")), ("不通过", data("n0"))],
                ]
            )
        await send_html(context, chat_id, text, markup)


@button(AgendaButton)
async def agenda_button(update: Update, context: ContextTypes.DEFAULT_TYPE, data: AgendaButton) -> str | None:
    """Arrange the agenda: move, set the meeting date, record the outcome."""
    query = update.callback_query
    assert query is not None
    found, action = services(context), data.action

    def work(session: Session) -> Topic:
        actor = require_person(session, query.from_user.id)
        if action in ("up", "dn"):
            return service.move(session, actor, data.topic_id, -1 if action == "up" else 1)
        if action == "dt":
            return service.await_meeting_date(session, actor, data.topic_id)
        if len(action) != 2 or action[0] not in service.OUTCOMES or action[1] not in "01":
            raise InvalidInput("这个按钮已失效。")
        return service.record_outcome(
            session, actor, data.topic_id, data.version, action[0], action[1] == "1", found.context(session)
        )

    topic = await command(context, work)
    if action == "dt":
        await send_html(
            context, query.from_user.id, f"请输入议题 #{topic.id} 的会议日期（如 12月15日，发送 /cancel 放弃）："
        )
        return None
    if action in ("up", "dn"):
        return "已调整顺序，发送 /agenda 查看"
    note = "，已生成5个工作日印发期限（第五十条）" if action[1] == "1" and topic.status == TopicStatus.CONCLUDED else ""
    await edit_html(update, f"{escape(topic.title or '')}：会议结果 {bold(topic.outcome or '')}{note}")
    return "已记录"


def build_handlers() -> list[BaseHandler]:
    return [
        CommandHandler("topic", form_command(FORM_FLOW, "请在与我的私聊中发送 /topic 申报议题。")),
        CommandHandler("topics", list_topics),
        CommandHandler("agenda", show_agenda),
        CallbackQueryHandler(form_button, pattern=FormButton.matches),
        CallbackQueryHandler(stage_button, pattern=StageButton.matches),
        CallbackQueryHandler(topic_button, pattern=TopicButton.matches),
        CallbackQueryHandler(agenda_button, pattern=AgendaButton.matches),
    ]


FORM_FLOW = FormFlow(
    commands=frozenset({"/topic", "申报议题"}),
    open=service.open_form,
    screen=form_screen,
    press=press_form,
    hooks=FormHooks(service.open_draft, service.cancel),
)

FEATURE = Feature(
    name="topics",
    handlers=build_handlers,
    models={Subject.TOPIC: Topic},
    forms={service.PREFIX: FORM_FLOW},
    text_routes={service.PREFIX: prompt_route(FORM_FLOW, answer_prompt)},
    replies={service.PREFIX: answer_prompt},
    actions={
        StageButton: CardAction(StageButton.parse, decide_by_button),
        TopicButton: CardAction(TopicButton.parse, topic_action),
    },
    cards={Subject.TOPIC: render_card},
    buttons=(FormButton, StageButton, TopicButton, AgendaButton),
)
