"""The sandbox chat page in headless Chromium (Debian's, driven by Playwright): who you are survives
a reload, the page works at 390 px (the chat scrolls in its pane, opens at the newest message, keeps
the input and each new reply in view, or announces replies below with "新消息 ↓"), groups carry
their Chinese names, a first start shows how far the rules index is, commands can be clicked,
errors are in Chinese, and the conversation survives a restart of the bot. Screenshots go to
test-artifacts/."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from bot.benchmarks.harness import RunningBot, start_sandbox
from bot.sandbox.client import SandboxClient
from bot.sandbox.launch import SANDBOX_TOKEN, sandbox_users
from bot.sandbox.server import SandboxServer
from bot.services import build_services
from retrieval.engine import RulesEngine
from tests.bot.conftest import ARTIFACTS
from tests.conftest import make_settings

STAFF, DEPUTY = 10010, 10003
# Each scrolling test has a chat of its own: 孙丽, 周杰, 陈静.
READER, SCROLLER, PRESSER = 10006, 10007, 10008


@pytest.fixture(scope="module")
def page_server(
    tmp_path_factory: pytest.TempPathFactory, two_rulebooks: Path, bot_engine: RulesEngine
) -> Iterator[SandboxServer]:
    """A bot on SQLite with its own sandbox server."""
    tmp = tmp_path_factory.mktemp("page")
    settings = make_settings(tmp, retrieval_knowledge_dir=str(two_rulebooks), reminders_scan_seconds="3600")
    services = build_services(settings, engine=bot_engine)
    server = start_sandbox(services)
    running = RunningBot(services, server).start()
    yield server
    running.stop()
    server.stop_thread()


@pytest.fixture(scope="module")
def page_bot(page_server: SandboxServer) -> str:
    """The page's address."""
    return page_server.url


def _shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_a_reload_keeps_who_you_are(browser: Browser, page_bot: str) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(page_bot + "/")
    page.select_option("#me", str(STAFF))
    expect(page.locator("#identity")).to_contain_text("郑好")
    assert f"user={STAFF}" in page.url
    page.reload()
    expect(page.locator("#identity")).to_contain_text("郑好")
    assert page.input_value("#me") == str(STAFF)
    page.fill("#text", "会议纪要由谁签发？")
    page.click("form button")
    expect(page.locator(".msg").last).to_contain_text("第五十条", timeout=15000)
    _shot(page, "sandbox-desktop")
    page.close()


def test_the_page_works_on_a_390_pixel_phone(browser: Browser, page_bot: str) -> None:
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(f"{page_bot}/?user={DEPUTY}")
    expect(page.locator("#identity")).to_contain_text("张伟")
    send = page.locator("form button").bounding_box()
    log = page.locator("#log").bounding_box()
    assert send is not None and log is not None
    assert send["height"] < 60, "the send button does not wrap"
    assert log["width"] >= 380, "the chat takes the phone's width"
    _shot(page, "sandbox-390px")
    page.close()


def test_commands_can_be_clicked_and_errors_are_in_chinese(browser: Browser, page_bot: str) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(f"{page_bot}/?user={STAFF}")
    page.locator(".command", has_text="/rules").click()
    assert page.input_value("#text") == "/rules "
    page.fill("#text", "字" * 4100)
    page.click("form button")
    expect(page.locator("#toast")).to_have_text("消息不能为空，也不能超过 4096 个字。")
    page.close()


def test_unbound_people_are_labelled_with_how_to_bind_them(browser: Browser, page_bot: str) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(page_bot + "/")
    unbound = page.locator("#me option", has_text="未绑定").first
    page.select_option("#me", unbound.get_attribute("value"))
    expect(page.locator("#unbound")).to_contain_text("zhengwu invite")
    page.close()


def test_the_conversation_and_its_buttons_survive_a_restart(
    tmp_path: Path, two_rulebooks: Path, bot_engine: RulesEngine
) -> None:
    settings = make_settings(tmp_path, retrieval_knowledge_dir=str(two_rulebooks))
    services = build_services(settings, engine=bot_engine)
    journal = tmp_path / "chats.json"
    first = SandboxServer(SANDBOX_TOKEN, sandbox_users(services), {}, journal=journal)
    first.start_in_thread()
    running = RunningBot(services, first).start()
    client = SandboxClient(first.url)
    [reply] = client.ask(STAFF, "会议纪要由谁签发？")
    client.close()
    running.stop()
    first.stop_thread()
    second = SandboxServer(SANDBOX_TOKEN, sandbox_users(services), {}, journal=journal)
    second.start_in_thread()
    client = SandboxClient(second.url)
    kept = client.message(STAFF, reply["message_id"])
    assert kept["text"] == reply["text"] and kept["reply_markup"] == reply["reply_markup"]
    assert client.send(STAFF, "新消息")["message_id"] > reply["message_id"], "ids go on, never reused"
    client.close()
    second.stop_thread()


PHONE = {"width": 390, "height": 844}


def _in_view(page: Page, selector: str) -> bool:
    """Whether the element's box lies within the window (its top at least, for a long message)."""
    box = page.locator(selector).bounding_box()
    return box is not None and 0 <= box["y"] < PHONE["height"] and box["x"] >= 0 and box["x"] + box["width"] <= 391


def _long_chat(client: SandboxClient, user: int, count: int = 12) -> None:
    """A chat long enough to scroll many screens (the help text is long and needs no rules engine)."""
    for _ in range(count):
        client.ask(user, "/help")


