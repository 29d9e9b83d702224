"""Meeting topics end to end: Art. 49 routing per meeting type, materials, revision, agenda, outcomes."""

import pytest
from sqlalchemy import select

from bot.deadlines.models import Deadline
from bot.sandbox.client import buttons
from tests.handlers.conftest import LiveBot
from tests.handlers.leave_steps import NOT_A_REPLY, answer, press

HEAD, EXECUTIVE, DEPUTY, DIRECTOR, VICE_DIRECTOR, HOUSING_HEAD = 10001, 10002, 10003, 10005, 10006, 10009
FINANCE_HEAD = 10008
HOUSING = "区住房和城乡建设局"


def fill_topic(
    live_bot: LiveBot,
    user: int,
    meeting: str,
    title: str,
    matter: str = "工作汇报",
    skip: dict[str, str] | None = None,
    department: str = HOUSING,
    deputy: str = "张伟（副区长）",
) -> dict:
    """Fill a topic form for the requester's own department (offered first, as the default) and its
    分管副区长; returns the confirmation message."""
    client = live_bot.client
    form = answer(client, user, "/topic")
    form = press(client, user, form, meeting, "请输入议题名称")
    form = answer(client, user, title)
    form = answer(client, user, f"{title}的具体安排，请会议研究。")
    assert "汇报部门" in form["text"]
    assert next(iter(buttons(form))) == f"{department}✓", "the requester's own department is the default"
    form = press(client, user, form, f"{department}✓", "分管副区长")
    assert f"{deputy}✓" in buttons(form)
    form = press(client, user, form, f"{deputy}✓", "事项类型")
    form = press(client, user, form, matter, "已征求哪些部门的意见")
    form = answer(client, user, "区财政局、区自然资源局")
    form = answer(client, user, "2027-03-15")
    skip = skip or {}
    while "请核对后提交" not in form["text"]:
        material = form["text"].split("材料：")[1].split("\n")[0]
        if material in skip:
            form = press(client, user, form, "不需要", "请说明为什么不需要")
            form = answer(client, user, skip[material])
        else:
            form = _done(live_bot, user, form, form["text"])
    return form


def _done(live_bot: LiveBot, user: int, form: dict, before: str) -> dict:
    client = live_bot.client
    client.wait_callback_answer(client.press(user, form, buttons(form)["已完成"]))
    return client.wait_for(
        lambda: (m := client.message(user, form["message_id"]))["text"] != before and m, "the next item"
    )


def _number(message: dict) -> str:
    return message["text"].split("#")[1].split()[0].split("（")[0]


def _last_id(live_bot: LiveBot, chat: int) -> int:
    messages = live_bot.client.messages(chat)
    return messages[-1]["message_id"] if messages else 0


def _stage_message(live_bot: LiveBot, person: int, after: int, number: str) -> dict:
    return live_bot.client.wait_for(
        lambda: next(
            (
                m
                for m in live_bot.client.bot_messages(person, after)
                if f"#{number}（" in m["text"] and "通过" in buttons(m)
            ),
            None,
        ),
        f"topic #{number} at {person}",
    )


def _pass_chain(live_bot: LiveBot, number: str, people: list[int], start_after: dict[int, int]) -> None:
    for person in people:
        message = _stage_message(live_bot, person, start_after[person], number)
        start_after[person] = message["message_id"]
        press(live_bot.client, person, message, "通过", "结果：通过")


