"""Hostile presses through the Bot API server, on SQLite and PostgreSQL: five presses of one button
arrive together, two decisions race, two partners submit at once. Exactly one wins, its messages
go out once, and every other press is told the item was already handled.

The items are set up through the domain (quicker than typing forms); every press is real HTTP.
"""

from collections.abc import Callable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.db import PendingInput, Person
from bot.deadlines.models import Deadline
from bot.leave import service as leave
from bot.leave.models import LeaveRequest
from bot.sandbox.client import Message, SandboxClient, buttons
from bot.services import Services
from bot.topics import service as topics
from bot.topics.models import Topic
from bot.workflow.models import Subject, WorkflowEvent
from tests.handlers.conftest import OFFICE_GROUP, LiveBot
from tests.handlers.leave_steps import answer

HEAD, EXECUTIVE, DEPUTY, DEPUTY_B, DIRECTOR = 10001, 10002, 10003, 10004, 10005
VICE_DIRECTOR, FINANCE_HEAD, HOUSING_HEAD, STAFF = 10006, 10008, 10009, 10010
PRESSES = 5


def _person(session: Session, telegram_id: int) -> Person:
    return session.scalars(select(Person).where(Person.telegram_user_id == telegram_id)).one()


def _draft_leave(
    found: Services, who: int, kind: str, start: str, end: str, acting: int | None = None, reason: str = "测试事由"
) -> Callable[[Session], int]:
    """A completed leave form of `who`, not yet submitted."""
    today = found.clock.today()

    def work(session: Session) -> int:
        person = _person(session, who)
        draft = leave.open_form(session, person)
        leave.choose_kind(session, person, draft, kind)
        for text in (start, end, *(["某地"] if kind in ("离包外出", "出国（境）") else []), reason):
            leave.enter_text(session, person, draft, text, today)
        leave.choose_acting(session, person, draft, _person(session, acting).id if acting else None)
        return draft

    return work


def _file_leave(
    found: Services, who: int, kind: str, start: str, end: str, acting: int | None = None, reason: str = "测试事由"
) -> int:
    draft = found.run(_draft_leave(found, who, kind, start, end, acting, reason))
    found.run(lambda session: leave.submit(session, _person(session, who), draft, found.context(session)))
    return draft


def _card(client: SandboxClient, chat: int, *contains: str) -> Message:
    return client.wait_message(chat, 0, *contains)


def _press_together(client: SandboxClient, user: int, message: Message, data: str) -> list[dict]:
    """Press the same button PRESSES times back to back (the bot takes them concurrently). They come
    from the view the user had: the first may have redrawn the message before the last arrives."""
    queries = [client.press(user, message, data, forged=True) for _ in range(PRESSES)]
    return [client.wait_callback_answer(q) for q in queries]


def _one_winner(answers: list[dict]) -> dict:
    """Exactly one press did it; the others were told it was already handled (never the apology)."""
    winners = [a for a in answers if not a["show_alert"]]
    losers = [a for a in answers if a["show_alert"]]
    assert len(winners) == 1, answers
    assert all("处理过" in (a["text"] or "") or "已经" in (a["text"] or "") for a in losers), answers
    return winners[0]


def _count(client: SandboxClient, chat: int, after: int, *contains: str) -> int:
    return len([m for m in client.bot_messages(chat, after) if all(c in m.get("text", "") for c in contains)])


def _last_id(client: SandboxClient, chat: int) -> int:
    messages = client.messages(chat)
    return messages[-1]["message_id"] if messages else 0


