"""What every handler needs, built once per process and kept in bot_data."""

from dataclasses import dataclass

from bot.clock import Clock
from bot.config import Settings
from bot.qa.library import RulebookLibrary
from bot.roster import read_roster, sync_roster
from bot.storage import Database, open_database
from retrieval.engine import RulesEngine


@dataclass
class Services:
    settings: Settings
    database: Database
    engine: RulesEngine
    library: RulebookLibrary
    clock: Clock


def build_services(settings: Settings, engine: RulesEngine | None = None) -> Services:
    """Open the database (migrating it), sync the roster and rulebooks, load the rules engine."""
    database = open_database(settings)
    engine = engine or RulesEngine.from_settings(settings.retrieval)
    roster = read_roster(settings.roster_path)
    with database.session() as session:
        sync_roster(session, roster)
        library = RulebookLibrary(session, engine.books)
        session.commit()
    return Services(settings, database, engine, library, Clock(settings.timezone))
