"""The office console, signed in through a link the bot sends over the local Bot API server, on
SQLite and PostgreSQL; the pages in headless Chromium (screenshots in test-artifacts/), the rules
of access over plain HTTP."""

import asyncio
import html
import re
import socket
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import httpx
import icalendar
import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.benchmarks.harness import RunningBot, start_sandbox
from bot.console import auth, views
from bot.console.server import ConsoleServer
from bot.db import Person, QuestionLog
from bot.deadlines import service as deadlines
from bot.qa import service as qa_service
from bot.sandbox.client import SandboxClient, buttons
from bot.services import Services, build_services
from bot.topics import service as topics
from bot.topics.models import Topic
from bot.workflow.review import Verdict
from handlers.console import CONSOLE
from retrieval.engine import RulesEngine
from tests.bot.conftest import ARTIFACTS
from tests.bot.test_chinese_screens import english_words
from tests.conftest import bot_services, make_settings
from tests.handlers.leave_steps import fill_form, press, submit
from tests.handlers.test_concurrency import _file_leave, _submitted_topic

HEAD, DEPUTY, DEPUTY_B, DIRECTOR, STAFF, HOUSING_HEAD = 10001, 10003, 10004, 10005, 10010, 10009
NOW = datetime(2026, 12, 8, 10, 0)


@dataclass
class Console:
    url: str
    client: SandboxClient
    services: Services
    leave_id: int
    topic_id: int


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def console(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    two_rulebooks: Path,
    bot_engine: RulesEngine,
) -> Iterator[Console]:
    tmp = tmp_path_factory.mktemp("console")
    found = bot_services(
        request.param, tmp, "zhengwu_console", two_rulebooks, bot_engine, reminders_scan_seconds="3600"
    )
    found.clock.set(NOW)
    server = start_sandbox(found)
    running = RunningBot(found, server).start()
    client = SandboxClient(server.url)
    _file_leave(found, DEPUTY, "离包外出", "2026-12-14", "2026-12-15", DEPUTY_B)
    # The AB partner files a leave in chat for days the deputy is away too, and the 区长 approves it.
    confirm = fill_form(client, DEPUTY_B, "离包外出", "2026-12-15", "2026-12-16", "学习", destination="北京")
    leave_id = int(submit(client, DEPUTY_B, confirm, "已提交")["text"].split("#")[1].split()[0])
    running.deliver()
    card = client.wait_message(HEAD, 0, f"请假审批 #{leave_id}")
    press(client, HEAD, card, "批准", "结果：已批准")
    topic_id = _submitted_topic(found, "常务会议", "控制台：老旧小区改造")
    found.run(
        lambda session: deadlines.create_deadline(
            session,
            "adhoc",
            date(2026, 11, 23),
            found.context(session),
            title="报送年度总结（控制台）",
            workdays=3,
            department="区财政局",
            source="test",
        )
    )
    running.deliver()
    yield Console(running.application.bot_data[CONSOLE].url, client, found, leave_id, topic_id)
    client.close()
    running.stop()
    server.stop_thread()


def _link(console: Console, user: int) -> str:
    reply = console.client.ask(user, "/console")[0]
    match = re.search(r"http://\S+/login/\S+", reply["text"])
    assert match, reply["text"]
    return match[0]


def _use(http: httpx.Client, link: str) -> httpx.Response:
    """Open a login link and press its button, as a person does."""
    page = http.get(link)
    if page.status_code != 200:
        return page
    return http.post(link, data={"check": re.search(r'name="check" value="([^"]+)"', page.text)[1]})


def _signed_in(console: Console, user: int) -> httpx.Client:
    http = httpx.Client(base_url=console.url, follow_redirects=True)
    assert _use(http, _link(console, user)).status_code == 200
    return http


def _sign_in_browser(page: Page, link: str) -> None:
    page.goto(link)
    page.locator("form button").click()
    page.wait_for_url("**/leaves")


def test_a_login_link_works_once_and_only_for_ten_minutes(console: Console) -> None:
    link = _link(console, STAFF)
    assert _use(httpx.Client(follow_redirects=True), link).status_code == 200
    reused = _use(httpx.Client(follow_redirects=True), link)
    assert reused.status_code == 403 and "已经用过" in reused.text
    late = _link(console, STAFF)
    console.services.clock.set(NOW + timedelta(minutes=11))
    try:
        assert _use(httpx.Client(follow_redirects=True), late).status_code == 403
    finally:
        console.services.clock.set(NOW)
    assert httpx.get(console.url + "/leaves").status_code == 403, "no page without signing in"


