"""Curated answers as domain code: reading the office's reply, review flags when an article
changes, and moving them between installations."""

import dataclasses
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.db import CuratedAnswer, Person, QuestionLog
from bot.errors import InvalidInput
from bot.qa import curated
from bot.qa.library import RulebookLibrary
from bot.roster import RosterEntry, person_for, sync_roster
from bot.services import build_services
from bot.storage import Database, open_database
from bot.workflow.models import OutboxMessage
from knowledge import Article, Rulebook, load_library
from retrieval.engine import RulesEngine
from retrieval.examples import EXAMPLES_RULEBOOK as SHIPPED_KEY
from tests.conftest import make_settings


@pytest.mark.parametrize(
    ("reply", "articles", "explanation"),
    [
        ("56 圈阅即表示同意", [56], "圈阅即表示同意"),
        ("第五十六条：圈阅即表示同意。", [56], "圈阅即表示同意"),
        ("58、60", [58, 60], ""),
        ("50,51 和 52 都有规定", [50, 51, 52], "都有规定"),
    ],
)
def test_the_office_reply_is_read_as_articles_then_an_explanation(
    database: Database, reply: str, articles: list[int], explanation: str
) -> None:
    with database.session() as session:
        library = RulebookLibrary(session, load_library())
        views, said = curated.parse_reply(reply, library)
    assert [v.article.number for v in views] == articles and said == explanation


@pytest.mark.parametrize(("reply", "message"), [("圈阅即表示同意", "请先写依据的条号"), ("99 没有这条", "没有第99条")])
def test_a_reply_without_a_valid_article_is_refused(database: Database, reply: str, message: str) -> None:
    with database.session() as session:
        library = RulebookLibrary(session, load_library())
        with pytest.raises(InvalidInput, match=message):
            curated.parse_reply(reply, library)


def test_an_answer_is_flagged_for_review_when_its_article_changes_and_survives_export(database: Database) -> None:
    books = load_library()
    with database.session() as session:
        library = RulebookLibrary(session, books)
        views, _ = curated.parse_reply("56 圈阅即表示同意", library)
        session.add(
            CuratedAnswer(
                question="画圈算同意吗？",
                articles=[curated.key(v) for v in views],
                explanation="圈阅即表示同意",
                articles_digest=curated.digest(views),
                needs_review=False,
            )
        )
        session.commit()
        assert curated.flag_changed(session, library) == 0
        exported = curated.export_jsonl(session)
        assert curated.import_jsonl(session, exported, library) == 0, "an answer already here is not added twice"
    with database.session() as session:
        library = RulebookLibrary(session, [_with_new_text(books[0], 56, "改过的条文。")])
        assert curated.flag_changed(session, library) == 1
        session.commit()
        assert session.get(CuratedAnswer, 1).needs_review
    assert '"question": "画圈算同意吗？"' in exported and '"explanation": "圈阅即表示同意"' in exported


def _with_new_text(book: Rulebook, number: int, text: str) -> Rulebook:
    """The rulebook with article `number` reworded (as a revised rulebook would be)."""

    def reworded(article: Article) -> Article:
        if article.number != number:
            return article
        return dataclasses.replace(article, paragraphs=(dataclasses.replace(article.paragraphs[0], text=text),))

    chapters = tuple(dataclasses.replace(c, articles=tuple(reworded(a) for a in c.articles)) for c in book.chapters)
    return dataclasses.replace(book, chapters=chapters, _by_number={})


def test_the_office_answers_teach_the_rules_engine_at_start(
    tmp_path: Path, chroma_dir: Path, engine: RulesEngine
) -> None:
    settings = make_settings(tmp_path, retrieval_chroma_dir=str(chroma_dir))
    question = "领导在呈批件上画个圈是啥意思？"
    with open_database(settings).session() as session:
        views, _ = curated.parse_reply("56", RulebookLibrary(session, load_library()))
        session.add(
            CuratedAnswer(question=question, articles=[curated.key(views[0])], articles_digest=curated.digest(views))
        )
        session.add(
            CuratedAnswer(question="旧答复", articles=[f"{SHIPPED_KEY}#1"], articles_digest="-", needs_review=True)
        )
        # Its article's text is not what it was answered against: flagged at start, so not learned.
        session.add(CuratedAnswer(question="条文改过的答复", articles=[f"{SHIPPED_KEY}#2"], articles_digest="-"))
        session.commit()
    found = build_services(settings)
    with found.database.session() as session:
        assert curated.as_examples(session).articles == [[(SHIPPED_KEY, 56)]], "none waiting for review teaches"
    taught = found.rules_engine
    assert taught.office_learning is not None, "the bot answers at once and learns in the background"
    taught.office_learning.join(timeout=300)
    assert len(taught.learned.in_scope) == len(engine.learned.in_scope) + 1
    result = taught.search(question)
    assert taught.signals(result).example_similarity > 0.99 > engine.signals(engine.search(question)).example_similarity


def test_a_question_asked_in_wecom_is_answered_to_the_wecom_asker(
    database: Database, engine: RulesEngine
) -> None:
    with database.session() as session:
        sync_roster(session, [RosterEntry("赵敏", "办公室主任", admin=True, telegram_id=10005)])
        library = RulebookLibrary(session, engine.books)
        asked = QuestionLog(
            wecom_userid="zhangwei",
            question="食堂几点开饭？",
            cited=[],
            related=[],
            scores=[],
            declined=True,
            latency_ms=1.0,
        )
        session.add(asked)
        session.commit()
        admin = person_for(session, 10005)
        told = curated.answer_from_queue(
            session, engine, library, admin, asked.id, asked.version, "79 请问办公室", datetime(2026, 12, 3, tzinfo=UTC)
        )
        session.commit()

        assert told == 1
        assert asked.resolved_by_id is not None
        [notice] = session.scalars(select(OutboxMessage)).all()
        assert notice.recipient == "member:zhangwei", "told in WeCom, where they asked, not in a Telegram chat"


def test_askers_are_told_again_when_the_office_re_answers_after_a_revision(
    database: Database, engine: RulesEngine
) -> None:
    """A revision flags the answer; its questions return to the queue marked as revised, and answering
    them again tells the asker a second time, saying it follows the revision."""
    books = load_library()
    now = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    with database.session() as session:
        admin = Person(name="办公室", position="办公室主任", is_admin=True)
        asked = QuestionLog(telegram_user_id=501, chat_id=501, question="出差要向谁请示？", declined=True, latency_ms=1)
        session.add_all([admin, asked])
        session.flush()
        library = RulebookLibrary(session, books)
        curated.answer_from_queue(session, engine, library, admin, asked.id, asked.version, "79", now)
        session.commit()
        assert curated.queue(session, engine) == []

        revised = RulebookLibrary(session, [_with_new_text(books[0], 79, "离包外出须提前一天书面请示。")])
        assert curated.flag_changed(session, revised) == 1
        (group,) = curated.queue(session, engine)
        assert group.revised and group.log_id == asked.id
        assert curated.answer_from_queue(session, engine, revised, admin, asked.id, group.version, "79", now) == 1
        session.commit()
        notices = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        assert [(n.recipient, n.payload["revised"]) for n in notices] == [("chat:501", False), ("chat:501", True)]
        assert curated.queue(session, engine) == []