@pytest.mark.parametrize(
    ("meeting", "chain"),
    [
        ("全体会议", [HEAD]),
        ("常务会议", [DEPUTY, DIRECTOR, EXECUTIVE, HEAD]),
        ("区长办公会议", [DEPUTY, DIRECTOR, EXECUTIVE, HEAD]),
        ("专题会议", [VICE_DIRECTOR, DEPUTY]),
    ],
)
def test_each_meeting_type_goes_to_the_reviewers_and_deciders_of_article_49(
    live_bot: LiveBot, meeting: str, chain: list[int]
) -> None:
    client = live_bot.client
    marks = {p: _last_id(live_bot, p) for p in {*chain, HOUSING_HEAD}}
    confirm = fill_topic(live_bot, HOUSING_HEAD, meeting, f"{meeting}议题：老旧小区改造进展")
    number = _number(confirm)
    sent = press(client, HOUSING_HEAD, confirm, "✅ 提交", "流程（第四十九条）")
    assert (
        f"已送{'区长' if meeting == '全体会议' else '分管副区长' if meeting != '专题会议' else '办公室副主任'}"
        in sent["text"]
    )
    _pass_chain(live_bot, number, chain, marks)
    told = client.wait_for(
        lambda: [
            m
            for m in client.bot_messages(HOUSING_HEAD, marks[HOUSING_HEAD])
            if f"#{number}" in m["text"] and "已确定提请" in m["text"]
        ],
        "acceptance",
    )
    assert meeting in told[0]["text"]


def test_the_executive_deputy_who_is_also_the_deputy_in_charge_appears_once_and_the_chain_says_why(
    live_bot: LiveBot,
) -> None:
    client = live_bot.client
    marks = {p: _last_id(live_bot, p) for p in (DIRECTOR, EXECUTIVE, HEAD)}
    confirm = fill_topic(
        live_bot, FINANCE_HEAD, "常务会议", "年度预算调整", department="区财政局", deputy="李明华（常务副区长）"
    )
    sent = press(client, FINANCE_HEAD, confirm, "✅ 提交", "流程（第四十九条）")
    route = sent["text"].split("流程（第四十九条）：")[1].split("\n")[0]
    assert route == "办公室主任审核 → 常务副区长（兼分管副区长）确定 → 区长确定"
    _pass_chain(live_bot, _number(confirm), [DIRECTOR, EXECUTIVE, HEAD], dict(marks))
    card = _stage_message_any(live_bot, EXECUTIVE, marks[EXECUTIVE], _number(confirm))
    assert "第2/3步：常务副区长（兼分管副区长）" in card["text"]


def _stage_message_any(live_bot: LiveBot, person: int, after: int, number: str) -> dict:
    """The person's stage card of topic `number`, whether or not it has been acted on."""
    return next(m for m in live_bot.client.bot_messages(person, after) if f"#{number}（" in m["text"])


def test_normative_document_without_legality_review_is_refused_citing_article_19(live_bot: LiveBot) -> None:
    client = live_bot.client
    form = answer(client, HOUSING_HEAD, "/topic")
    form = press(client, HOUSING_HEAD, form, "常务会议", "请输入议题名称")
    form = answer(client, HOUSING_HEAD, "物业管理办法")
    form = answer(client, HOUSING_HEAD, "审议物业管理规范性文件")
    form = press(client, HOUSING_HEAD, form, f"{HOUSING}✓", "分管副区长")
    form = press(client, HOUSING_HEAD, form, "张伟（副区长）✓", "事项类型")
    form = press(client, HOUSING_HEAD, form, "规范性文件", "已征求哪些部门的意见")
    form = answer(client, HOUSING_HEAD, "无")
    form = answer(client, HOUSING_HEAD, "2027-04-01")
    assert "合法性审查意见" in form["text"] and "第十九条" in form["text"]
    refused = client.wait_callback_answer(client.press(HOUSING_HEAD, form, buttons(form)["不需要"]))
    assert "合法性审查意见不能免除" in refused["text"] and "第十九条" in refused["text"]
    assert "合法性审查意见" in client.message(HOUSING_HEAD, form["message_id"])["text"]
    cancelled = client.wait_callback_answer(client.press(HOUSING_HEAD, form, buttons(form)["取消"]))
    assert cancelled["answered"]


