"""A revised rulebook through the bot, on SQLite and PostgreSQL: the office publishes a version with
two changed articles (第五十条, 第七十九条) and one new (第八十六条); after the bot's restart its
answers cite the new version by year and 文号, /article shows the new text and the old on request,
the office answer resting on a changed article is flagged and back on the queue, and answering it
again tells the asker; the diff lists exactly those three changes.

CI cost: the shared bot engine answers before the revision. The engine after it starts from a copy
of the shared engine's index, so only the changed articles' passages are embedded (retrieval.dense),
and what it learned from the shipped examples is reused from the shared engine (a three-article
revision does not change it; learning it again would cost about two minutes). One such engine
serves both databases: the module adds seconds, not minutes.
"""

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.benchmarks.harness import RunningBot, start_sandbox
from bot.db import CuratedAnswer
from bot.sandbox.client import SandboxClient, buttons
from bot.sandbox.server import SandboxServer
from bot.services import Services, build_services, rule_shelf
from knowledge.diff import ChangeKind, diff_rulebooks
from knowledge.editions import Particulars
from knowledge.importing import preview_file
from knowledge.library import load_library
from knowledge.shelf import Shelf
from retrieval.corpus import Corpus
from retrieval.engine import RetrievalSettings, RulesEngine, learned_cache_key
from retrieval.examples import load_examples
from tests.conftest import make_settings, postgres_url
from tests.handlers.conftest import START_OF_TESTS
from tests.handlers.leave_steps import answer
from tests.handlers.test_concurrency import DIRECTOR, STAFF, _last_id
from tests.knowledge.revisions import RULEBOOK, revised, write_text

ASKER, ADMIN = 10007, DIRECTOR
TRIP = "副区长离包外出要向谁请示？"
HOW_EARLY = "领导离包外出要提前多久请示？"
OLD_CITATION = "《昆都仑区人民政府工作规则》第七十九条"
NEW_CITATION = "《昆都仑区人民政府工作规则》（2024年，昆政发〔2024〕3号）第七十九条"


def _learned_key(corpus: Corpus, model_id: str) -> str:
    return learned_cache_key(corpus, model_id, load_examples())


@pytest.fixture(scope="module")
def revised_engine(
    tmp_path_factory: pytest.TempPathFactory, two_rulebooks: Path, bot_engine: RulesEngine
) -> RulesEngine:
    """The engine over the test rulebooks with the revision published (see the module's note on cost)."""
    folder = tmp_path_factory.mktemp("revised-rules")
    shutil.copytree(two_rulebooks, folder, dirs_exist_ok=True)
    _publish_revision(folder, tmp_path_factory.mktemp("revision"))
    books = load_library(folder)
    chroma = tmp_path_factory.mktemp("revised-chroma")
    shutil.copytree(bot_engine._cache_dir, chroma, dirs_exist_ok=True)
    model_id = bot_engine._model_id
    shared = bot_engine._cache_dir / f"learned-{_learned_key(bot_engine.corpus, model_id)}.npz"
    shutil.copy(shared, chroma / f"learned-{_learned_key(Corpus(books), model_id)}.npz")
    settings = RetrievalSettings(knowledge_dir=folder, chroma_dir=chroma)
    learned = set(chroma.glob("learned-*.npz"))
    engine = RulesEngine(books, bot_engine.dense._embedder, settings)
    assert engine.dense.rebuilt
    assert set(chroma.glob("learned-*.npz")) == learned, "what the shared engine learned is reused, not relearned"
    return engine


@pytest.fixture(autouse=True)
def reset_clock() -> None:
    """This module runs a bot of its own; the shared live bot (tests/handlers/conftest.py) is not needed."""


def _publish_revision(folder: Path, scratch: Path, effective: date | None = None) -> None:
    shelf = Shelf(folder, None, scratch / "imports")
    revision = write_text(scratch / "工作规则（2024年修订）.txt", revised())
    staged = shelf.stage(preview_file(revision), particulars=Particulars(effective_on=effective))
    assert staged.name == RULEBOOK.stem
    shelf.publish(staged.name)


@dataclass
class Bot:
    client: SandboxClient
    services: Services
    running: RunningBot
    server: SandboxServer

    def restart(self, engine: RulesEngine) -> None:
        """A new start of the bot on the same database and rules folder, with `engine`."""
        self.running.stop()
        self.services = build_services(self.services.settings, engine=engine)
        self.services.clock.set(START_OF_TESTS)
        self.running = RunningBot(self.services, self.server).start()


