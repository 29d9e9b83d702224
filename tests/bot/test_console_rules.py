"""The console's 规则库 page (admins): upload, preview with every problem at its line, the diff
against the book in force, publish and retire; in headless Chromium and over plain HTTP, on
SQLite and PostgreSQL. The bot runs on a copy of the test rulebooks, so what is published here
stays here (the shared engine is reused: nothing is embedded)."""

import html
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, expect

from bot.benchmarks.harness import RunningBot, start_sandbox
from bot.sandbox.client import SandboxClient
from bot.services import Services
from handlers.console import CONSOLE
from retrieval.engine import RulesEngine
from tests.bot.conftest import ARTIFACTS
from tests.bot.test_chinese_screens import english_words
from tests.bot.test_console import _link, _sign_in_browser, _signed_in
from tests.conftest import bot_services
from tests.knowledge.revisions import RULEBOOK, revised, write_text

DIRECTOR, STAFF = 10005, 10010
CANTEEN = "机关食堂管理办法\n第一章 总则\n第一条 食堂每日供应午餐。\n第二条 就餐须刷卡。\n"


@dataclass
class Console:
    url: str
    client: SandboxClient
    services: Services
    folder: Path


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def console(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    two_rulebooks: Path,
    bot_engine: RulesEngine,
) -> Iterator[Console]:
    folder = tmp_path_factory.mktemp("office-rules")
    shutil.copytree(two_rulebooks, folder, dirs_exist_ok=True)
    found = bot_services(
        request.param,
        tmp_path_factory.mktemp("console-rules"),
        "zhengwu_console_rules",
        folder,
        bot_engine,
        reminders_scan_seconds="3600",
    )
    server = start_sandbox(found)
    running = RunningBot(found, server).start()
    client = SandboxClient(server.url)
    yield Console(running.application.bot_data[CONSOLE].url, client, found, folder)
    client.close()
    running.stop()
    server.stop_thread()


def _csrf(page: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page)[1]


def _upload(http: httpx.Client, name: str, content: str, **fields: str) -> httpx.Response:
    csrf = _csrf(http.get("/rules").text)
    return http.post(
        "/rules/upload", data={"csrf": csrf, **fields}, files={"file": (name, content.encode("utf-8"), "text/plain")}
    )


def test_only_admins_see_the_rules_page_and_an_upload_needs_its_token(console: Console) -> None:
    staff = _signed_in(console, STAFF)
    assert staff.get("/rules").status_code == 403
    assert "规则库" not in staff.get("/leaves").text
    admin = _signed_in(console, DIRECTOR)
    page = admin.get("/rules")
    assert page.status_code == 200 and "《昆都仑区人民政府工作规则》" in page.text and "现行" in page.text
    forged = admin.post("/rules/upload", data={"csrf": "forged"}, files={"file": ("a.txt", b"x", "text/plain")})
    assert forged.status_code == 403
    refused = _upload(admin, "旧文件.doc", "x")
    assert refused.status_code == 400 and "请上传 .docx、.pdf 或 .txt" in refused.text
    bad_date = _upload(admin, "canteen.txt", CANTEEN, effective="明年")
    assert bad_date.status_code == 400 and "施行日期看不懂" in bad_date.text


def test_an_upload_with_problems_shows_each_at_its_line_and_stages_nothing(console: Console) -> None:
    admin = _signed_in(console, DIRECTOR)
    broken = CANTEEN.replace("第二条", "第三条") + "第五条 剩饭不得带出。\n"
    page = _upload(admin, "食堂.txt", broken)
    assert page.status_code == 200 and "发现2处问题，未导入" in page.text
    assert "第4行</span>：应为第二条；该行为：第三条 就餐须刷卡。" in page.text
    assert "第5行</span>：应为第四条；该行为：第五条 剩饭不得带出。" in page.text
    assert "预览并发布" not in admin.get("/rules").text