def test_return_revise_resubmit_and_every_step_is_in_the_history(live_bot: LiveBot) -> None:
    client = live_bot.client
    marks = {p: _last_id(live_bot, p) for p in (VICE_DIRECTOR, DEPUTY, HOUSING_HEAD)}
    confirm = fill_topic(
        live_bot,
        HOUSING_HEAD,
        "专题会议",
        "背街小巷整治方案",
        matter="重大决策",
        skip={"社会稳定风险评估": "不涉及群众切身利益", "相关部门意见（会签或书面意见）": "本部门职责范围内"},
    )
    assert "社会稳定风险评估：不需要（不涉及群众切身利益）" in confirm["text"]
    number = _number(confirm)
    press(client, HOUSING_HEAD, confirm, "✅ 提交", "流程（第四十九条）")
    review = _stage_message(live_bot, VICE_DIRECTOR, marks[VICE_DIRECTOR], number)
    wrong = client.wait_callback_answer(client.press(DEPUTY, review, buttons(review)["通过"], forged=True))
    assert "应由办公室副主任 孙丽处理" in wrong["text"]
    client.wait_callback_answer(client.press(VICE_DIRECTOR, review, buttons(review)["退回修改"]))
    answer(client, VICE_DIRECTOR, "请补充资金测算")
    returned = client.wait_for(
        lambda: [
            m for m in client.bot_messages(HOUSING_HEAD, marks[HOUSING_HEAD]) if f"#{number} 被退回修改" in m["text"]
        ],
        "the return",
    )[0]
    assert "请补充资金测算" in returned["text"]
    redrawn = client.wait_edit(review, "结果：已退回修改")
    assert "通过" not in buttons(redrawn), "a handled card loses its buttons"
    stale = client.wait_callback_answer(client.press(VICE_DIRECTOR, review, buttons(review)["通过"], forged=True))
    assert "已经处理过" in stale["text"]
    client.wait_callback_answer(client.press(HOUSING_HEAD, returned, buttons(returned)["修改后重新提交"]))
    form = client.wait_for(
        lambda: [m for m in client.bot_messages(HOUSING_HEAD, returned["message_id"]) if "请核对后提交" in m["text"]],
        "the form",
    )[0]
    form = press(client, HOUSING_HEAD, form, "改概要", "请输入议题概要")
    form = answer(client, HOUSING_HEAD, "整治方案，含资金测算1200万元")
    marks[VICE_DIRECTOR] = _last_id(live_bot, VICE_DIRECTOR)
    press(client, HOUSING_HEAD, form, "✅ 提交", "流程（第四十九条）")
    _pass_chain(live_bot, number, [VICE_DIRECTOR, DEPUTY], marks)
    asked = client.send(HOUSING_HEAD, "/topics")
    mine = client.wait_message(HOUSING_HEAD, asked["message_id"], "我申报的议题")
    client.wait_callback_answer(client.press(HOUSING_HEAD, mine, buttons(mine)[f"📜 #{number}"]))
    history = client.wait_for(
        lambda: [m for m in client.bot_messages(HOUSING_HEAD, mine["message_id"]) if "全部记录" in m["text"]], "history"
    )[0]
    for expected in (
        "孙丽 办公室副主任退回修改：请补充资金测算",
        "孙丽 办公室副主任审核通过",
        "张伟 分管副区长确定通过",
        "吴刚 提交",
        "吴刚 修改",
    ):
        assert expected in history["text"]


def _agenda(live_bot: LiveBot, user: int, expect: list[str]) -> list[dict]:
    """Send /agenda and wait for the messages naming every title in `expect`."""
    client = live_bot.client
    asked = client.send(user, "/agenda")

    def complete() -> list[dict] | None:
        # Cards of the user's own topics may arrive meanwhile; the agenda is the rest.
        messages = [m for m in client.bot_messages(user, asked["message_id"]) if not m["text"].startswith(NOT_A_REPLY)]
        return messages if all(any(t in m["text"] for m in messages) for t in expect) else None

    return client.wait_for(complete, "the agenda")


