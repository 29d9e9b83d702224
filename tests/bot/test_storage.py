"""Migrations, roster sync, invites and question statistics on SQLite and (when set) PostgreSQL."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import inspect, select, text

from bot.config import PROJECT_ROOT
from bot.db import InviteCode, Person, QuestionLog, utcnow
from bot.errors import InvalidInput, NotFound, RosterError
from bot.privacy import purge_question_log
from bot.qa.service import question_stats, record_feedback
from bot.roster import (
    RosterEntry,
    create_invite,
    person_for_wecom,
    read_roster,
    redeem_invite,
    require_person,
    sync_roster,
)
from bot.storage import MIGRATIONS, Database

INVITE_VALID = timedelta(hours=72)


def test_migrations_create_every_table_and_run_twice_harmlessly(database: Database) -> None:
    database.upgrade()
    tables = set(inspect(database.engine).get_table_names())
    assert {"people", "invite_codes", "rulebooks", "question_log", "alembic_version"} <= tables


def test_sample_roster_covers_every_position_and_ab_pairs() -> None:
    entries = read_roster(PROJECT_ROOT / "bot" / "sample_roster.toml")
    assert {e.position for e in entries} == {
        "区长",
        "常务副区长",
        "副区长",
        "办公室主任",
        "办公室副主任",
        "部门主要负责人",
        "工作人员",
    }
    pairs = {(e.name, e.ab_partner) for e in entries if e.ab_partner}
    assert all((partner, name) in pairs for name, partner in pairs)


def test_roster_sync_updates_people_and_keeps_invite_bindings(database: Database) -> None:
    with database.session() as session:
        sync_roster(session, [RosterEntry("甲", "区长", telegram_id=1), RosterEntry("乙", "工作人员")])
        now = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
        code = create_invite(session, "乙", now, INVITE_VALID)
        redeem_invite(session, code, 2, now)
        session.commit()
    with database.session() as session:
        sync_roster(session, [RosterEntry("甲", "区长", telegram_id=1), RosterEntry("乙", "副区长", areas=["教育"])])
        session.commit()
    with database.session() as session:
        second = require_person(session, 2)
        assert (second.name, second.position, second.areas) == ("乙", "副区长", ["教育"])
        sync_roster(session, [RosterEntry("甲", "区长", telegram_id=1)])
        session.commit()
        assert session.scalar(select(Person).where(Person.name == "乙")).active is False


def test_wecom_accounts_come_from_the_roster_and_move_with_it(database: Database) -> None:
    with database.session() as session:
        sync_roster(session, [RosterEntry("甲", "区长", wecom_userid="JiaZhang"), RosterEntry("乙", "工作人员")])
        session.commit()
        assert person_for_wecom(session, "jiazhang").name == "甲", "WeCom accounts compare without case"
        assert person_for_wecom(session, "yi") is None
    with database.session() as session:
        # The account moves to another person in one sync (no unique clash on the way).
        sync_roster(session, [RosterEntry("甲", "区长"), RosterEntry("乙", "工作人员", wecom_userid="jiazhang")])
        session.commit()
        assert person_for_wecom(session, "JiaZhang").name == "乙"
        sync_roster(session, [RosterEntry("甲", "区长")])
        session.commit()
        assert person_for_wecom(session, "jiazhang") is None, "someone off the roster is nobody in WeCom"


def test_sample_roster_gives_everyone_a_wecom_account() -> None:
    entries = read_roster(PROJECT_ROOT / "bot" / "sample_roster.toml")
    assert all(e.wecom_userid for e in entries)


def test_invite_code_works_once_and_only_for_roster_names(database: Database) -> None:
    now = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
    with database.session() as session:
        sync_roster(session, [RosterEntry("甲", "工作人员")])
        code = create_invite(session, "甲", now, INVITE_VALID)
        assert redeem_invite(session, code, 42, now).name == "甲"
        with pytest.raises(InvalidInput):
            redeem_invite(session, code, 43, now)
        with pytest.raises(NotFound):
            create_invite(session, "不在花名册", now, INVITE_VALID)


def test_invite_codes_are_stored_hashed_and_expire(database: Database) -> None:
    now = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
    with database.session() as session:
        sync_roster(session, [RosterEntry("甲", "工作人员"), RosterEntry("乙", "工作人员")])
        late = create_invite(session, "甲", now, INVITE_VALID)
        timely = create_invite(session, "乙", now, INVITE_VALID)
        session.commit()
        stored = session.scalars(select(InviteCode.code_hash)).all()
        assert late not in stored and timely not in stored, "only hashes are kept"
        with pytest.raises(InvalidInput, match="已过期"):
            redeem_invite(session, late, 42, now + INVITE_VALID)
        assert redeem_invite(session, timely, 43, now + INVITE_VALID - timedelta(minutes=1)).name == "乙"


def _logged(question: str, declined: bool = True, asked_at: datetime | None = None) -> QuestionLog:
    return QuestionLog(
        asked_at=asked_at or utcnow(),
        telegram_user_id=5,
        chat_id=5,
        question=question,
        cited=[],
        related=[],
        scores=[],
        declined=declined,
        latency_ms=10.0,
    )


def test_questions_older_than_the_retention_period_are_purged(database: Database) -> None:
    now = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
    with database.session() as session:
        for days_ago, question in ((181, "很久以前"), (179.9, "快到期"), (1, "昨天")):
            session.add(_logged(question, asked_at=now - timedelta(days=days_ago)))
        session.commit()
        assert purge_question_log(session, now, keep_days=180) == 1
        session.commit()
        kept = session.scalars(select(QuestionLog.question).order_by(QuestionLog.asked_at)).all()
        assert kept == ["快到期", "昨天"]
        assert purge_question_log(session, now, keep_days=180) == 0


def test_question_stats_count_declines_dislikes_and_top_unanswered(database: Database) -> None:
    with database.session() as session:
        for question, declined in [
            ("食堂几点开饭？", True),
            ("食堂几点开饭？", True),
            ("公积金？", True),
            ("第9条", False),
        ]:
            session.add(_logged(question, declined))
        session.commit()
        last = session.scalars(select(QuestionLog).order_by(QuestionLog.id.desc())).first()
        assert record_feedback(session, last.id, 5, -1)
        stats = question_stats(session)
    assert (stats.total, stats.declined, stats.thumbs_down) == (4, 3, 1)
    assert stats.top_unanswered[0] == ("食堂几点开饭？", 2)
    assert stats.disliked == ["第9条"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('[[person]]\nname = "甲"\nposition = "局长"\n', "position '局长' is not one of"),
        ('[[person]]\nname = "甲"\nposition = "副区长"\nab_partner = "乙"\n', "who is not on the roster"),
        ('[[person]]\nname = "甲"\nposition = "副区长"\nphone = "1"\n', "unknown field 'phone'"),
        ('[[person]]\nname = "甲"\nposition = "副区长"\n[[person]]\nname = "甲"\nposition = "区长"\n', "appears twice"),
        ('[[person]]\nname = "甲"\nposition = "副区长"\nwecom_userid = "张 三"\n', "is not a WeCom account"),
        (
            '[[person]]\nname = "甲"\nposition = "副区长"\nwecom_userid = "ZhangSan"\n'
            '[[person]]\nname = "乙"\nposition = "区长"\nwecom_userid = "zhangsan"\n',
            "a wecom_userid is given to two people",
        ),
    ],
)
def test_bad_roster_is_rejected_with_the_entry_named(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "roster.toml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(RosterError, match=message):
        read_roster(path)


def _migrate(database: Database, direction: str, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with database.engine.begin() as connection:
        config.attributes["connection"] = connection
        getattr(command, direction)(config, revision)


def test_the_wecom_migration_goes_down_keeping_telegram_questions_and_up_again(database: Database) -> None:
    with database.session() as session:
        sync_roster(session, [RosterEntry("甲", "区长", telegram_id=1, wecom_userid="jia")])
        session.add_all([_logged("在 Telegram 问的", False), _logged("在企业微信问的", False)])
        session.flush()
        wecom_row = session.scalars(select(QuestionLog).where(QuestionLog.question == "在企业微信问的")).one()
        wecom_row.telegram_user_id, wecom_row.chat_id, wecom_row.wecom_userid = None, None, "jia"
        session.commit()

    _migrate(database, "downgrade", "0008")
    columns = {c["name"] for c in inspect(database.engine).get_columns("people")}
    assert "wecom_userid" not in columns and not inspect(database.engine).has_table("wecom_callbacks")
    with database.engine.connect() as connection:
        questions = connection.execute(text("SELECT question FROM question_log")).scalars().all()
    assert questions == ["在 Telegram 问的"], "a question with no Telegram asker cannot stay in the old table"

    _migrate(database, "upgrade", "head")
    with database.session() as session:
        sync_roster(session, [RosterEntry("甲", "区长", telegram_id=1, wecom_userid="jia")])
        session.commit()
        assert person_for_wecom(session, "jia").name == "甲"


def test_outbox_rows_come_to_name_their_recipients_and_go_back_to_telegram_chats(database: Database) -> None:
    with database.session() as session:
        sync_roster(session, [RosterEntry("甲", "区长", telegram_id=77, wecom_userid="jia")])
        session.commit()
        person_id = person_for_wecom(session, "jia").id
    _migrate(database, "downgrade", "0009")
    insert = text(
        "INSERT INTO outbox (kind, chat_id, payload, working_hours_only, send_at, status, attempts)"
        " VALUES ('notice', :chat, '{}', :no, :at, 'pending', 0)"
    )
    with database.engine.begin() as connection:
        for chat in (77, -100123):  # a person's private chat, a group
            connection.execute(insert, {"chat": chat, "no": False, "at": datetime(2027, 3, 1, tzinfo=UTC)})

    _migrate(database, "upgrade", "head")
    with database.engine.begin() as connection:
        recipients = connection.execute(text("SELECT recipient FROM outbox ORDER BY id")).scalars().all()
        assert recipients == [f"person:{person_id}", "chat:-100123"]
        connection.execute(text("UPDATE outbox SET recipient = 'group:office' WHERE recipient = 'chat:-100123'"))

    _migrate(database, "downgrade", "0009")
    with database.engine.connect() as connection:
        chats = connection.execute(text("SELECT chat_id FROM outbox ORDER BY id")).scalars().all()
    assert chats == [77], "a row only the channel could resolve (a group by name) has no Telegram chat to keep"
    _migrate(database, "upgrade", "head")
