"""The admin commands of the `zhengwu` CLI."""

import stat
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.cli import main
from bot.config import load_settings
from bot.db import CuratedAnswer
from bot.qa import curated
from bot.qa.library import RulebookLibrary
from bot.sandbox.launch import SANDBOX_TOKEN
from bot.sandbox.server import SandboxServer
from bot.services import build_services
from bot.storage import Database
from knowledge import load_library
from retrieval.engine import RulesEngine
from tests.bot.test_storage import _logged
from tests.conftest import bot_process_env
from tests.knowledge.revisions import RULEBOOK, revised, write_text


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZHENGWU_BOT_DATA_DIR", str(tmp_path))


def test_calendar_prints_the_due_date_and_the_data_it_used(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["calendar", "2099-12-28", "+5"]) == 0
    out = capsys.readouterr().out
    assert "2099-12-28 + 5 个工作日 = 2100-01-05（周二）" in out
    assert "推算的法定节假日" in out and "⚠️" in out


def test_calendar_override_changes_the_count(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["calendar", "--set", "2027-01-04", "rest", "元旦调休"]) == 0
    assert main(["calendar", "2026-12-31", "+1"]) == 0
    assert "= 2027-01-05" in capsys.readouterr().out


def test_bad_calendar_input_is_one_clear_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["calendar", "tomorrow", "+5"]) == 2
    assert "expected a date such as 2026-12-28, got 'tomorrow'" in capsys.readouterr().err


def test_a_question_set_that_cannot_be_read_is_one_clear_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["eval", "office"]) == 2
    assert "cannot read the question set 'office': No such file or directory" in capsys.readouterr().err
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"question": "谁签发？"}\n', encoding="utf-8")
    assert main(["eval", str(broken)]) == 2
    assert f"{broken}:1: expected" in capsys.readouterr().err


def test_invite_prints_a_deep_link_for_a_roster_name(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["invite", "黄小红", "--bot-username", "kdl_office_bot"]) == 0
    assert capsys.readouterr().out.startswith("https://t.me/kdl_office_bot?start=")
    assert main(["invite", "无名氏"]) == 2


def test_purge_deletes_old_questions_now(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["purge"]) == 0
    assert "deleted 0 question(s) older than 180 days" in capsys.readouterr().out


def test_a_rejected_token_stops_the_bot_in_one_line_that_does_not_show_it(
    tmp_path: Path, chroma_dir: Path, engine: RulesEngine
) -> None:
    # `engine` has built the index and what it learns into chroma_dir: the bot process loads them.
    server = SandboxServer(SANDBOX_TOKEN, [], {}, host="127.0.0.1", port=0)
    server.start_in_thread()
    wrong = "7654321:AAF-not-the-bot-token"
    env = bot_process_env(
        server.bot_api_base_url, f"sqlite:///{tmp_path / 'bot.sqlite3'}", tmp_path, retrieval_chroma_dir=str(chroma_dir)
    )
    try:
        result = subprocess.run(
            [sys.executable, "-m", "bot.cli", "run"],
            env={**env, "TELEGRAM_BOT_TOKEN": wrong},
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        server.stop_thread()
    assert result.returncode == 2
    assert "TELEGRAM_BOT_TOKEN was rejected" in result.stderr
    assert wrong not in result.stdout + result.stderr
    assert "AAF-not-the-bot-token" not in result.stdout + result.stderr


def test_curated_answers_move_to_another_installation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["purge"]) == 0  # creates this installation's database
    database = Database(f"sqlite:///{tmp_path / 'zhengwu.sqlite3'}")
    with database.session() as session:
        library = RulebookLibrary(session, load_library())
        views, explanation = curated.parse_reply("56 圈阅即表示同意", library)
        session.add(
            CuratedAnswer(
                question="画圈算同意吗？",
                articles=[curated.key(v) for v in views],
                explanation=explanation,
                articles_digest=curated.digest(views),
                needs_review=False,
            )
        )
        session.commit()
    database.dispose()
    exported = tmp_path / "answers.jsonl"
    assert main(["export-answers", str(exported)]) == 0
    monkeypatch.setenv("ZHENGWU_BOT_DATA_DIR", str(tmp_path / "elsewhere"))
    assert main(["import-answers", str(exported)]) == 0
    assert main(["import-answers", str(exported)]) == 0
    out = capsys.readouterr().out
    assert "curated answers added: 1" in out and "curated answers added: 0" in out


def test_purged_questions_are_gone_from_the_sqlite_files_and_data_files_are_private(tmp_path: Path) -> None:
    assert main(["purge"]) == 0  # creates this installation's database
    database_file = tmp_path / "zhengwu.sqlite3"
    # A bot still holding the database open: what it wrote sits in the -wal file.
    bot = Database(f"sqlite:///{database_file}")
    marker = "身份证110101199003071234的事找谁"
    with bot.session() as session:
        session.add(_logged(marker, asked_at=datetime(2020, 1, 1, tzinfo=UTC)))
        session.commit()
    sqlite_files = [database_file, tmp_path / "zhengwu.sqlite3-wal", tmp_path / "zhengwu.sqlite3-shm"]
    assert any(marker.encode() in f.read_bytes() for f in sqlite_files if f.exists())
    try:
        assert main(["purge"]) == 0
        for file in sqlite_files:
            if file.exists():
                assert marker.encode() not in file.read_bytes(), file.name
                assert stat.S_IMODE(file.stat().st_mode) == 0o600, file.name
    finally:
        bot.dispose()
    exported = tmp_path / "answers.jsonl"
    assert main(["export-answers", str(exported)]) == 0
    assert stat.S_IMODE(exported.stat().st_mode) == 0o600