def _position(messages: list[dict], text: str) -> int:
    return next(i for i, m in enumerate(messages) if text in m["text"])


def test_agenda_order_date_and_outcome_that_creates_the_issuance_deadline(live_bot: LiveBot) -> None:
    client = live_bot.client
    titles = ["议程一：年度工作部署", "议程二：安全生产"]
    for title in titles:
        marks = {HEAD: _last_id(live_bot, HEAD)}
        confirm = fill_topic(live_bot, HOUSING_HEAD, "全体会议", title)
        press(client, HOUSING_HEAD, confirm, "✅ 提交", "流程（第四十九条）")
        _pass_chain(live_bot, _number(confirm), [HEAD], marks)
    staff_view = _agenda(live_bot, HOUSING_HEAD, titles)
    assert "reply_markup" not in staff_view[_position(staff_view, titles[1])]
    agenda = _agenda(live_bot, DIRECTOR, titles)
    assert _position(agenda, titles[0]) < _position(agenda, titles[1])
    second = agenda[_position(agenda, titles[1])]
    client.wait_callback_answer(client.press(DIRECTOR, second, buttons(second)["⬆️"]))
    agenda = _agenda(live_bot, DIRECTOR, titles)
    assert _position(agenda, titles[1]) < _position(agenda, titles[0])
    client.wait_callback_answer(client.press(DIRECTOR, second, buttons(second)["📅 会期"]))
    assert "已将议题" in answer(client, DIRECTOR, "2027-03-22")["text"]
    agenda = _agenda(live_bot, DIRECTOR, titles)
    dated = _position(agenda, "全体会议（2027年3月22日）")
    assert _position(agenda, titles[1]) == dated + 1
    assert _position(agenda, "全体会议（会期未定）") < _position(agenda, titles[0])
    item = agenda[dated + 1]
    refused = client.wait_callback_answer(client.press(HOUSING_HEAD, item, buttons(item)["暂缓"], forged=True))
    assert "只有区长或区政府办公室" in refused["text"]
    live_bot.services.clock.set(live_bot.services.clock.now().replace(year=2027, month=3, day=22, hour=17))
    done = press(client, DIRECTOR, item, "通过·需发文", "会议结果 通过")
    assert "5个工作日印发期限（第五十条）" in done["text"]
    with live_bot.services.database.session() as session:
        deadline = session.scalars(select(Deadline).where(Deadline.title == f"印发议题文件：{titles[1]}")).one()
    assert (deadline.rule_key, deadline.article, deadline.department) == ("meeting_documents", 50, HOUSING)
    assert deadline.due_date.isoformat() == "2027-03-29"
    twice = client.wait_callback_answer(client.press(DIRECTOR, item, buttons(item)["通过·需发文"], forged=True))
    assert "不在待开会议程中" in twice["text"]


def test_topic_form_and_review_buttons_survive_restarts(live_bot: LiveBot) -> None:
    client = live_bot.client
    form = answer(client, HOUSING_HEAD, "/topic")
    form = press(client, HOUSING_HEAD, form, "全体会议", "请输入议题名称")
    live_bot.restart()
    form = answer(client, HOUSING_HEAD, "重启后的议题")
    assert "请输入议题概要" in form["text"]
    # Wait for the cancellation itself (a card may arrive first), or the next /topic may resume the form.
    assert "已取消" in answer(client, HOUSING_HEAD, "/cancel")["text"]
    marks = {HEAD: _last_id(live_bot, HEAD)}
    confirm = fill_topic(live_bot, HOUSING_HEAD, "全体会议", "重启前提交的议题")
    number = _number(confirm)
    press(client, HOUSING_HEAD, confirm, "✅ 提交", "流程（第四十九条）")
    review = _stage_message(live_bot, HEAD, marks[HEAD], number)
    live_bot.restart()
    press(client, HEAD, review, "通过", "结果：通过")
