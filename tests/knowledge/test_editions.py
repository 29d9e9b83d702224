"""Versions of a rulebook: which is in force on a day, what supersedes what, how each is cited."""

from datetime import date
from pathlib import Path

import pytest

from knowledge import parse_rulebook
from knowledge.editions import Particulars, State
from knowledge.errors import ShelfError
from knowledge.importing import preview_file
from knowledge.library import load_catalogue, load_library
from knowledge.shelf import Shelf
from tests.knowledge.revisions import RULEBOOK, revised, write_text

TITLE = "昆都仑区人民政府工作规则"
CANTEEN = "机关食堂管理办法\n第一章 总则\n第一条 食堂每日供应午餐。\n第二条 就餐须刷卡。\n"


@pytest.fixture
def shelf(tmp_path: Path) -> Shelf:
    return Shelf(None, tmp_path / "rulebooks", tmp_path / "imports")


def publish(shelf: Shelf, path: Path, particulars: Particulars | None = None, name: str | None = None) -> None:
    staged = shelf.stage(preview_file(path), name=name, particulars=particulars)
    shelf.publish(staged.name)


def states(shelf: Shelf, today: date) -> list[tuple[str, str, int]]:
    return [
        (v.book.key, v.state.value, len(v.book.articles)) for v in load_catalogue(None, shelf.published, today).versions
    ]


def test_the_parser_reads_the_effective_date_from_the_text(tmp_path: Path) -> None:
    shipped = parse_rulebook(RULEBOOK)
    assert shipped.effective_on == date(2019, 3, 12)  # 本规则自发布之日起施行
    dated = CANTEEN.replace("就餐须刷卡。", "就餐须刷卡。\n第三条 本办法自2025年1月1日起施行。")
    assert parse_rulebook(write_text(tmp_path / "c.txt", dated)).effective_on == date(2025, 1, 1)
    assert parse_rulebook(write_text(tmp_path / "d.txt", CANTEEN)).effective_on is None


def test_a_new_version_supersedes_the_old_from_its_effective_date(tmp_path: Path, shelf: Shelf) -> None:
    publish(shelf, write_text(tmp_path / "2024.txt", revised()), Particulars(effective_on=date(2027, 1, 1)))
    # Before the date the 2019 version stays in force; the 2024 one waits.
    assert states(shelf, date(2026, 12, 31)) == [
        (RULEBOOK.stem, "现行", 85),
        (RULEBOOK.stem, "待生效", 86),
    ]
    assert [len(b.articles) for b in load_library(None, shelf.published, date(2026, 12, 31))] == [85]
    # From it, the 2024 version is in force and the old one is kept, superseded.
    assert states(shelf, date(2027, 1, 1)) == [
        (RULEBOOK.stem, "已被替代", 85),
        (RULEBOOK.stem, "现行", 86),
    ]
    assert [len(b.articles) for b in load_library(None, shelf.published, date(2027, 1, 1))] == [86]
    assert (shelf.published / "versions" / RULEBOOK.stem / "1.txt").is_file()


def test_with_two_versions_each_cites_with_its_year_and_number(tmp_path: Path, shelf: Shelf) -> None:
    assert load_library(None, shelf.published)[0].cited_title == f"《{TITLE}》"
    publish(shelf, write_text(tmp_path / "2024.txt", revised()))
    catalogue = load_catalogue(None, shelf.published, date(2026, 12, 1))
    (current,) = catalogue.in_force
    assert current.cite(current.article(79)).startswith(f"《{TITLE}》（2024年，昆政发〔2024〕3号）第七十九条")
    (old,) = catalogue.earlier(RULEBOOK.stem)
    assert old.cited_title == f"《{TITLE}》（2019年，昆政发〔2019〕5号）"
    assert "须事先向区长请示" in old.article(79).text


def test_a_book_that_repeals_another_by_title_supersedes_it_under_another_name(tmp_path: Path, shelf: Shelf) -> None:
    publish(shelf, write_text(tmp_path / "canteen.txt", CANTEEN))
    repealing = (
        "机关食堂就餐办法\n第一章 总则\n第一条 食堂每日供应早餐和午餐。\n"
        "第二条 本办法自2027年3月1日起施行。《机关食堂管理办法》（昆政办发〔2020〕1号）同时废止。\n"
    )
    publish(shelf, write_text(tmp_path / "dining.txt", repealing))
    assert ("canteen", "现行", 2) in states(shelf, date(2027, 2, 28))
    assert ("dining", "待生效", 2) in states(shelf, date(2027, 2, 28))
    on_the_day = states(shelf, date(2027, 3, 1))
    assert ("canteen", "已被替代", 2) in on_the_day and ("dining", "现行", 2) in on_the_day


def test_particulars_set_on_import_override_what_the_file_says(tmp_path: Path, shelf: Shelf) -> None:
    particulars = Particulars(
        doc_number="昆政办发〔2020〕1号", issued_on=date(2020, 6, 1), effective_on=date(2020, 7, 1)
    )
    publish(shelf, write_text(tmp_path / "canteen.txt", CANTEEN), particulars)
    (book,) = [b for b in load_library(None, shelf.published) if b.key == "canteen"]
    assert (book.doc_number, book.issued_on, book.effective_on) == (
        "昆政办发〔2020〕1号",
        date(2020, 6, 1),
        date(2020, 7, 1),
    )


def test_a_retired_book_is_kept_but_not_in_force(tmp_path: Path, shelf: Shelf) -> None:
    publish(shelf, write_text(tmp_path / "canteen.txt", CANTEEN))
    shelf.retire("canteen")
    assert [b.key for b in load_library(None, shelf.published)] == [RULEBOOK.stem]
    assert ("canteen", State.RETIRED.value, 2) in states(shelf, date(2026, 12, 1))
    shelf.retire(RULEBOOK.stem)  # a shipped book too: kept under retired/, out of force
    assert load_catalogue(None, shelf.published).in_force == []
    with pytest.raises(ShelfError, match="没有名为“canteen”的现行规则"):
        shelf.retire("canteen")
    # Publishing under a retired name brings the book back, the retired text kept as a version.
    publish(shelf, write_text(tmp_path / "canteen2.txt", CANTEEN.replace("午餐", "午餐和晚餐")), name="canteen")
    assert "canteen" in [b.key for b in load_library(None, shelf.published)]


def test_two_versions_under_one_number_and_year_are_told_apart_by_their_effective_dates(
    tmp_path: Path, shelf: Shelf
) -> None:
    same_number = revised().replace("昆政发〔2024〕3号", "昆政发〔2019〕5号").replace("2024年5月6日", "2019年3月12日")
    publish(shelf, write_text(tmp_path / "更正.txt", same_number), Particulars(effective_on=date(2019, 9, 1)))
    catalogue = load_catalogue(None, shelf.published, date(2026, 12, 1))
    (current,) = catalogue.in_force
    (old,) = catalogue.earlier(RULEBOOK.stem)
    assert current.edition == "2019年，昆政发〔2019〕5号，2019年9月1日起施行"
    assert old.edition == "2019年，昆政发〔2019〕5号，2019年3月12日起施行"


def test_setting_the_issuing_date_moves_an_effective_date_only_when_the_book_takes_effect_on_issue(
    tmp_path: Path,
) -> None:
    undated = parse_rulebook(write_text(tmp_path / "c.txt", CANTEEN))
    assert Particulars(issued_on=date(2020, 6, 1)).apply(undated).effective_on is None
    on_issue = parse_rulebook(RULEBOOK)
    assert Particulars(issued_on=date(2019, 4, 1)).apply(on_issue).effective_on == date(2019, 4, 1)