@pytest.fixture(params=["sqlite", "postgresql"])
def bot(request: pytest.FixtureRequest, tmp_path: Path, two_rulebooks: Path, bot_engine: RulesEngine) -> Iterator[Bot]:
    folder = tmp_path / "rules"
    shutil.copytree(two_rulebooks, folder)
    overrides = {"retrieval_knowledge_dir": str(folder), "reminders_scan_seconds": "3600"}
    if request.param == "postgresql":
        overrides["database_url"] = postgres_url("zhengwu_rule_revision")
    services = build_services(make_settings(tmp_path, **overrides), engine=bot_engine)
    services.clock.set(START_OF_TESTS)
    server = start_sandbox(services)
    running = RunningBot(services, server).start()
    found = Bot(SandboxClient(server.url), services, running, server)
    yield found
    found.client.close()
    found.running.stop()
    server.stop_thread()


def test_a_published_revision_is_cited_shown_flagged_and_re_answered(bot: Bot, revised_engine: RulesEngine) -> None:
    client = bot.client
    [before] = client.ask(STAFF, TRIP)
    assert OLD_CITATION in before["text"] and "须事先向区长请示" in before["text"]
    # The rules give no notice period: declined, and the office answers from 第七十九条.
    mark = _last_id(client, ASKER)
    [declined] = client.ask(ASKER, HOW_EARLY)
    assert "没有规定" in declined["text"], declined["text"]
    _office_answers(bot, "79 事先请示即可，规则没有规定提前多久")
    client.wait_message(ASKER, mark, "办公室答复：事先请示即可")

    # The office publishes the revision; the bot reads it at its next start.
    _publish_revision(bot.services.settings.retrieval.knowledge_dir, bot.services.settings.data_dir)
    bot.restart(revised_engine)
    assert [b.source_sha256 for b in bot.services.library.by_id.values()] == [
        b.source_sha256 for b in revised_engine.books
    ], "the engine is the one over the books now in force"

    [after] = client.ask(STAFF, TRIP)
    assert NEW_CITATION in after["text"] and "须提前一天书面向区长请示" in after["text"], after["text"]
    assert OLD_CITATION not in after["text"]
    [article] = client.ask(STAFF, "/article 79")
    assert article["text"].startswith(NEW_CITATION) and "提前一天书面" in article["text"]
    assert "/article 79 旧版" in article["text"]
    [old] = client.ask(STAFF, "/article 79 旧版")
    assert old["text"].startswith("📜 旧版") and "（2019年，昆政发〔2019〕5号）第七十九条" in old["text"]
    assert "须事先向区长请示" in old["text"]

    with bot.services.database.session() as session:
        assert session.scalars(select(CuratedAnswer)).one().needs_review, "flagged: its article changed"
    queue = answer(client, ADMIN, "/unanswered")
    assert "离包外出要提前多久" in queue["text"] and "所依据的条文已修订" in queue["text"]
    mark = _last_id(client, ASKER)
    _office_answers(bot, "79 须提前一天书面请示", queue)
    told = client.wait_message(ASKER, mark, "因规则修订，办公室重新答复：须提前一天书面请示")
    assert NEW_CITATION in told["text"] and "📄 第七十九条全文" in buttons(told)

    library = bot.services.library
    rulebook_id = library.id_of[RULEBOOK.stem]
    changes = diff_rulebooks(library.earlier[rulebook_id], library.book(rulebook_id))
    assert [(c.kind, c.old and c.old.number, c.new and c.new.number) for c in changes] == [
        (ChangeKind.CHANGED, 50, 50),
        (ChangeKind.CHANGED, 79, 79),
        (ChangeKind.ADDED, None, 86),
    ]
    assert rule_shelf(bot.services.settings).in_force_books(date(2026, 12, 1))[1].edition == "2024年，昆政发〔2024〕3号"


def _office_answers(bot: Bot, reply: str, queue: dict | None = None) -> None:
    client = bot.client
    queue = queue or answer(client, ADMIN, "/unanswered")
    client.wait_callback_answer(client.press(ADMIN, queue, buttons(queue)["答复 1"]))
    client.wait_message(ADMIN, queue["message_id"], "先写依据的条号")
    done = answer(client, ADMIN, reply)
    assert "已告知 1 位提问人" in done["text"], done["text"]
    bot.running.deliver()


def test_a_version_published_ahead_takes_over_on_its_effective_date_without_a_restart(
    bot: Bot, revised_engine: RulesEngine
) -> None:
    """The bot's daily check (bot.app) reloads the rules when the books in force on its clock change."""
    _publish_revision(bot.services.settings.retrieval.knowledge_dir, bot.services.settings.data_dir, date(2026, 12, 10))
    assert not bot.services.refresh_rules(), "before its date the 2019 version stays in force"
    [before] = bot.client.ask(STAFF, TRIP)
    assert OLD_CITATION in before["text"] and "须事先向区长请示" in before["text"], before["text"]
    bot.services.clock.set(START_OF_TESTS.replace(day=10))
    assert bot.services.refresh_rules(build=lambda today: revised_engine)
    [after] = bot.client.ask(STAFF, TRIP)
    assert NEW_CITATION in after["text"] and "须提前一天书面向区长请示" in after["text"], after["text"]
    assert not bot.services.refresh_rules(build=lambda today: revised_engine), "nothing changes twice"
