"""The privacy rules as domain code: masking, who may see an item, prompt expiry,
formula-safe exports, and logs without secrets."""

import io
import logging
from datetime import UTC, datetime, timedelta

import openpyxl
import pytest
from sqlalchemy import func, select

from bot import logs, privacy, spreadsheet
from bot.db import PendingInput, Person
from bot.errors import PermissionDenied
from bot.roster import RosterEntry, sync_roster
from bot.storage import Database
from bot.workflow.inputs import drop_expired, expect_text

NOW = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
FORMULAS = ["=1+2", '=HYPERLINK("http://evil.example","点我")', "+1", "-1", "@SUM(A1)", "\t=1", "\r=1"]


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("身份证110101199003071234丢了", "身份证110101********1234丢了"),
        ("11010119900307123X", "110101********123X"),
        ("手机13812345678打不通", "手机138****5678打不通"),
        ("卡号6222021234567890123", "卡号6222***********0123"),
        ("第50条规定5个工作日，2026年", "第50条规定5个工作日，2026年"),
        ("座机0472-1234567", "座机0472-1234567"),
    ],
)
def test_admin_views_mask_id_card_phone_and_bank_numbers(text: str, masked: str) -> None:
    assert privacy.mask_numbers(text) == masked


def test_groups_read_sick_and_personal_leave_only_as_leave() -> None:
    assert [privacy.public_leave_kind(k) for k in ("病假", "事假", "休假", "离包外出", None)] == [
        "请假",
        "请假",
        "休假",
        "离包外出",
        "请假",
    ]


def test_only_the_people_on_an_item_and_admins_may_see_its_history() -> None:
    staff, admin = Person(id=7, is_admin=False), Person(id=8, is_admin=True)
    privacy.require_on_item(staff, {7, 9}, "记录")
    privacy.require_on_item(admin, {7, 9}, "记录")
    with pytest.raises(PermissionDenied, match="只有相关人员和办公室管理员"):
        privacy.require_on_item(Person(id=10, is_admin=False), {7, 9}, "记录")


@pytest.fixture
def database(database_url: str):
    database = Database(database_url)
    database.upgrade()
    with database.session() as session:
        sync_roster(session, [RosterEntry("科员甲", "工作人员"), RosterEntry("主任乙", "办公室主任")])
        session.commit()
    yield database
    database.dispose()


def test_a_prompt_expires_after_its_time_and_not_before(database: Database) -> None:
    with database.session() as session:
        person = session.scalars(select(Person).where(Person.name == "主任乙")).one()
        expect_text(session, person.id, "leave:no", 1, 3)
        session.commit()
        made = session.get(PendingInput, person.id).created_at
        made = made if made.tzinfo else made.replace(tzinfo=UTC)
        assert not drop_expired(session, person.id, made + timedelta(minutes=29), timedelta(minutes=30))
        assert drop_expired(session, person.id, made + timedelta(minutes=31), timedelta(minutes=30))
        session.commit()
        assert session.scalar(select(func.count()).select_from(PendingInput)) == 0


def test_xlsx_exports_keep_formula_text_as_text() -> None:
    content = spreadsheet.to_xlsx("记录", ["事由", "目的地"], [[f, "北京"] for f in FORMULAS])
    sheet = openpyxl.load_workbook(io.BytesIO(content)).active
    cells = [cell for row in sheet.iter_rows(min_row=2) for cell in row]
    assert [c.data_type for c in cells] == ["s"] * len(cells)
    # The text is kept as typed. Older openpyxl writes a carriage return as raw XML, which reads
    # back as a line feed; newer versions escape it (_x000D_) and keep it.
    kept = [row[0].value.replace("\r", "\n") for row in sheet.iter_rows(min_row=2)]
    assert kept == [f.replace("\r", "\n") for f in FORMULAS]


def test_csv_exports_neutralise_formula_leading_cells() -> None:
    text = spreadsheet.to_csv(["事由"], [[f] for f in [*FORMULAS, "普通事由"]]).decode("utf-8-sig")
    rows = text.splitlines()[1:]
    assert all(row.lstrip('"').startswith("'") for row in rows[: len(FORMULAS) - 2])
    assert "普通事由" in rows


def test_log_lines_never_contain_the_token(caplog: pytest.LogCaptureFixture) -> None:
    token = "123456:AAFsecret-token-value"
    formatter = logs.RedactingFormatter("%(message)s", [token])
    try:
        raise RuntimeError(f"The token `{token}` was rejected by the server.")
    except RuntimeError as exc:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "start failed: %s", (exc,), None)
        record.exc_info = (type(exc), exc, exc.__traceback__)
    text = formatter.format(record)
    assert token not in text and "<secret>" in text and "Traceback" in text
