"""Fixtures of the domain tests."""

from collections.abc import Iterator

import pytest

from bot.storage import Database


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    """An empty, migrated database: SQLite, and PostgreSQL when TEST_DATABASE_URL names one."""
    database = Database(database_url)
    database.upgrade()
    yield database
    database.dispose()