def test_opening_the_link_signs_in_only_by_its_button_and_no_preview_is_fetched(console: Console) -> None:
    reply = console.client.ask(STAFF, "/console")[0]
    assert reply["link_preview_options"] == {"is_disabled": True}
    link = re.search(r"http://\S+/login/\S+", reply["text"])[0]
    preview_fetcher = httpx.Client()
    for _ in range(2):
        opened = preview_fetcher.get(link)
        assert opened.status_code == 200 and "郑好" in opened.text and "登录" in opened.text
        assert "zw_console" not in opened.headers.get("set-cookie", "")
    forged = httpx.post(link, data={"check": "guessed"}, cookies={"zw_login": "other"})
    assert forged.status_code == 403, "a post from another site carries no matching check cookie"
    assert _use(httpx.Client(follow_redirects=True), link).status_code == 200, "the link still works once"


def test_someone_elses_link_asks_before_switching_the_browser(console: Console) -> None:
    http = _signed_in(console, STAFF)
    link = _link(console, DIRECTOR)
    page = http.get(link)
    assert page.status_code == 200 and "现在以" in page.text
    assert "郑好" in page.text and "赵敏" in page.text and "切换为" in page.text
    assert "郑好" in http.get("/feeds").text, "opening the link switched nothing"
    assert _use(http, link).status_code == 200
    assert "赵敏" in http.get("/feeds").text


def test_a_broken_form_gets_a_page_not_a_traceback(console: Console, caplog: pytest.LogCaptureFixture) -> None:
    broken = {"content": b"--xyz\r\nbroken", "headers": {"Content-Type": "multipart/form-data; boundary=xyz"}}
    stranger = httpx.post(console.url + "/feeds", **broken)
    assert stranger.status_code == 403 and "请先登录" in stranger.text
    signed = _signed_in(console, DIRECTOR).post("/feeds", **broken)
    assert signed.status_code == 400 and "表单无法读取" in signed.text
    assert httpx.post(_link(console, STAFF), **broken).status_code == 400
    assert not [r for r in caplog.records if r.exc_info], "nothing was logged as an error"


def test_no_page_can_be_framed_by_another_site(console: Console) -> None:
    http = _signed_in(console, DIRECTOR)
    responses = [
        http.get("/leaves"),
        http.get("/leaves/999999"),
        httpx.get(console.url + "/leaves"),
        httpx.get(console.url + "/"),
        httpx.get(_link(console, STAFF)),
    ]
    for response in responses:
        assert response.headers["X-Frame-Options"] == "DENY", response.url
        assert response.headers["Content-Security-Policy"] == "frame-ancestors 'none'", response.url


def test_the_session_cookie_is_secure_when_the_console_is_reached_over_https(console: Console) -> None:
    found = console.services
    with found.database.session() as session:
        person = session.scalar(select(Person).where(Person.telegram_user_id == STAFF))
        token = auth.issue_login(session, person, NOW)
        session.commit()

    async def sign_in() -> list[str]:
        server = ConsoleServer(found, "127.0.0.1", 0, public_url="https://console.example.gov.cn")
        await server.start()
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as http:
                page = await http.get(f"/login/{token}")
                check = re.search(r'name="check" value="([^"]+)"', page.text)[1]
                # Secure cookies are not sent back over this test's plain http: send the check by hand.
                http.cookies.clear()
                signed = await http.post(
                    f"/login/{token}", data={"check": check}, headers={"Cookie": f"zw_login={check}"}
                )
                return page.headers.get_list("set-cookie") + signed.headers.get_list("set-cookie")
        finally:
            await server.stop()

    with ThreadPoolExecutor(1) as thread:  # the module's browser holds this thread's event loop
        cookies = thread.submit(asyncio.run, sign_in()).result(30)
    session_cookie = next(c for c in cookies if c.startswith("zw_console="))
    assert "Secure" in session_cookie and "HttpOnly" in session_cookie
    assert all("Secure" in c for c in cookies if c.startswith("zw_login="))


def test_staff_cannot_open_another_persons_leave_or_the_office_view(console: Console) -> None:
    http = _signed_in(console, STAFF)
    assert http.get(f"/leaves/{console.leave_id}").status_code == 403
    assert http.get("/questions").status_code == 403
    assert http.get("/export/leaves?start=2026-12-01&end=2026-12-31").status_code == 403
    mine = _signed_in(console, DEPUTY_B)
    assert mine.get(f"/leaves/{console.leave_id}").status_code == 200