def test_at_390_px_the_chat_scrolls_in_its_pane_and_opens_at_the_newest_message(
    browser: Browser, page_server: SandboxServer
) -> None:
    client = SandboxClient(page_server.url)
    _long_chat(client, READER)
    page = browser.new_page(viewport=PHONE)
    page.goto(f"{page_server.url}/?user={READER}")
    expect(page.locator(".msg")).to_have_count(24)
    page.wait_for_function("() => { const l = document.getElementById('log'); return l.scrollTop > 0; }")
    assert page.evaluate("document.documentElement.scrollHeight") <= PHONE["height"], "the page is the window"
    scrolls = page.evaluate(
        "(() => { const l = document.getElementById('log'); return [l.scrollHeight, l.clientHeight]; })()"
    )
    assert scrolls[0] > 3 * scrolls[1], "the messages scroll inside their pane"
    assert _in_view(page, ".msg >> nth=-1") and _in_view(page, "#text") and _in_view(page, "form button")
    page.fill("#text", "会议纪要由谁签发？")
    page.click("form button")
    expect(page.locator(".msg").last).to_contain_text("第五十条", timeout=15000)
    page.wait_for_timeout(300)  # the reply is scrolled to once drawn
    assert _in_view(page, ".msg >> nth=-1"), "the newest reply is in view"
    assert _in_view(page, "#text"), "so is the input"
    _shot(page, "sandbox-390px-newest-reply")
    client.close()
    page.close()


def test_a_reply_arriving_while_scrolled_up_is_announced_by_a_pill(
    browser: Browser, page_server: SandboxServer
) -> None:
    client = SandboxClient(page_server.url)
    _long_chat(client, SCROLLER)
    page = browser.new_page(viewport=PHONE)
    page.goto(f"{page_server.url}/?user={SCROLLER}")
    expect(page.locator(".msg")).to_have_count(24)
    page.evaluate("document.getElementById('log').scrollTop = 0")
    page.wait_for_timeout(200)
    [reply] = client.ask(SCROLLER, "会议纪要由谁签发？")
    pill = page.locator("#newer")
    expect(pill).to_be_visible(timeout=5000)
    expect(pill).to_have_text("新消息 ↓")
    assert page.evaluate("document.getElementById('log').scrollTop") == 0, "what one reads is not moved"
    _shot(page, "sandbox-390px-new-message-pill")
    pill.click()
    expect(pill).to_be_hidden()
    assert _in_view(page, f'.msg[data-id="{reply["message_id"] - 1}"]') or _in_view(
        page, f'.msg[data-id="{reply["message_id"]}"]'
    ), "the pill brings the new messages into view"
    client.close()
    page.close()


def test_a_reply_to_a_button_on_an_older_message_is_announced(browser: Browser, page_server: SandboxServer) -> None:
    client = SandboxClient(page_server.url)
    [answer] = client.ask(PRESSER, "会议纪要由谁签发？")
    _long_chat(client, PRESSER, 6)
    page = browser.new_page(viewport=PHONE)
    page.goto(f"{page_server.url}/?user={PRESSER}")
    older = page.locator(f'.msg[data-id="{answer["message_id"]}"]')
    older.scroll_into_view_if_needed()
    older.locator("button", has_text="全文").first.click()
    expect(page.locator("#newer")).to_be_visible(timeout=10000)
    page.locator("#newer").click()
    expect(page.locator(".msg").last).to_contain_text("第五十条")
    assert _in_view(page, ".msg >> nth=-1"), "the full text sent below is brought into view"
    client.close()
    page.close()


def test_groups_are_shown_by_their_chinese_names(browser: Browser, page_bot: str) -> None:
    page = browser.new_page(viewport=PHONE)
    page.goto(f"{page_bot}/?user={STAFF}")
    group = page.locator(".chat", has_text="区政府办公室工作群")
    expect(group).to_be_visible()
    assert "office" not in page.locator("#chats").inner_text()
    group.click()
    expect(page.locator("#title")).to_contain_text("区政府办公室工作群")
    page.close()


def test_a_first_start_shows_how_far_the_index_is_and_answers_what_was_sent_meanwhile(
    browser: Browser, tmp_path: Path, two_rulebooks: Path, bot_engine: RulesEngine
) -> None:
    settings = make_settings(tmp_path, retrieval_knowledge_dir=str(two_rulebooks))
    services = build_services(settings, engine=bot_engine)
    server = start_sandbox(services)
    server.state.preparing = {"text": "正在建立规则索引（120/365），预计还需约1分钟", "done": 120, "total": 365}
    page = browser.new_page(viewport=PHONE)
    page.goto(f"{server.url}/?user={STAFF}")
    expect(page.locator("#preparing")).to_contain_text("正在建立规则索引（120/365）")
    expect(page.locator("#preparing")).to_contain_text("准备好后会依次回答")
    page.fill("#text", "会议纪要由谁签发？")
    page.click("form button")
    _shot(page, "sandbox-390px-preparing")
    server.state.preparing = None
    running = RunningBot(services, server).start()
    try:
        expect(page.locator(".msg").last).to_contain_text("第五十条", timeout=15000)
        expect(page.locator("#preparing")).to_be_hidden(timeout=10000)
    finally:
        running.stop()
        server.stop_thread()
        page.close()
