"""Several books in one answer: when articles of two books in force come out nearly tied for a
question, both are quoted, each cited by its book's name; when one is the office's own book made
under the other (根据《…》…制定本细则), the answer says that it is the more specific one and applies;
otherwise that each book has a rule on it. A far weaker article of another book stays a button."""

import pytest

from bot.qa.service import LoggedAnswer
from bot.wecom.render import answer_markdown
from handlers.render import answer_message
from knowledge import load_library, parse_rulebook
from retrieval.answer import Answer, compose
from retrieval.corpus import Corpus
from retrieval.decline import Verdict
from retrieval.search import ArticleHit, SearchResult

OFFICE_BOOK = """区政府办公室请假管理细则

第一章 总则
第一条 根据《昆都仑区人民政府工作规则》，结合区政府办公室实际，制定本细则。
第二章 请假
第二条 区政府办公室工作人员离开本地外出，须提前一个工作日向办公室主任书面请假，经批准后方可离开。
第三条 本细则自印发之日起施行。
"""
CANTEEN_BOOK = """机关食堂管理办法

第一章 总则
第一条 机关食堂为区政府工作人员提供工作日午餐。
第二条 工作人员离开本地外出的，应提前一天告知食堂停止订餐。
"""
GENERAL = "《昆都仑区人民政府工作规则》"
OFFICE = "《区政府办公室请假管理细则》"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    folder = tmp_path_factory.mktemp("books")
    books = [load_library()[0]]
    for name, text in (("office_leave", OFFICE_BOOK), ("canteen", CANTEEN_BOOK)):
        (folder / f"{name}.txt").write_text(text, encoding="utf-8")
        books.append(parse_rulebook(folder / f"{name}.txt"))
    return Corpus(books)


def _answer(corpus: Corpus, *scored: tuple[str, int, float]) -> Answer:
    """The confident answer to a leave question whose search ranked these (book, article, score)."""
    hits = []
    for key, number, score in scored:
        index = corpus.find(key, number)
        assert index is not None
        hits.append(ArticleHit(index, corpus.articles[index], score, {}))
    return compose(corpus, SearchResult("离开本地外出要向谁请假？", hits, False), Verdict.CONFIDENT)


@pytest.mark.parametrize("office_first", [True, False])
def test_the_offices_own_book_made_under_the_general_one_is_said_to_apply(corpus: Corpus, office_first: bool) -> None:
    ranked = [("office_leave", 2, 0.80), ("kundulun_government_work_rules_2019", 79, 0.78)]
    answer = _answer(corpus, *(ranked if office_first else ranked[::-1]))
    cited = {(c.rulebook_key, c.article_number) for c in answer.citations}
    assert cited == {("office_leave", 2), ("kundulun_government_work_rules_2019", 79)}
    assert answer.books_note == f"{OFFICE}依据{GENERAL}制定，对此规定更具体，应按{OFFICE}办理："
    lines = answer.text.splitlines()
    assert lines[0] == answer.books_note
    assert any(line.endswith(f"——{OFFICE}第二条（第二章 请假）") for line in lines)
    assert any(line.endswith(f"——{GENERAL}第七十九条（第十二章 工作纪律）") for line in lines)
    # Both channels say it before the quotes.
    logged = LoggedAnswer(1, answer, ())
    assert f"<b>{answer.books_note}</b>" in answer_message(logged, show_question=False)
    assert f"**{answer.books_note}**" in answer_markdown(logged)


def test_two_books_neither_made_under_the_other_each_have_their_rule(corpus: Corpus) -> None:
    answer = _answer(corpus, ("kundulun_government_work_rules_2019", 79, 0.80), ("canteen", 2, 0.79))
    assert [c.rulebook_title for c in answer.citations] == ["昆都仑区人民政府工作规则", "机关食堂管理办法"]
    assert answer.books_note == f"{GENERAL}和《机关食堂管理办法》对此都有规定："


def test_a_far_weaker_article_of_another_book_is_not_quoted(corpus: Corpus) -> None:
    answer = _answer(corpus, ("kundulun_government_work_rules_2019", 79, 0.80), ("office_leave", 2, 0.40))
    assert [c.rulebook_key for c in answer.citations] == ["kundulun_government_work_rules_2019"]
    assert answer.books_note is None and [c.rulebook_key for c in answer.related] == ["office_leave"]
