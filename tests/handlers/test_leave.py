"""Leave reports end to end through the sandbox: routing, decisions, conflicts, 销假, reminders, export."""

import csv
import io
from datetime import datetime

import httpx
import openpyxl
import pytest

from bot.sandbox.client import buttons
from tests.handlers.conftest import OFFICE_GROUP, PRIVATE, LiveBot
from tests.handlers.leave_steps import answer, fill_form, press, submit

HEAD, EXECUTIVE, DEPUTY, DEPUTY_B, DIRECTOR = 10001, 10002, 10003, 10004, 10005
VICE_DIRECTOR, FINANCE_HEAD, STAFF = 10006, 10008, 10010


def _approval(live_bot: LiveBot, approver: int, after: int, request_no: str) -> dict:
    """The approval card of request `request_no`, once it has arrived (notices may come first)."""
    client = live_bot.client
    return client.wait_for(
        lambda: next((m for m in client.bot_messages(approver, after) if f"请假审批 #{request_no}" in m["text"]), None),
        f"the approval card of #{request_no}",
    )


def _last_id(live_bot: LiveBot, chat: int) -> int:
    messages = live_bot.client.messages(chat)
    return messages[-1]["message_id"] if messages else 0


def _number(message: dict) -> str:
    return message["text"].split("#")[1].split()[0]


def test_deputy_travel_is_approved_by_the_district_head_and_the_acting_partner_is_told(live_bot: LiveBot) -> None:
    client = live_bot.client
    before_head, before_b, before_group = (
        _last_id(live_bot, HEAD),
        _last_id(live_bot, DEPUTY_B),
        _last_id(live_bot, OFFICE_GROUP),
    )
    confirm = fill_form(
        client, DEPUTY, "离包外出", "12月3日", "12月5日", "赴北京参加培训", destination="北京", acting="刘洋"
    )
    assert "代行职责：刘洋" in confirm["text"]
    number = _number(confirm)
    sent = submit(client, DEPUTY, confirm, "已提交给 王建国 审批")
    assert "须事先向区长请示" in sent["text"]
    approval = _approval(live_bot, HEAD, before_head, number)
    assert "第七十九条" in approval["text"] and "目的地：北京" in approval["text"]
    decided = press(client, HEAD, approval, "批准", "结果：已批准（王建国")
    assert "reply_markup" not in decided
    client.wait_message(DEPUTY_B, before_b, "张伟副区长 12月3日–12月5日 离包外出，期间由您代行职责")
    client.wait_message(OFFICE_GROUP, before_group, "期间由 刘洋 代行职责")


@pytest.mark.parametrize(
    ("user", "kind", "meeting", "approver", "basis"),
    [
        (STAFF, "事假", None, FINANCE_HEAD, "由本部门主要负责人审批"),
        (VICE_DIRECTOR, "会议请假", "常务会议", DIRECTOR, "应向办公室主任请假（第五十一条）"),
        (FINANCE_HEAD, "会议请假", "全体会议", HEAD, "应向会议主持人（区长）请假（第五十一条）"),
        (EXECUTIVE, "休假", None, HEAD, "向区长请假（第七十九条）"),
    ],
)
def test_each_kind_and_position_is_routed_to_the_approver_the_rules_name(
    live_bot: LiveBot, user: int, kind: str, meeting: str | None, approver: int, basis: str
) -> None:
    client = live_bot.client
    before = _last_id(live_bot, approver)
    confirm = fill_form(client, user, kind, "2027-02-01", "2027-02-01 上午", "家中有事", meeting=meeting)
    sent = submit(client, user, confirm, "已提交给")
    assert basis in sent["text"]
    approval = _approval(live_bot, approver, before, _number(confirm))
    assert "2月1日–2月1日上午" in approval["text"] or "2月1日上午" in approval["text"]
    withdrawn = client.ask(user, "/leaves")
    mine = next(m for m in withdrawn if "我的请假" in m["text"])
    pressed = client.wait_callback_answer(client.press(user, mine, buttons(mine)[f"撤回 #{_number(confirm)}"]))
    assert pressed["text"] == "已撤回"
    client.wait_edit(approval, "已撤回")


def test_district_heads_own_trip_is_filed_with_the_executive_deputy_acting(live_bot: LiveBot) -> None:
    client = live_bot.client
    before = _last_id(live_bot, EXECUTIVE)
    confirm = fill_form(
        client,
        HEAD,
        "离包外出",
        "2027-03-01",
        "2027-03-02",
        "赴呼和浩特汇报工作",
        destination="呼和浩特",
        acting="李明华",
    )
    filed = submit(client, HEAD, confirm, "已备案")
    assert "第九条" in filed["text"]
    client.wait_message(EXECUTIVE, before, "期间由您代行职责")


