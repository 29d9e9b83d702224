"""The shipped rulebook parses completely, and malformed files are rejected with a location."""

from pathlib import Path

import pytest

from knowledge import RulebookFormatError, load_library, parse_rulebook
from knowledge.library import SHIPPED_DIR
from knowledge.parser import FormatProblem

RULEBOOK = SHIPPED_DIR / "kundulun_government_work_rules_2019.txt"


@pytest.fixture(scope="module")
def book():
    return parse_rulebook(RULEBOOK)


def test_all_85_articles_in_order_across_13_chapters(book) -> None:
    assert [a.number for a in book.articles] == list(range(1, 86))
    assert [c.number for c in book.chapters] == list(range(1, 14))
    assert book.chapters[0].title == "总则"
    assert book.chapters[11].heading == "第十二章 工作纪律"
    assert [a.number for a in book.chapters[7].articles] == list(range(44, 54))


def test_document_metadata(book) -> None:
    assert book.title == "昆都仑区人民政府工作规则"
    assert book.doc_number == "昆政发〔2019〕5号"
    assert book.issued_on.isoformat() == "2019-03-12"
    assert book.repeals == "《昆都仑区人民政府工作规则》（昆政发〔2013〕4号）"


def test_paragraphs_and_items(book) -> None:
    article_10 = book.article(10)
    assert len(article_10.paragraphs) == 2
    assert article_10.paragraphs[1].text.startswith("区人民政府工作部门要各司其职")
    items = book.article(46).paragraphs[0].items
    assert [i.number for i in items] == list(range(1, 9))
    assert items[6].text == "（七）研究财政资金分配和重大投资项目安排等事项。"


def test_distribution_footer_is_not_part_of_the_last_article(book) -> None:
    assert "抄送" not in book.article(85).text
    assert book.article(85).text.endswith("同时废止。")


def test_citation_names_document_article_and_chapter(book) -> None:
    assert book.cite(book.article(79)) == "《昆都仑区人民政府工作规则》第七十九条（第十二章 工作纪律）"


def test_library_loads_every_rulebook_in_a_folder(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text(RULEBOOK.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "b.txt").write_text("机关食堂管理办法\n第一章 总则\n第一条 食堂每日供应午餐。\n", encoding="utf-8")
    books = load_library(tmp_path)
    assert [b.title for b in books] == ["昆都仑区人民政府工作规则", "机关食堂管理办法"]
    assert books[1].article(1).text == "食堂每日供应午餐。"


@pytest.mark.parametrize(
    ("text", "line", "expected"),
    [
        ("规则\n第一章 总则\n第一条 甲。\n第三条 丙。\n", 4, "第二条"),
        ("规则\n第一章 总则\n说明文字\n第一条 甲。\n", 3, "章标题之后的第一条"),
        ("规则\n第一条 甲。\n", 2, "第一条之前的章标题"),
        ("规则\n第一章 总则\n第一条 甲。\n第三章 附则\n", 4, "第二章"),
        ("规则\n没有章节的文字\n", 2, "“第一章 总则”这样的章标题"),
        ("规则\n第一章 总则\n第一条 甲：\n（一）乙。\n（三）丙。\n", 5, "（二）项"),
        ("规则\n第一章 总则\n第一条\n", 3, "第一条的条文"),
    ],
)
def test_malformed_rulebook_is_rejected_with_file_line_and_expectation(
    tmp_path: Path, text: str, line: int, expected: str
) -> None:
    path = tmp_path / "bad.txt"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RulebookFormatError) as caught:
        parse_rulebook(path)
    assert caught.value.line_number == line
    assert expected in caught.value.expected
    assert str(path) in str(caught.value)


def test_every_problem_is_reported_once_in_one_reading(tmp_path: Path) -> None:
    path = tmp_path / "bad.txt"
    text = (
        "规则\n第一章 总则\n第一条 甲：\n（一）乙；\n（三）丙。\n第三条 丁。\n第四条 戊。\n第三章 附则\n第五条 己。\n"
    )
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RulebookFormatError) as caught:
        parse_rulebook(path)
    # The count goes on from the number found: 第四条 after 第三条 and 第五条 after it are no problems.
    found = [(p.line_number, p.expected) for p in caught.value.problems]
    assert found == [(5, "（二）项"), (6, "第二条"), (8, "第二章")]
    assert "（另有2处问题）" in str(caught.value)


def test_a_problem_shows_the_beginning_of_a_long_line() -> None:
    problem = FormatProblem(4, "第二条", "第三条 " + "丙" * 100)
    assert problem.describe() == "第4行：应为第二条；该行为：第三条 " + "丙" * 36 + "……"


def test_non_utf8_file_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "gbk.txt"
    path.write_bytes("规则\n第一章 总则\n第一条 甲。\n".encode("gbk"))
    with pytest.raises(RulebookFormatError, match="UTF-8"):
        parse_rulebook(path)