def test_a_new_book_is_staged_published_and_retired(console: Console) -> None:
    admin = _signed_in(console, DIRECTOR)
    staged = _upload(admin, "canteen.txt", CANTEEN, effective="2026-01-01", doc_number="昆政办发〔2026〕1号")
    assert staged.url.path == "/rules/staged/canteen"
    assert "这是新的规则" in staged.text and "昆政办发〔2026〕1号" in staged.text and "2026年1月1日" in staged.text
    published = admin.post("/rules/staged/canteen/publish", data={"csrf": _csrf(staged.text)})
    assert "已发布：canteen" in published.text and (console.folder / "canteen.txt").is_file()
    retired = admin.post("/rules/canteen/retire", data={"csrf": _csrf(published.text)})
    assert "已废止：canteen" in retired.text and not (console.folder / "canteen.txt").exists()
    assert re.search(r"<td>canteen</td>\s*<td class=\"state old\">已废止", retired.text)
    missing = admin.get("/rules/staged/canteen")
    assert missing.status_code == 400 and "没有待发布的规则“canteen”" in missing.text


def test_upload_preview_with_a_problem_fix_and_publish_in_the_browser(
    console: Console, browser: Browser, tmp_path: Path
) -> None:
    """An admin uploads a revision with a skipped article number, sees the problem at its line,
    uploads the corrected file, reads the diff (two articles changed, one added) and publishes."""
    broken = write_text(tmp_path / "工作规则2024（有误）.txt", revised().replace("第十二条", "第十三条", 1))
    fixed = write_text(tmp_path / "工作规则2024.txt", revised())
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    _sign_in_browser(page, _link(console, DIRECTOR))
    page.get_by_role("link", name="规则库").click()
    page.set_input_files("input[name=file]", str(broken))
    page.get_by_role("button", name="上传并预览").click()
    problems = page.locator("#problems")
    expect(problems).to_contain_text("发现")
    expect(problems).to_contain_text("应为第十二条；该行为：第十三条")
    expect(problems.locator(".where").first).to_have_text(re.compile(r"第\d+行"))
    page.screenshot(path=str(ARTIFACTS / "console-rules-problem.png"), full_page=True)

    page.set_input_files("input[name=file]", str(fixed))
    page.get_by_role("button", name="重新上传").click()
    expect(page.locator("h1")).to_have_text(f"待发布：{RULEBOOK.stem}")
    expect(page.locator("#diff-summary")).to_contain_text("共3处变动")
    headings = page.locator("#diff h3")
    expect(headings).to_have_text(["修改 第五十条", "修改 第七十九条", "新增 第八十六条"])
    expect(page.locator("#diff del").first).to_have_text("5")
    expect(page.locator("#diff ins").first).to_have_text("3")
    page.screenshot(path=str(ARTIFACTS / "console-rules-diff.png"), full_page=True)

    page.get_by_role("button", name="发布").click()
    expect(page.locator("#notice")).to_contain_text(f"已发布：{RULEBOOK.stem}")
    rows = page.locator("#books tr", has_text="昆都仑区人民政府工作规则")
    expect(rows.filter(has_text="现行")).to_contain_text("2024年，昆政发〔2024〕3号")
    expect(rows.filter(has_text="已被替代")).to_contain_text("2019年，昆政发〔2019〕5号")
    context.close()


def test_the_rules_pages_are_in_chinese(console: Console) -> None:
    admin = _signed_in(console, DIRECTOR)
    pages = [admin.get("/rules"), _upload(admin, "食堂.txt", CANTEEN.replace("第二条", "第三条"))]
    pages.append(_upload(admin, "食堂.txt", CANTEEN.replace("食堂每日", "食堂每天")))
    for page in pages:
        text = html.unescape(re.sub(r"<[^>]+>", " ", re.sub(r"(?s)<(style|script)\b.*?</\1>", " ", page.text)))
        # The books' names are their file names, the office's data: the page's own words are Chinese.
        for name in (RULEBOOK.stem, "archives", "canteen"):
            text = text.replace(name, "")
        assert not english_words(text), (page.url, english_words(text))