def test_a_form_without_its_csrf_token_changes_nothing(console: Console) -> None:
    http = _signed_in(console, DIRECTOR)
    refused = http.post("/feeds", data={"csrf": "forged"})
    assert refused.status_code == 403
    page = http.get("/feeds").text
    assert "还没有订阅地址" in page
    assert http.post("/logout", data={}).status_code == 403, "signing out needs the token too"
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)[1]
    assert "已退出" in http.post("/logout", data={"csrf": csrf}).text
    assert http.get("/leaves").status_code == 403


def test_the_calendar_feed_parses_shows_leave_and_dies_when_revoked(console: Console) -> None:
    http = _signed_in(console, DIRECTOR)
    page = http.get("/feeds").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)[1]
    created = http.post("/feeds", data={"csrf": csrf})
    feed_url = re.search(r"(http://\S+\.ics)", created.text)[1]
    calendar = icalendar.Calendar.from_ical(httpx.get(feed_url).content)
    summaries = [str(event["summary"]) for event in calendar.walk("VEVENT")]
    assert "刘洋副区长 离包外出" in summaries, "the approved leave, without （待审批）"
    feed_id = re.search(r'action="/feeds/(\d+)/revoke"', created.text)[1]
    http.post(f"/feeds/{feed_id}/revoke", data={"csrf": csrf})
    assert httpx.get(feed_url).status_code == 404


def test_the_office_sees_the_month_with_the_ab_conflict_and_overdue_deadlines_first(
    console: Console, browser: Browser
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    _sign_in_browser(page, _link(console, DIRECTOR))
    page.goto(console.url + "/leaves?month=2026-12")
    conflict = page.locator(f'a.leave.conflict[href="/leaves/{console.leave_id}"]').first
    assert conflict.is_visible()
    assert "第七十九条" in page.locator("#conflicts").inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "console-calendar-desktop.png"), full_page=True)
    page.goto(console.url + "/deadlines")
    first = page.locator("#deadlines tr").nth(1)
    assert "报送年度总结（控制台）" in first.inner_text() and "已逾期" in first.inner_text()
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(console.url + "/leaves?month=2026-12")
    assert page.evaluate("document.documentElement.scrollWidth") <= 400, "nothing wider than the phone"
    page.screenshot(path=str(ARTIFACTS / "console-calendar-390px.png"), full_page=True)
    context.close()


def test_a_topic_moves_columns_after_a_review_press_in_chat(console: Console, browser: Browser) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    _sign_in_browser(page, _link(console, DIRECTOR))
    page.goto(console.url + "/topics")
    card = page.locator(f'[data-topic="{console.topic_id}"]')
    before = card.locator("xpath=ancestor::div[@data-column]").get_attribute("data-column")
    review = console.client.wait_for(
        lambda: next(
            (
                m
                for m in console.client.bot_messages(DEPUTY)
                if f"#{console.topic_id}（" in m["text"] and "通过" in buttons(m)
            ),
            None,
        ),
        "the review card",
    )
    console.client.wait_callback_answer(console.client.press(DEPUTY, review, buttons(review)["通过"]))
    page.reload()
    after = page.locator(f'[data-topic="{console.topic_id}"]').locator("xpath=ancestor::div[@data-column]")
    assert before != after.get_attribute("data-column"), (before, after.get_attribute("data-column"))
    page.screenshot(path=str(ARTIFACTS / "console-topics-desktop.png"), full_page=True)
    context.close()