def test_reject_needs_a_reason_and_the_requester_sees_it(live_bot: LiveBot) -> None:
    client = live_bot.client
    before_head, before_deputy = _last_id(live_bot, HEAD), _last_id(live_bot, DEPUTY)
    confirm = fill_form(client, DEPUTY, "事假", "2027-04-06", "2027-04-06", "办理私事")
    submit(client, DEPUTY, confirm, "已提交")
    approval = _approval(live_bot, HEAD, before_head, _number(confirm))
    client.wait_callback_answer(client.press(HEAD, approval, buttons(approval)["不批准"]))
    client.wait_message(HEAD, approval["message_id"], "请输入不批准的理由")
    done = answer(client, HEAD, "当天有常务会议")
    assert "不批准" in done["text"]
    client.wait_message(DEPUTY, before_deputy, "结果：不批准（王建国", "理由：当天有常务会议")


def test_send_back_revise_and_resubmit(live_bot: LiveBot) -> None:
    client = live_bot.client
    before_head = _last_id(live_bot, HEAD)
    confirm = fill_form(client, DEPUTY, "出国（境）", "2027-05-10", "2027-05-14", "考察", destination="新加坡")
    number = _number(confirm)
    card = submit(client, DEPUTY, confirm, "已提交")
    approval = _approval(live_bot, HEAD, before_head, number)
    client.wait_callback_answer(client.press(HEAD, approval, buttons(approval)["退回补充"]))
    answer(client, HEAD, "请补充外事审批文件号")
    returned = client.wait_edit(card, "已退回补充")
    client.wait_callback_answer(client.press(DEPUTY, returned, buttons(returned)["修改后重新提交"]))
    form = client.wait_message(DEPUTY, returned["message_id"], "请核对后提交")
    assert "请核对后提交" in form["text"]
    form = press(client, DEPUTY, form, "改事由", "请输入事由")
    form = answer(client, DEPUTY, "考察（外事批件：昆外字〔2027〕3号）")
    before_head = _last_id(live_bot, HEAD)
    submit(client, DEPUTY, form, "已提交")
    again = _approval(live_bot, HEAD, before_head, number)
    assert "昆外字〔2027〕3号" in again["text"]
    press(client, HEAD, again, "批准", "结果：已批准")


def test_overlapping_leave_of_the_same_person_is_refused(live_bot: LiveBot) -> None:
    client = live_bot.client
    first = fill_form(client, VICE_DIRECTOR, "休假", "2027-06-07", "2027-06-09", "年休假")
    submit(client, VICE_DIRECTOR, first, "已提交")
    second = fill_form(client, VICE_DIRECTOR, "事假", "2027-06-09 下午", "2027-06-10", "私事")
    client.wait_callback_answer(client.press(VICE_DIRECTOR, second, buttons(second)["✅ 提交"]))
    answer_text = client.wait_callback_answer(client.press(VICE_DIRECTOR, second, buttons(second)["✅ 提交"]))
    assert "时间重叠" in (answer_text.get("text") or "")
    assert "请核对后提交" in client.message(VICE_DIRECTOR, second["message_id"])["text"]


def test_ab_partners_away_together_are_flagged_and_the_executive_deputy_acts(live_bot: LiveBot) -> None:
    client = live_bot.client
    first = fill_form(
        client, DEPUTY_B, "离包外出", "2027-07-05", "2027-07-07", "招商", destination="深圳", acting="张伟"
    )
    submit(client, DEPUTY_B, first, "已提交")
    before_head, before_exec = _last_id(live_bot, HEAD), _last_id(live_bot, EXECUTIVE)
    # The form offers the 常务副区长, not the partner who is away (Art. 79).
    second = fill_form(
        client, DEPUTY, "离包外出", "2027-07-06", "2027-07-08", "学习", destination="上海", acting="李明华（默认）"
    )
    sent = submit(client, DEPUTY, second, "已提交")
    assert "AB角 刘洋 同期也不在岗" in sent["text"]
    approval = _approval(live_bot, HEAD, before_head, _number(second))
    assert "由常务副区长 李明华代行职责（第七十九条）" in approval["text"]
    decided = press(client, HEAD, approval, "批准", "结果：已批准")
    assert "代行职责：李明华" in decided["text"]
    client.wait_message(EXECUTIVE, before_exec, "期间由您代行职责")


