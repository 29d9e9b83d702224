"""What every handler needs, built once per process and kept in bot_data."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TypeVar

from sqlalchemy.orm import Session

from bot.calendar.overrides import load_calendar
from bot.clock import Clock
from bot.config import Settings
from bot.privacy import purge_question_log
from bot.qa import curated
from bot.qa.library import RulebookLibrary
from bot.roster import read_roster, sync_roster
from bot.storage import Database, open_database
from bot.workflow import outbox
from bot.workflow.context import WorkContext
from bot.workflow.outbox import QUEUED, Doorbell
from knowledge.library import books_in_force, load_catalogue
from knowledge.model import Rulebook
from knowledge.shelf import Shelf
from retrieval.engine import RulesEngine
from retrieval.progress import Progress, silent

T = TypeVar("T")


@dataclass
class Services:
    settings: Settings
    database: Database
    engine: RulesEngine | None
    library: RulebookLibrary
    clock: Clock
    doorbell: Doorbell = field(default_factory=Doorbell)

    def run(self, work: Callable[[Session], T]) -> T:
        """One unit of work: a session, `work`, one commit (a DomainError rolls everything back);
        then the delivery loop is woken if the work queued messages. Domain functions never commit."""
        with self.database.session() as session:
            session.info[outbox.CHANNEL] = self.settings.channel
            result = work(session)
            session.commit()
            queued = session.info.pop(QUEUED, False)
        if queued:
            self.doorbell.ring()
        return result

    @property
    def rules_engine(self) -> RulesEngine:
        if self.engine is None:
            raise RuntimeError("this process was started without the rules engine")
        return self.engine

    def purge_question_log(self, session: Session) -> int:
        """Delete the questions older than [privacy] question_log_days; how many were deleted."""
        return purge_question_log(session, self.clock.now(), self.settings.question_log_days)

    def purge(self) -> int:
        """The retention rule now (`zhengwu purge`, the bot's daily purge): old questions deleted,
        and gone from SQLite's -wal file too; how many were deleted."""
        deleted = self.run(self.purge_question_log)
        self.database.checkpoint()
        return deleted

    def load_engine(self, progress: Progress = silent) -> RulesEngine:
        """Build the rules engine (a first start embeds the rulebooks and learns the examples:
        minutes on a busy machine, told to `progress`), then let it learn the office's answers."""
        engine = RulesEngine.from_settings(self.settings.retrieval, progress, self.clock.today())
        with self.database.session() as session:
            office_examples = curated.as_examples(session)
        if office_examples.questions:
            engine.learn_office_answers(office_examples)
        self.engine = engine
        return engine

    def refresh_rules(self, build: Callable[[date], RulesEngine] | None = None) -> bool:
        """Load the books in force on the clock's today when they are not those loaded: a version's
        effective date has come, or a book was published or retired. The new engine is built in
        this thread (embedding only changed passages) while the old one answers; then the engine,
        the library and the review flags change together. Whether anything changed."""
        retrieval = self.settings.retrieval
        today = self.clock.today()
        catalogue = load_catalogue(retrieval.knowledge_dir, retrieval.published_dir, today)
        books = books_in_force(catalogue, retrieval.knowledge_dir)
        if _texts(books) == _texts(list(self.library.by_id.values())):
            return False
        engine = build(today) if build else RulesEngine.from_settings(retrieval, today=today)
        with self.database.session() as session:
            library = RulebookLibrary(session, engine.books, {b.key: catalogue.earlier(b.key) for b in engine.books})
            curated.flag_changed(session, library)
            session.commit()
            office_examples = curated.as_examples(session)
        if office_examples.questions:
            engine.learn_office_answers(office_examples)
        self.engine, self.library = engine, library
        return True

    def context(self, session: Session) -> WorkContext:
        """The time, the calendar with its overrides, and the group chats, for one unit of work."""
        return WorkContext(
            self.clock.now(),
            load_calendar(session),
            self.settings.channel_groups,
            outbox.group_recipient(self.settings.leave_notice_group),
            timedelta(hours=self.settings.leave_remind_after_hours),
            timedelta(hours=self.settings.leave_escalate_after_hours),
        )


def _texts(books: list[Rulebook]) -> set[tuple[str, str]]:
    """Which text is loaded under each name (a version published ahead changes no text in force)."""
    return {(book.key, book.source_sha256) for book in books}


def rule_shelf(settings: Settings) -> Shelf:
    """Where this installation's rulebooks are staged and published (the CLI and the console)."""
    retrieval = settings.retrieval
    return Shelf(retrieval.knowledge_dir, retrieval.published_dir, settings.data_dir / "rulebook-imports")


def build_services(settings: Settings, engine: RulesEngine | None = None, with_engine: bool = True) -> Services:
    """Open the database (migrating it), sync the roster and rulebooks, load the rules engine
    (a delivery-only process does without it; the bot's start loads it later, `load_engine`)."""
    database = open_database(settings)
    clock = Clock(settings.timezone)
    # The version of each book in force is the one in force on the bot's today.
    catalogue = load_catalogue(settings.retrieval.knowledge_dir, settings.retrieval.published_dir, clock.today())
    books = engine.books if engine else books_in_force(catalogue, settings.retrieval.knowledge_dir)
    roster = read_roster(settings.roster_path)
    with database.session() as session:
        sync_roster(session, roster)
        library = RulebookLibrary(session, books, {book.key: catalogue.earlier(book.key) for book in books})
        # An office answer resting on an article whose text changed is not used until reviewed.
        curated.flag_changed(session, library)
        session.commit()
    services = Services(settings, database, engine, library, clock)
    # Only an engine built here learns this database's answers; one passed in is someone else's.
    if engine is None and with_engine:
        services.load_engine()
    return services
