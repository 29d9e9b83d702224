"""Opening the database: SQLite by default, PostgreSQL by URL; migrations applied at start."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from bot.config import Settings
from bot.datadir import create_private, private_dir

MIGRATIONS = Path(__file__).parent / "migrations"


class Database:
    """An engine and its session factory; one session per unit of work."""

    def __init__(self, url: str) -> None:
        self.url = url
        # hide_parameters: a database error in the log must not carry the reason or question it was saving.
        self.engine: Engine = create_engine(url, pool_pre_ping=True, hide_parameters=True)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
            event.listen(self.engine, "begin", _sqlite_begin_immediate)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session that rolls back whatever was not committed when the block ends."""
        with self._sessions() as session:
            yield session

    def upgrade(self) -> None:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        with self.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    def checkpoint(self) -> None:
        """SQLite: move what the -wal file holds into the database file and empty it, so that rows
        just deleted (the purged questions) are not still readable there. PostgreSQL: nothing to do."""
        if self.engine.dialect.name != "sqlite":
            return
        connection = self.engine.raw_connection()  # autocommit (_sqlite_pragmas): no BEGIN around it
        try:
            connection.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            connection.close()

    def dispose(self) -> None:
        self.engine.dispose()


def _sqlite_pragmas(connection, _record) -> None:
    # pysqlite's own BEGIN handling is switched off so that _sqlite_begin_immediate decides.
    connection.isolation_level = None
    cursor = connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    # Deleted rows (purged questions) are overwritten, not left in free space of the file.
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


def _sqlite_begin_immediate(connection) -> None:
    """Take SQLite's write lock at BEGIN: a transaction that read a row and then writes it would
    otherwise fail with SQLITE_BUSY instead of waiting, and two presses could both read "pending".
    Writers queue on busy_timeout; compare-and-set then behaves as on PostgreSQL."""
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def open_database(settings: Settings) -> Database:
    """Create the data folder if needed (0700; an SQLite file 0600), connect and apply migrations."""
    private_dir(settings.data_dir)
    if settings.database_url.startswith("sqlite:///"):
        create_private(Path(settings.database_url.removeprefix("sqlite:///")))
    database = Database(settings.database_url)
    database.upgrade()
    return database