def test_five_approvals_approve_once_and_tell_everyone_once(live_bot: LiveBot) -> None:
    client = live_bot.client
    marks = {chat: _last_id(client, chat) for chat in (DEPUTY, DEPUTY_B, OFFICE_GROUP)}
    request_id = _file_leave(live_bot.services, DEPUTY, "离包外出", "2027-12-01", "2027-12-02", acting=DEPUTY_B)
    card = _card(client, HEAD, f"请假审批 #{request_id}")
    winner = _one_winner(_press_together(client, HEAD, card, buttons(card)["批准"]))
    assert winner["text"] == "已批准"
    live_bot.deliver()  # everything the presses queued has gone out
    assert _count(client, DEPUTY, marks[DEPUTY], f"#{request_id}", "结果：已批准") == 1
    assert _count(client, DEPUTY_B, marks[DEPUTY_B], "期间由您代行职责") == 1
    assert _count(client, OFFICE_GROUP, marks[OFFICE_GROUP], "张伟副区长 2027年12月1日–2027年12月2日") == 1
    with live_bot.services.database.session() as session:
        owed = session.scalar(select(func.count()).where(Deadline.source == f"leave:{request_id}"))
        approvals = session.scalar(
            select(func.count()).where(
                WorkflowEvent.subject == Subject.LEAVE,
                WorkflowEvent.subject_id == request_id,
                WorkflowEvent.action == "approve",
            )
        )
    assert (owed, approvals) == (1, 1)
    assert "reply_markup" not in client.wait_edit(card, "结果：已批准")


def test_approve_and_reject_together_give_one_outcome_and_no_stray_prompt(live_bot: LiveBot) -> None:
    client = live_bot.client
    request_id = _file_leave(live_bot.services, FINANCE_HEAD, "事假", "2027-12-03", "2027-12-03")
    card = _card(client, HEAD, f"请假审批 #{request_id}")
    approve, reject = buttons(card)["批准"], buttons(card)["不批准"]
    queries = [client.press(HEAD, card, data) for data in (reject, approve, reject, approve)]
    [client.wait_callback_answer(q) for q in queries]
    with live_bot.services.database.session() as session:
        status = session.get(LeaveRequest, request_id).status
        prompt = session.get(PendingInput, _person(session, HEAD).id)
    assert status == "approved"
    assert prompt is None, "the approval cleared the reason prompt of the refusal it beat"
    question = client.send(HEAD, "会议纪要由谁签发？")
    assert "第五十条" in client.wait_message(HEAD, question["message_id"], "第五十条")["text"]


def test_double_tap_on_submit_sends_one_card(live_bot: LiveBot) -> None:
    client = live_bot.client
    found = live_bot.services
    draft = found.run(_draft_leave(live_bot.services, VICE_DIRECTOR, "休假", "2027-12-06", "2027-12-07"))
    [form] = client.ask(VICE_DIRECTOR, "/leave")
    before = _last_id(client, DIRECTOR)
    _one_winner(_press_together(client, VICE_DIRECTOR, form, buttons(form)["✅ 提交"]))
    live_bot.deliver()  # everything the presses queued has gone out
    assert _count(client, DIRECTOR, before, f"请假审批 #{draft}") == 1
    with found.database.session() as session:
        assert session.get(LeaveRequest, draft).status == "pending"


def test_two_ab_partners_submitting_at_once_are_flagged(live_bot: LiveBot) -> None:
    client = live_bot.client
    found = live_bot.services
    drafts = {
        who: found.run(_draft_leave(live_bot.services, who, "离包外出", "2027-12-08", "2027-12-09"))
        for who in (DEPUTY, DEPUTY_B)
    }
    forms = {who: client.ask(who, "/leave")[0] for who in drafts}
    queries = [client.press(who, forms[who], buttons(forms[who])["✅ 提交"]) for who in drafts]
    [client.wait_callback_answer(q) for q in queries]
    with found.database.session() as session:
        flagged = [session.get(LeaveRequest, d).ab_conflict for d in drafts.values()]
    # Whoever came second sees the partner's leave, and the first one's leave is re-derived with it.
    assert flagged == [True, True], "each partner's leave shows the other"


def test_five_withdrawals_withdraw_once_and_the_approver_is_told_once(live_bot: LiveBot) -> None:
    client = live_bot.client
    request_id = _file_leave(live_bot.services, STAFF, "事假", "2027-12-10", "2027-12-10")
    approval = _card(client, FINANCE_HEAD, f"请假审批 #{request_id}")
    before = _last_id(client, FINANCE_HEAD)
    asked = client.send(STAFF, "/leaves")
    mine = client.wait_message(STAFF, asked["message_id"], "我的请假")
    _one_winner(_press_together(client, STAFF, mine, buttons(mine)[f"撤回 #{request_id}"]))
    live_bot.deliver()  # everything the presses queued has gone out
    assert _count(client, FINANCE_HEAD, before, f"撤回了请假单 #{request_id}") == 1
    assert "reply_markup" not in client.wait_edit(approval, "已撤回")