def test_a_new_data_folder_is_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZHENGWU_BOT_DATA_DIR", str(tmp_path / "new" / "data"))
    assert main(["purge"]) == 0
    assert stat.S_IMODE((tmp_path / "new" / "data").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "new" / "data" / "zhengwu.sqlite3").stat().st_mode) == 0o600


def test_rules_import_previews_and_stages_and_publish_puts_the_book_in_force(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A revised rulebook through the commands: staged, it changes nothing; published, the bot's
    next start reads it and flags the office answer resting on an article it changed."""
    monkeypatch.setenv("ZHENGWU_DATABASE_URL", database_url)
    assert main(["purge"]) == 0  # creates this installation's database
    with Database(database_url).session() as session:
        library = RulebookLibrary(session, load_library())
        views, explanation = curated.parse_reply("79 离包外出须向区长请示", library)
        session.add(
            CuratedAnswer(
                question="出差找谁批？",
                articles=[curated.key(v) for v in views],
                explanation=explanation,
                articles_digest=curated.digest(views),
                needs_review=False,
            )
        )
        session.commit()
    revision = write_text(tmp_path / "工作规则2024.txt", revised())
    capsys.readouterr()

    assert main(["rules", "import", str(revision)]) == 0
    out = capsys.readouterr().out
    assert "共13章、86条" in out and "未发现问题" in out
    assert f"将替换现行的“{RULEBOOK.stem}”" in out and "新增1条，修改2条" in out
    assert f"已暂存为“{RULEBOOK.stem}”（待发布）" in out
    assert main(["rules", "list"]) == 0
    assert "待发布\t《昆都仑区人民政府工作规则》\t86条" in capsys.readouterr().out
    staged_only = build_services(load_settings(), with_engine=False).library
    assert len(staged_only.book(staged_only.id_of[RULEBOOK.stem]).articles) == 85

    assert main(["rules", "publish", RULEBOOK.stem]) == 0
    assert "已发布" in capsys.readouterr().out
    services = build_services(load_settings(), with_engine=False)
    book = services.library.book(services.library.id_of[RULEBOOK.stem])
    assert len(book.articles) == 86 and "提前一天书面" in book.article(79).text
    with services.database.session() as session:
        assert session.scalars(select(CuratedAnswer)).one().needs_review


def test_rules_import_of_a_malformed_file_prints_every_problem_and_stages_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    skipped = write_text(tmp_path / "skipped.txt", revised().replace("第十二条", "第十三条", 1))
    assert main(["rules", "import", str(skipped), "--publish"]) == 1
    out = capsys.readouterr().out
    assert "应为第十二条；该行为：第十三条" in out and "未导入" in out
    assert main(["rules", "list"]) == 0
    assert "待发布" not in capsys.readouterr().out


def test_rules_import_of_an_unreadable_file_is_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "old.doc").write_bytes(b"\xd0\xcf\x11\xe0")
    assert main(["rules", "import", str(tmp_path / "old.doc")]) == 2
    assert "请在 Word 中另存为 .docx 后再导入" in capsys.readouterr().err


def test_rules_diff_lists_the_changes_between_a_published_book_and_a_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    revision = write_text(tmp_path / "2024.txt", revised())
    assert main(["rules", "diff", RULEBOOK.stem, str(revision)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line for line in out if not line.startswith("  ")][1:] == [
        "修改 第五十条",
        "修改 第七十九条",
        "新增 第八十六条",
    ]


def test_rules_import_with_a_later_effective_date_leaves_the_old_version_in_force_until_then(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    revision = write_text(tmp_path / "2024.txt", revised())
    assert main(["rules", "import", str(revision), "--effective", "2099-01-01", "--publish"]) == 0
    assert "施行日期：2099年1月1日（此前旧版本继续有效）" in capsys.readouterr().out
    assert main(["rules", "list"]) == 0
    listed = capsys.readouterr().out
    assert "现行\t《昆都仑区人民政府工作规则》（2019年，昆政发〔2019〕5号）\t85条" in listed
    assert "待生效\t《昆都仑区人民政府工作规则》（2024年，昆政发〔2024〕3号）\t86条" in listed
    services = build_services(load_settings(), with_engine=False)
    assert len(services.library.book(services.library.id_of[RULEBOOK.stem]).articles) == 85


def test_rules_retire_takes_a_book_out_of_force_and_a_bad_date_is_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    canteen = write_text(tmp_path / "canteen.txt", "机关食堂管理办法\n第一章 总则\n第一条 食堂每日供应午餐。\n")
    assert main(["rules", "import", str(canteen), "--effective", "明年"]) == 2
    assert "--effective 的日期看不懂" in capsys.readouterr().err
    assert main(["rules", "import", str(canteen), "--publish"]) == 0
    assert main(["rules", "retire", "canteen"]) == 0
    assert "已废止：canteen" in capsys.readouterr().out
    assert main(["rules", "list"]) == 0
    assert "canteen\t已废止\t《机关食堂管理办法》" in capsys.readouterr().out
    services = build_services(load_settings(), with_engine=False)
    assert "canteen" not in services.library.id_of
