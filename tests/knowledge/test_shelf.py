"""Staging and publishing: an import reaches the rulebooks the bot loads only when published."""

from pathlib import Path

import pytest

from knowledge import load_library
from knowledge.errors import ShelfError
from knowledge.importing import preview_file
from knowledge.library import SHIPPED_DIR
from knowledge.shelf import Shelf
from tests.knowledge.revisions import RULEBOOK, revised, write_text

CANTEEN = "机关食堂管理办法\n第一章 总则\n第一条 食堂每日供应午餐。\n第二条 就餐须刷卡。\n"


@pytest.fixture
def shelf(tmp_path: Path) -> Shelf:
    """The default arrangement: the shipped books, and those published into the data folder."""
    return Shelf(None, tmp_path / "rulebooks", tmp_path / "imports")


def books_in_force(shelf: Shelf) -> dict[str, int]:
    return {book.key: len(book.articles) for book in load_library(shelf.folder, shelf.published)}


def test_a_staged_book_is_not_loaded_until_published(tmp_path: Path, shelf: Shelf) -> None:
    staged = shelf.stage(preview_file(write_text(tmp_path / "canteen.txt", CANTEEN)))
    assert staged.name == "canteen" and staged.replaces is None
    assert "canteen" not in books_in_force(shelf)
    assert shelf.publish("canteen") == tmp_path / "rulebooks" / "canteen.txt"
    assert books_in_force(shelf) == {"canteen": 2, RULEBOOK.stem: 85}
    assert shelf.staged_names() == []


def test_a_new_version_takes_the_name_of_the_book_of_its_title_and_replaces_it(tmp_path: Path, shelf: Shelf) -> None:
    staged = shelf.stage(preview_file(write_text(tmp_path / "2024版.txt", revised())))
    assert staged.name == RULEBOOK.stem
    assert staged.replaces is not None and len(staged.replaces.articles) == 85
    assert books_in_force(shelf) == {RULEBOOK.stem: 85}
    shelf.publish(RULEBOOK.stem)
    assert books_in_force(shelf) == {RULEBOOK.stem: 86}
    # The shipped file is untouched: the published one stands in for it.
    assert (SHIPPED_DIR / RULEBOOK.name).read_text(encoding="utf-8") == RULEBOOK.read_text(encoding="utf-8")


def test_a_second_book_of_the_same_title_under_another_name_is_refused(tmp_path: Path, shelf: Shelf) -> None:
    shelf.stage(preview_file(write_text(tmp_path / "copy.txt", revised())), name="副本")
    with pytest.raises(ShelfError, match=f"--name {RULEBOOK.stem}"):
        shelf.publish("副本")
    assert books_in_force(shelf) == {RULEBOOK.stem: 85}


def test_a_refused_import_is_not_staged(tmp_path: Path, shelf: Shelf) -> None:
    preview = preview_file(write_text(tmp_path / "bad.txt", CANTEEN.replace("第二条", "第三条")))
    with pytest.raises(ShelfError, match="1处问题"):
        shelf.stage(preview)
    assert shelf.staged_names() == []


@pytest.mark.parametrize("name", ["../rules", ".hidden", "a/b", ""])
def test_a_name_that_is_no_plain_file_name_is_refused(tmp_path: Path, shelf: Shelf, name: str) -> None:
    with pytest.raises(ShelfError, match="不可用"):
        shelf.stage(preview_file(write_text(tmp_path / "canteen.txt", CANTEEN)), name=name)


def test_a_file_name_with_marks_becomes_a_usable_name(tmp_path: Path, shelf: Shelf) -> None:
    staged = shelf.stage(preview_file(write_text(tmp_path / "关于印发《食堂办法》的通知.txt", CANTEEN)))
    assert staged.name == "关于印发_食堂办法_的通知"


def test_publishing_an_unknown_name_says_what_waits(tmp_path: Path, shelf: Shelf) -> None:
    shelf.stage(preview_file(write_text(tmp_path / "canteen.txt", CANTEEN)))
    with pytest.raises(ShelfError, match="待发布：canteen"):
        shelf.publish("食堂")


def test_list_shows_shipped_published_and_staged_books(tmp_path: Path, shelf: Shelf) -> None:
    shelf.stage(preview_file(write_text(tmp_path / "canteen.txt", CANTEEN)))
    shelf.publish("canteen")
    shelf.stage(preview_file(write_text(tmp_path / "2024.txt", revised())))
    entries = [(e.name, e.state, e.shipped, e.title, e.articles, e.source) for e in shelf.entries()]
    assert entries == [
        ("canteen", "现行", False, "机关食堂管理办法", 2, None),
        (RULEBOOK.stem, "现行", True, "昆都仑区人民政府工作规则", 85, None),
        (RULEBOOK.stem, "待发布", False, "昆都仑区人民政府工作规则", 86, "2024.txt"),
    ]


def test_a_name_is_the_book_in_force_or_with_staged_first_the_staged_one(tmp_path: Path, shelf: Shelf) -> None:
    shelf.stage(preview_file(write_text(tmp_path / "2024.txt", revised())))
    assert len(shelf.resolve(RULEBOOK.stem).articles) == 85
    assert len(shelf.resolve(RULEBOOK.stem, staged_first=True).articles) == 86
    assert len(shelf.resolve(str(tmp_path / "2024.txt")).articles) == 86
    with pytest.raises(ShelfError, match="没有名为“食堂”的规则"):
        shelf.resolve("食堂")


def test_with_an_office_folder_books_are_published_there_and_nothing_is_shipped(tmp_path: Path) -> None:
    folder = tmp_path / "office"
    folder.mkdir()
    write_text(folder / "canteen.txt", CANTEEN)
    shelf = Shelf(folder, None, tmp_path / "imports")
    staged = shelf.stage(preview_file(write_text(tmp_path / "2024.txt", revised())))
    assert staged.name == "2024" and staged.replaces is None
    assert shelf.publish("2024") == folder / "2024.txt"
    assert books_in_force(shelf) == {"2024": 86, "canteen": 2}