def test_withdrawal_racing_an_approval_has_one_outcome_told_truthfully(live_bot: LiveBot) -> None:
    client = live_bot.client
    request_id = _file_leave(live_bot.services, STAFF, "事假", "2027-12-13", "2027-12-13")
    approval = _card(client, FINANCE_HEAD, f"请假审批 #{request_id}")
    asked = client.send(STAFF, "/leaves")
    mine = client.wait_message(STAFF, asked["message_id"], "我的请假")
    before = _last_id(client, STAFF)
    queries = [
        client.press(FINANCE_HEAD, approval, buttons(approval)["批准"]),
        client.press(STAFF, mine, buttons(mine)[f"撤回 #{request_id}"]),
    ]
    answers = [client.wait_callback_answer(q) for q in queries]
    assert len([a for a in answers if not a["show_alert"]]) == 1
    live_bot.deliver()  # everything the presses queued has gone out
    with live_bot.services.database.session() as session:
        status = session.get(LeaveRequest, request_id).status
        owed = session.scalar(select(func.count()).where(Deadline.source == f"leave:{request_id}"))
    assert (status, owed) in {("approved", 1), ("withdrawn", 0)}
    told_approved = _count(client, STAFF, before, f"#{request_id}", "结果：已批准")
    assert told_approved == (1 if status == "approved" else 0)


def _submitted_topic(found: Services, meeting: str, title: str) -> int:
    """A topic of the housing bureau submitted into the Art. 49 chain."""
    today = found.clock.today()

    def work(session: Session) -> int:
        person = _person(session, HOUSING_HEAD)
        topic_id = topics.open_form(session, person)
        topics.choose(session, person, topic_id, topics.Step.MEETING, meeting)
        topics.enter_text(session, person, topic_id, title, today)
        topics.enter_text(session, person, topic_id, "请会议研究。", today)
        topics.choose(session, person, topic_id, topics.Step.DEPARTMENT, "区住房和城乡建设局")
        deputy = session.get(Topic, topic_id).deputy
        topics.choose(session, person, topic_id, topics.Step.DEPUTY, str(deputy.id))
        topics.choose(session, person, topic_id, topics.Step.MATTER, "工作汇报")
        topics.enter_text(session, person, topic_id, "无", today)
        topics.enter_text(session, person, topic_id, "2027-12-15", today)
        while (step := session.get(Topic, topic_id).step or "").startswith("check:"):
            topics.choose(session, person, topic_id, step, "done")
        topics.submit(session, person, topic_id, found.context(session))
        return topic_id

    return found.run(work)


def test_five_stage_passes_move_the_topic_one_stage(live_bot: LiveBot) -> None:
    client = live_bot.client
    topic_id = _submitted_topic(live_bot.services, "常务会议", "并发：审核一次")
    before = _last_id(client, DIRECTOR)
    card = client.wait_for(
        lambda: next(
            (m for m in client.bot_messages(DEPUTY) if f"#{topic_id}（" in m["text"] and "通过" in buttons(m)), None
        ),
        "the first review card",
    )
    _one_winner(_press_together(client, DEPUTY, card, buttons(card)["通过"]))
    live_bot.deliver()  # everything the presses queued has gone out
    assert _count(client, DIRECTOR, before, f"#{topic_id}（") == 1, "the next reviewer gets one card"
    with live_bot.services.database.session() as session:
        assert session.get(Topic, topic_id).stage == 1
        passes = session.scalar(
            select(func.count()).where(
                WorkflowEvent.subject == Subject.TOPIC,
                WorkflowEvent.subject_id == topic_id,
                WorkflowEvent.action.like("%通过"),
            )
        )
    assert passes == 1


