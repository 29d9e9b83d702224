"""The sandbox chat page in headless Chromium (Debian's, driven by Playwright): who you are survives
a reload, the page works at 390 px, commands can be clicked, errors are in Chinese, and the
conversation survives a restart of the bot. Screenshots go to test-artifacts/."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from bot.sandbox.client import SandboxClient
from bot.sandbox.harness import RunningBot, start_sandbox
from bot.sandbox.launch import SANDBOX_TOKEN, sandbox_users
from bot.sandbox.server import SandboxServer
from bot.services import build_services
from retrieval.engine import RulesEngine
from tests.bot.conftest import ARTIFACTS
from tests.conftest import make_settings

STAFF, DEPUTY = 10010, 10003


@pytest.fixture(scope="module")
def page_bot(tmp_path_factory: pytest.TempPathFactory, two_rulebooks: Path, bot_engine: RulesEngine) -> Iterator[str]:
    """A bot on SQLite with its own sandbox server; the page's address."""
    tmp = tmp_path_factory.mktemp("page")
    settings = make_settings(tmp, retrieval_knowledge_dir=str(two_rulebooks), reminders_scan_seconds="3600")
    services = build_services(settings, engine=bot_engine)
    server = start_sandbox(services)
    running = RunningBot(services, server).start()
    yield server.url
    running.stop()
    server.stop_thread()


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
