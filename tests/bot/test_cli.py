"""The admin commands of the `zhengwu` CLI."""

from pathlib import Path

import pytest

from bot.cli import main


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZHENGWU_BOT_DATA_DIR", str(tmp_path))


def test_calendar_prints_the_due_date_and_the_data_it_used(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["calendar", "2026-12-28", "+5"]) == 0
    out = capsys.readouterr().out
    assert "2026-12-28 + 5 个工作日 = 2027-01-05（周二）" in out
    assert "holidays 库推算的法定节假日" in out and "⚠️" in out


def test_calendar_override_changes_the_count(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["calendar", "--set", "2027-01-04", "rest", "元旦调休"]) == 0
    assert main(["calendar", "2026-12-31", "+1"]) == 0
    assert "= 2027-01-05" in capsys.readouterr().out


def test_bad_calendar_input_is_one_clear_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["calendar", "tomorrow", "+5"]) == 2
    assert "expected a date such as 2026-12-28, got 'tomorrow'" in capsys.readouterr().err


def test_invite_prints_a_deep_link_for_a_roster_name(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["invite", "黄小红", "--bot-username", "kdl_office_bot"]) == 0
    assert capsys.readouterr().out.startswith("https://t.me/kdl_office_bot?start=")
    assert main(["invite", "无名氏"]) == 2