def test_decision_twice_by_the_wrong_person_or_forged_changes_nothing(live_bot: LiveBot) -> None:
    client = live_bot.client
    before_head = _last_id(live_bot, HEAD)
    confirm = fill_form(client, DEPUTY, "病假", "2027-08-02", "2027-08-03", "住院")
    number = _number(confirm)
    submit(client, DEPUTY, confirm, "已提交")
    approval = _approval(live_bot, HEAD, before_head, number)
    approve = buttons(approval)["批准"]
    wrong = client.wait_callback_answer(client.press(DEPUTY_B, approval, approve, forged=True))
    assert "不是这份请假的审批人" in wrong["text"]
    forged_other = client.wait_callback_answer(client.press(DEPUTY, approval, approve, forged=True))
    assert "不是这份请假的审批人" in forged_other["text"]
    press(client, HEAD, approval, "批准", "结果：已批准")
    again = client.wait_callback_answer(client.press(HEAD, approval, approve, forged=True))
    assert "已经处理过（已批准）" in again["text"]
    reject = client.wait_callback_answer(client.press(HEAD, approval, approve.replace(":ok", ":no"), forged=True))
    assert "已经处理过" in reject["text"]


def test_form_and_buttons_survive_a_restart(live_bot: LiveBot) -> None:
    client = live_bot.client
    form = answer(client, STAFF, "/leave")
    form = press(client, STAFF, form, "病假", "请输入开始日期")
    live_bot.restart()
    form = answer(client, STAFF, "2027-09-01")
    assert "请输入结束日期" in form["text"]
    live_bot.restart()
    form = answer(client, STAFF, "2027-09-02")
    form = answer(client, STAFF, "感冒")
    form = press(client, STAFF, form, "无需代行", "请核对后提交")
    before_head = _last_id(live_bot, FINANCE_HEAD)
    submit(client, STAFF, form, "已提交")
    approval = _approval(live_bot, FINANCE_HEAD, before_head, _number(form))
    live_bot.restart()
    press(client, FINANCE_HEAD, approval, "批准", "结果：已批准")


def test_bad_dates_are_explained_and_asked_again(live_bot: LiveBot) -> None:
    client = live_bot.client
    form = answer(client, DIRECTOR, "/leave")
    form = press(client, DIRECTOR, form, "事假", "请输入开始日期")
    assert "没有看懂日期" in answer(client, DIRECTOR, "某天")["text"]
    assert "已经过去了" in answer(client, DIRECTOR, "2026-11-02")["text"]
    assert "请输入结束日期" in answer(client, DIRECTOR, "2027-10-11 下午")["text"]
    assert "早于开始时间" in answer(client, DIRECTOR, "2027-10-11 上午")["text"]
    assert "请输入事由" in answer(client, DIRECTOR, "2027-10-12")["text"]
    cancelled = [answer(client, DIRECTOR, "/cancel")]
    assert "已取消" in cancelled[0]["text"]
    question = answer(client, DIRECTOR, "会议纪要由谁签发？")
    assert "第五十条" in question["text"]


def test_unbound_account_cannot_file_a_leave(live_bot: LiveBot) -> None:
    [refused] = live_bot.client.ask(PRIVATE["visitor"], "/leave")
    assert "还没有绑定" in refused["text"]


def test_return_report_reaches_the_approver_and_overdue_return_is_reminded(live_bot: LiveBot) -> None:
    client, clock = live_bot.client, live_bot.services.clock
    before_head = _last_id(live_bot, HEAD)
    first = fill_form(client, DEPUTY_B, "休假", "2027-11-01", "2027-11-02", "年休假")
    submit(client, DEPUTY_B, first, "已提交")
    press(client, HEAD, _approval(live_bot, HEAD, before_head, _number(first)), "批准", "结果：已批准")
    before_head = _last_id(live_bot, HEAD)
    refused = answer(client, DEPUTY_B, "/back")
    assert "还没有开始，不能销假" in refused["text"], "销假 before the leave has started is refused"
    clock.set(datetime(2027, 11, 3, 10, 0))
    prompt = answer(client, DEPUTY_B, "/back")
    assert "销假" in prompt["text"]
    done = answer(client, DEPUTY_B, "已返回，期间无重要情况")
    assert "已销假" in done["text"]
    client.wait_message(HEAD, before_head, "刘洋 已销假", "期间无重要情况")
    client.wait_message(OFFICE_GROUP, 0, "刘洋副区长 已销假返岗")  # the office hears the leave ended

    clock.set(datetime(2027, 11, 3, 10, 0))
    before_head = _last_id(live_bot, HEAD)
    second = fill_form(client, DEPUTY_B, "事假", "2027-11-10", "2027-11-10", "私事")
    submit(client, DEPUTY_B, second, "已提交")
    press(client, HEAD, _approval(live_bot, HEAD, before_head, _number(second)), "批准", "结果：已批准")
    before_b, before_head = _last_id(live_bot, DEPUTY_B), _last_id(live_bot, HEAD)
    number = _number(second)

    def about(chat: int, text: str) -> list[dict]:
        return [
            m
            for m in client.bot_messages(chat, before_b if chat == DEPUTY_B else before_head)
            if f"#{number}" in m["text"] and text in m["text"]
        ]

    clock.set(datetime(2027, 11, 11, 8, 30))  # the next working day, but before working hours
    live_bot.deliver()
    assert about(DEPUTY_B, "期限已过") == []
    clock.set(datetime(2027, 11, 11, 9, 5))
    live_bot.deliver()  # (the bot's own loop may have sent it first: one worker, one at a time)
    [reminder] = about(DEPUTY_B, "期限已过")
    assert about(HEAD, "逾期未办结") == [], "the approver is told only a working day later"
    clock.set(datetime(2027, 11, 12, 9, 5))
    live_bot.deliver()
    assert len(about(HEAD, "逾期未办结")) == 1
    clock.set(datetime(2027, 11, 15, 9, 5))
    client.wait_callback_answer(client.press(DEPUTY_B, reminder, buttons(reminder)["销假"]))
    assert "已销假" in answer(client, DEPUTY_B, "无")["text"]
    client.wait_edit(reminder, "已办结")
    live_bot.deliver()
    # One reminder and one escalation, each redrawn as done once 销假 closed the item; no more.
    assert (
        len(about(DEPUTY_B, "到期：")) == 1
        and "期限已过" not in client.message(DEPUTY_B, reminder["message_id"])["text"]
    )
    assert len(about(HEAD, "到期：")) == 1