def test_a_taken_console_port_leaves_the_bot_running_and_console_says_it_is_off(
    tmp_path: Path, two_rulebooks: Path, bot_engine: RulesEngine
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        settings = make_settings(tmp_path, retrieval_knowledge_dir=str(two_rulebooks), console_port=port)
        found = build_services(settings, engine=bot_engine)
        server = start_sandbox(found)
        running = RunningBot(found, server).start()
        client = SandboxClient(server.url)
        try:
            [reply] = client.ask(DIRECTOR, "/console")
            assert "办公室控制台没有开启" in reply["text"]
            [answer] = client.ask(DIRECTOR, "会议纪要由谁签发？")
            assert "第五十条" in answer["text"]
        finally:
            client.close()
            running.stop()
            server.stop_thread()


# ----- the pages as people read them (issue 18) ------------------------------------------------


def _accepted_topic(console: Console, title: str) -> int:
    """A 专题会议 topic through its whole chain (办公室副主任审核, then 分管副区长确定), so on the agenda."""
    found = console.services
    topic_id = _submitted_topic(found, "专题会议", title)
    for stage in range(2):

        def work(session: Session, stage: int = stage) -> None:
            topic = session.get(Topic, topic_id)
            actor = session.get(Person, int(topic.chain[stage]["person_id"]))
            topics.decide(session, topic_id, stage, topic.version, actor, Verdict.PASS, found.context(session))

        found.run(work)
    return topic_id


def test_the_topic_page_shows_the_topic_its_materials_its_chain_and_its_agenda_slot(
    console: Console, browser: Browser
) -> None:
    topic_id = _accepted_topic(console, "控制台：专题研究停车难")
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    page = context.new_page()
    _sign_in_browser(page, _link(console, DIRECTOR))
    page.goto(f"{console.url}/topics/{topic_id}")
    facts = page.locator("#facts").inner_text()
    for shown in (
        "会议类型",
        "专题会议",
        "概要",
        "请会议研究。",
        "分管领导",
        "副区长",
        "汇报部门",
        "区住房和城乡建设局",
    ):
        assert shown in facts, shown
    materials = page.locator("#materials").inner_text()
    assert "✓" in materials and "已具备" in materials and "✗" not in materials
    steps = page.locator("#chain li")
    assert steps.count() == 2
    first, second = steps.nth(0).inner_text(), steps.nth(1).inner_text()
    assert "办公室副主任审核" in first and "通过" in first
    assert re.search(r"孙丽|周杰", first) and re.search(r"\d+月\d+日 \d\d:\d\d", first), "who passed it, when"
    assert "分管副区长确定" in second and "通过" in second
    assert "专题会议 第" in page.locator("#slot").inner_text() and "会期未定" in page.locator("#slot").inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= 400, "nothing wider than the phone"
    page.screenshot(path=str(ARTIFACTS / "console-topic-390px.png"), full_page=True)
    context.close()


def test_the_board_shows_every_stage_column_even_when_empty(console: Console) -> None:
    page = _signed_in(console, DIRECTOR).get("/topics").text
    columns = re.findall(r'data-column="([^"]+)"', page)
    assert columns[: len(views.STAGE_COLUMNS)] == list(views.STAGE_COLUMNS), "the chain's stages in order"
    assert set(views.END_COLUMNS) <= set(columns)
    assert "暂无" in page, "an empty column says so"


def test_the_calendar_marks_both_leaves_of_a_conflict_has_a_legend_and_a_list_on_a_phone(
    console: Console, browser: Browser
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    _sign_in_browser(page, _link(console, DIRECTOR))
    page.goto(console.url + "/leaves?month=2026-12")
    marked = page.locator(".month a.leave.conflict").all_inner_texts()
    assert any("张伟" in m for m in marked) and any("刘洋" in m for m in marked), marked
    legend = page.locator("#legend")
    assert legend.is_visible() and "待审批" in legend.inner_text() and "第七十九条" in legend.inner_text()
    assert not page.locator("#leave-list").is_visible(), "a wide screen shows the month"
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    assert page.locator("#leave-list").is_visible() and not page.locator(".month").is_visible()
    listed = page.locator("#leave-list li.conflict").all_inner_texts()
    assert any("张伟" in item and "第七十九条" in item for item in listed), listed
    assert any("刘洋" in item for item in listed), listed
    assert page.evaluate("document.documentElement.scrollWidth") <= 400
    page.screenshot(path=str(ARTIFACTS / "console-calendar-list-390px.png"), full_page=True)
    page.locator(".views a", has_text="月历").click()
    assert page.locator(".month").is_visible(), "the month can be chosen on a phone too"
    context.close()


def test_the_question_chart_has_axes_dates_and_values_and_a_dislike_shows_its_reason(
    console: Console, browser: Browser
) -> None:
    console.client.ask(STAFF, "会议纪要由谁签发？")
    found = console.services

    def dislike(session: Session) -> None:
        log_id = session.scalar(select(func.max(QuestionLog.id)).where(QuestionLog.telegram_user_id == STAFF))
        qa_service.record_feedback(session, log_id, STAFF, -1)
        qa_service.record_feedback_reason(session, log_id, STAFF, "article")

    found.run(dislike)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    _sign_in_browser(page, _link(console, DIRECTOR))
    page.goto(console.url + "/questions")
    chart = page.locator("#per-day")
    labels = chart.locator("text").all_text_contents()
    assert "次数" in labels and "日期" in labels, "both axes are named"
    assert "12月8日" in labels and "12月1日" in labels, "dates under the bars, weekly to the last day"
    assert "0" in labels, "a scale on the side"
    assert any(label.isdigit() and int(label) > 0 for label in labels), "the day's count above its bar"
    disliked = page.locator("#disliked").inner_text()
    assert "会议纪要由谁签发" in disliked and "条文不对" in disliked
    page.screenshot(path=str(ARTIFACTS / "console-questions-desktop.png"), full_page=True)
    context.close()


def test_error_pages_lead_back_to_the_console(console: Console) -> None:
    signed = _signed_in(console, STAFF)
    for response in (
        signed.get(f"/leaves/{console.leave_id}"),
        signed.get("/leaves/999999"),
        signed.get("/no-such-page"),
        httpx.get(console.url + "/topics"),
    ):
        assert response.status_code in (403, 404), response.url
        for link in ('href="/leaves"', 'href="/topics"', 'href="/deadlines"', 'href="/feeds"'):
            assert link in response.text, (response.url, link)
        assert "/console" in response.text, "how to sign in again"
    assert "没有这个页面" in signed.get("/no-such-page").text


def _new_feed(http: httpx.Client) -> tuple[str, str]:
    """Create a feed from the feeds page: its address and the page that shows it."""
    csrf = re.search(r'name="csrf" value="([^"]+)"', http.get("/feeds").text)[1]
    created = http.post("/feeds", data={"csrf": csrf}).text
    return re.search(r'value="(http://\S+\.ics)"', created)[1], created


def test_the_ics_feed_carries_dtstamp_and_its_page_offers_copy_and_webcal(console: Console, browser: Browser) -> None:
    http = _signed_in(console, DIRECTOR)
    feed_url, page_text = _new_feed(http)
    calendar = icalendar.Calendar.from_ical(httpx.get(feed_url).content)
    events = calendar.walk("VEVENT")
    assert events
    for event in events:
        assert isinstance(event.decoded("dtstamp"), datetime), "RFC 5545: DTSTAMP on every event"
        assert event.decoded("dtstamp").utcoffset() == timedelta(0), "a UTC time"
        assert {"uid", "dtstart", "dtend", "summary"} <= {key.lower() for key in event}
    assert f'href="{feed_url.replace("http://", "webcal://")}"' in page_text
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    page = context.new_page()
    _sign_in_browser(page, _link(console, DIRECTOR))
    page.goto(console.url + "/feeds")
    page.locator("form button", has_text="生成订阅地址").click()
    page.locator("#copy").click()
    expect(page.locator("#copied")).to_contain_text("复制")  # "已复制…", or how to copy by hand
    assert page.locator("#webcal").get_attribute("href").startswith("webcal://")
    page.screenshot(path=str(ARTIFACTS / "console-feeds-390px.png"), full_page=True)
    context.close()


def test_a_staff_members_calendar_shows_the_leaders_trips_the_office_group_was_told(console: Console) -> None:
    http = _signed_in(console, STAFF)
    feed_url, _ = _new_feed(http)
    feed = httpx.get(feed_url).content
    summaries = [str(event["summary"]) for event in icalendar.Calendar.from_ical(feed).walk("VEVENT")]
    assert "刘洋副区长 离包外出" in summaries, "the approved trip the group was told of"
    assert not any("张伟" in s for s in summaries), "a pending leave was not announced"
    assert "学习".encode() not in feed, "never the reason"
    month = http.get("/leaves?month=2026-12").text
    assert "刘洋（副区长） 离包外出" in month
    assert f'href="/leaves/{console.leave_id}"' not in month, "announced, but its history stays closed"


def test_every_console_page_is_in_chinese(console: Console) -> None:
    http = _signed_in(console, DIRECTOR)
    topic_id = _accepted_topic(console, "控制台：全中文")
    paths = ["/leaves?month=2026-12", "/leaves?month=2026-12&view=list", f"/leaves/{console.leave_id}"]
    paths += ["/topics", f"/topics/{topic_id}", "/deadlines", "/questions", "/feeds", "/no-such-page"]
    for path in paths:
        page = http.get(path).text
        text = html.unescape(re.sub(r"<[^>]+>", " ", re.sub(r"(?s)<(style|script)\b.*?</\1>", " ", page)))
        assert not english_words(text), (path, english_words(text))