def test_five_outcome_presses_record_once_with_one_issuance_deadline(live_bot: LiveBot) -> None:
    client = live_bot.client
    topic_id = _submitted_topic(live_bot.services, "全体会议", "并发：一次发文")
    review = client.wait_for(
        lambda: next(
            (m for m in client.bot_messages(HEAD) if f"#{topic_id}（" in m["text"] and "通过" in buttons(m)), None
        ),
        "the decision card",
    )

    def agenda_orders() -> list[int]:
        with live_bot.services.database.session() as session:
            query = select(Topic.agenda_order).where(Topic.status == "accepted", Topic.meeting_type == "全体会议")
            return [o for o in session.scalars(query) if o is not None]

    before = agenda_orders()
    _one_winner(_press_together(client, HEAD, review, buttons(review)["通过"]))
    with live_bot.services.database.session() as session:
        order = session.get(Topic, topic_id).agenda_order
    after = agenda_orders()
    assert order == max(before, default=0) + 1, "the next number, taken once (not 2, 4, 6)"
    assert sorted(after) == sorted([*before, order]), "one topic joined the agenda, once"

    def agenda_item() -> dict:
        asked = client.send(DIRECTOR, "/agenda")
        return client.wait_message(DIRECTOR, asked["message_id"], "并发：一次发文")

    # The meeting is held today: an outcome needs its date, and Art. 50 counts from it.
    item = agenda_item()
    client.wait_callback_answer(client.press(DIRECTOR, item, buttons(item)["📅 会期"]))
    assert "已将议题" in answer(client, DIRECTOR, live_bot.services.clock.today().isoformat())["text"]
    item = agenda_item()
    _one_winner(_press_together(client, DIRECTOR, item, buttons(item)["通过·需发文"]))
    with live_bot.services.database.session() as session:
        deadlines = session.scalar(select(func.count()).where(Deadline.source == f"topic:{topic_id}"))
    assert deadlines == 1


def test_five_done_and_five_snooze_presses_act_once(live_bot: LiveBot) -> None:
    client = live_bot.client
    asked = client.send(DIRECTOR, "/deadline 并发测试交办，3个工作日，@区财政局")
    client.wait_message(DIRECTOR, asked["message_id"], "已登记期限事项")
    live_bot.deliver()  # everything the presses queued has gone out
    card = client.wait_message(FINANCE_HEAD, 0, "新的期限事项", "并发测试交办")
    snoozes = _press_together(client, FINANCE_HEAD, card, buttons(card)["延后"])
    _one_winner(snoozes)
    with live_bot.services.database.session() as session:
        deadline = session.scalars(select(Deadline).where(Deadline.title == "并发测试交办")).one()
        snoozed = session.scalar(
            select(func.count()).where(
                WorkflowEvent.subject == Subject.DEADLINE,
                WorkflowEvent.subject_id == deadline.id,
                WorkflowEvent.action == "snoozed",
            )
        )
    assert snoozed == 1
    redrawn = client.wait_for(
        lambda: (
            (m := client.message(FINANCE_HEAD, card["message_id"]))
            and buttons(m).get("已办结") != buttons(card)["已办结"]
            and m
        ),
        "the card redrawn for the new version",
    )
    _one_winner(_press_together(client, FINANCE_HEAD, redrawn, buttons(redrawn)["已办结"]))
    client.wait_edit(card, "已办结")
    with live_bot.services.database.session() as session:
        assert session.get(Deadline, deadline.id).status == "done"


def test_forged_and_stale_presses_are_answered_and_change_nothing(live_bot: LiveBot) -> None:
    client = live_bot.client
    request_id = _file_leave(live_bot.services, DIRECTOR, "事假", "2027-12-14", "2027-12-14")
    card = _card(client, HEAD, f"请假审批 #{request_id}")
    for data in ("ld:x:1:ok", "ld:-1:1:ok", "x" * 64, "👍", f"ld:{request_id}:999:ok", "lv:ok:1", "ld:1:1:zz"):
        answered = client.wait_callback_answer(client.press(HEAD, card, data, forged=True))
        assert answered["show_alert"] and answered["text"], data
        assert "抱歉" not in answered["text"], data
    with live_bot.services.database.session() as session:
        assert session.get(LeaveRequest, request_id).status == "pending"