def test_admin_exports_a_period_as_csv_and_excel(live_bot: LiveBot) -> None:
    client = live_bot.client
    before_head = _last_id(live_bot, HEAD)
    confirm = fill_form(
        client, DEPUTY_B, "离包外出", "2027-12-27", "2027-12-28", "审计对接", destination="包头市区外", acting="张伟"
    )
    submit(client, DEPUTY_B, confirm, "已提交")
    press(client, HEAD, _approval(live_bot, HEAD, before_head, _number(confirm)), "批准", "结果：已批准")
    [refused] = client.ask(STAFF, "/export 2027-12-25 2027-12-31")
    assert "只有管理员" in refused["text"]
    [document] = client.ask(DIRECTOR, "/export 2027-12-25 2027-12-31 csv")
    content = httpx.get(f"{live_bot.running.server.url}/sandbox/api/files/{document['document']['file_id']}").content
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["编号", "申请人", "职务"]
    row = next(r for r in rows[1:] if r[0] == _number(confirm))
    assert row[1:3] == ["刘洋", "副区长"] and row[4] == "离包外出" and row[9] == "张伟"
    assert row[10] == "王建国" and row[11] == "已批准" and row[14] == "第七十九条"
    [xlsx] = client.ask(DIRECTOR, "/export 2027-12-25 2027-12-31")
    assert xlsx["document"]["file_name"].endswith(".xlsx")


def test_exported_files_keep_formula_text_typed_into_a_leave_as_inert_text(live_bot: LiveBot) -> None:
    client = live_bot.client
    destination, reason = '=HYPERLINK("http://evil.example","点我")', "=1+2"
    answer(client, VICE_DIRECTOR, "/cancel")  # an earlier test may have left a form open
    confirm = fill_form(client, VICE_DIRECTOR, "离包外出", "2027-12-29", "2027-12-30", reason, destination=destination)
    submit(client, VICE_DIRECTOR, confirm, "已提交")
    xlsx = _document(client, DIRECTOR, "/export 2027-12-29 2027-12-30")
    content = httpx.get(f"{live_bot.running.server.url}/sandbox/api/files/{xlsx['document']['file_id']}").content
    sheet = openpyxl.load_workbook(io.BytesIO(content)).active
    cells = [cell for row in sheet.iter_rows() for cell in row]
    assert [c.coordinate for c in cells if c.data_type == "f"] == [], "a cell from user text is a live formula"
    assert {destination, reason} <= {c.value for c in cells}
    document = _document(client, DIRECTOR, "/export 2027-12-29 2027-12-30 csv")
    content = httpx.get(f"{live_bot.running.server.url}/sandbox/api/files/{document['document']['file_id']}").content
    row = next(r for r in csv.reader(io.StringIO(content.decode("utf-8-sig"))) if r[0] == _number(confirm))
    assert (row[7], row[8]) == ("'" + destination, "'" + reason)


def _document(client, user: int, command: str) -> dict:
    """The file the bot sends for `command` (an approval card may arrive in between)."""
    sent = client.send(user, command)
    return client.wait_for(
        lambda: next((m for m in client.bot_messages(user, sent["message_id"]) if "document" in m), None), command
    )
