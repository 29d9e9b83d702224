"""The rulebooks as the bot addresses them, with the superseded version of a revised book."""

from datetime import date
from pathlib import Path

import pytest

from bot.errors import NotFound
from bot.qa.library import RulebookLibrary
from bot.storage import Database
from knowledge.importing import preview_file
from knowledge.library import load_catalogue
from knowledge.shelf import Shelf
from tests.knowledge.revisions import revised, write_text


@pytest.fixture
def revised_library(tmp_path: Path, database: Database) -> RulebookLibrary:
    """The shipped rulebook and its 2024 revision, published."""
    shelf = Shelf(None, tmp_path / "rulebooks", tmp_path / "imports")
    shelf.publish(shelf.stage(preview_file(write_text(tmp_path / "2024.txt", revised()))).name)
    catalogue = load_catalogue(None, shelf.published, date(2026, 12, 1))
    books = catalogue.in_force
    with database.session() as session:
        return RulebookLibrary(session, books, {b.key: catalogue.earlier(b.key) for b in books})


def test_an_article_changed_by_the_revision_points_to_its_old_text(revised_library: RulebookLibrary) -> None:
    (view,) = revised_library.find("79")
    assert "提前一天书面" in view.article.text and not view.superseded
    assert view.changed_since is not None and view.changed_since.edition == "2019年，昆政发〔2019〕5号"
    (unchanged,) = revised_library.find("56")
    assert unchanged.changed_since is None


@pytest.mark.parametrize("asked", ["79 旧版", "第七十九条 旧版", "79旧版"])
def test_the_old_version_of_an_article_is_shown_on_request(revised_library: RulebookLibrary, asked: str) -> None:
    (view,) = revised_library.find(asked)
    assert view.superseded and "须事先向区长请示" in view.article.text
    assert view.citation.startswith("《昆都仑区人民政府工作规则》（2019年，昆政发〔2019〕5号）第七十九条")


def test_an_article_the_revision_added_has_no_old_version(revised_library: RulebookLibrary) -> None:
    with pytest.raises(NotFound, match="旧版规则中没有第八十六条"):
        revised_library.find("86 旧版")


def test_a_book_never_revised_has_no_old_version(database: Database) -> None:
    with database.session() as session:
        library = RulebookLibrary(session, load_catalogue(None, None).in_force)
    with pytest.raises(NotFound, match="没有旧版"):
        library.find("79 旧版")
    assert library.find("79")[0].citation.startswith("《昆都仑区人民政府工作规则》第七十九条")
