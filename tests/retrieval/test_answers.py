"""Questions get the right article quoted and cited; uncovered questions are declined."""

import math
from dataclasses import replace

import pytest

from retrieval.answer import MAX_QUOTE_CHARS, Citation, Quote
from retrieval.benchmark import PASTED_PAGE
from retrieval.dense import QUERY_WINDOW
from retrieval.engine import MAX_QUESTION_CHARS, RulesEngine
from retrieval.reference import referenced_articles


def test_leave_question_quotes_article_79_with_chapter(engine: RulesEngine) -> None:
    answer = engine.ask("副区长离包外出要向谁请示？")
    assert not answer.declined
    first = answer.quotes[0]
    assert first.citation.article_number == 79
    assert first.citation.text == "《昆都仑区人民政府工作规则》第七十九条（第十二章 工作纪律）"
    assert any("须事先向区长请示" in s for s in first.sentences)
    assert "第七十九条" in answer.text


@pytest.mark.parametrize(
    ("question", "article"),
    [("第五十条规定了什么", 50), ("第79条", 79), ("看看五十八条", 58), ("第八十五条讲什么", 85)],
)
def test_direct_article_lookup_returns_the_whole_article(engine: RulesEngine, question: str, article: int) -> None:
    answer = engine.ask(question)
    assert [c.article_number for c in answer.citations] == [article]
    assert answer.quotes[0].whole_article
    assert "".join(answer.quotes[0].sentences) == engine.books[0].article(article).text


@pytest.mark.parametrize(
    "question", ["食堂几点开饭？", "公积金怎么提取？", "区长的工资是多少？", "How do I reset my password?"]
)
def test_question_outside_the_rules_is_declined_without_citation(engine: RulesEngine, question: str) -> None:
    answer = engine.ask(question)
    assert answer.declined
    assert answer.citations == ()
    assert "没有找到" in answer.text


@pytest.mark.parametrize("question", ["第999条", "第九十九条规定了什么？", "看看第0条和第86条"])
def test_a_question_naming_only_articles_the_rules_lack_is_declined(engine: RulesEngine, question: str) -> None:
    answer = engine.ask(question)
    assert answer.declined and answer.citations == ()


def test_answers_cite_at_most_three_articles_all_retrieved(engine: RulesEngine) -> None:
    for question in ["哪些事项必须上会集体讨论决定？", "会议纪要由谁签发？", "区政府要建设什么样的政府？"]:
        answer = engine.ask(question)
        retrieved = {h.ref.article.number for h in engine.search(question).hits}
        cited = {c.article_number for c in answer.citations}
        assert 1 <= len(cited) <= 3
        assert cited <= retrieved


def test_enumerating_sentence_is_quoted_with_its_items(engine: RulesEngine) -> None:
    answer = engine.ask("全体会议的主要任务是什么")
    quote = answer.quotes[0]
    assert quote.citation.article_number == 45
    assert any(s.startswith("（三）") for s in quote.sentences)


@pytest.mark.parametrize(
    ("text", "numbers"),
    [
        ("第五十条规定了什么", [50]),
        ("看看五十八条", [58]),
        ("按照85条", [85]),
        ("有哪一条规定请假", []),
        ("这两条", []),
        ("五条禁令", []),
    ],
)
def test_article_references_are_recognised_only_when_unambiguous(text: str, numbers: list[int]) -> None:
    assert referenced_articles(text) == numbers


@pytest.mark.parametrize("question", ["？", "?", "！", "👍", "。。。", "…", "——", "   ", "\u200b"])
def test_a_message_without_words_is_declined_not_a_crash(engine: RulesEngine, question: str) -> None:
    answer = engine.ask(question)
    assert answer.declined and not answer.citations


def test_a_pasted_page_is_read_only_as_far_as_a_message_and_embedded_only_at_its_start(
    engine: RulesEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    embedded: list[str] = []
    embed = engine.dense._embed_window

    def spy(text: str):
        embedded.append(text)
        return embed(text)

    monkeypatch.setattr(engine.dense, "_embed_window", spy)
    answer = engine.ask(PASTED_PAGE)
    assert len(answer.question) == MAX_QUESTION_CHARS
    assert [len(text) for text in embedded] == [QUERY_WINDOW]
    # The page repeats two questions, about 第七十九条 and 第五十条, equally often.
    assert answer.citations[0].article_number in (79, 50)


def test_a_hedge_quotes_the_nearest_clause_for_checking_and_offers_two_more_articles(
    engine: RulesEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine, "policy", replace(engine.policy, confident_at=math.inf, tentative_at=-math.inf))
    answer = engine.ask("副区长离包外出要向谁请示？")
    assert answer.tentative and not answer.declined
    assert [c.article_number for c in answer.citations] == [79] and len(answer.related) == 2
    assert "须事先向区长请示" in answer.quotes[0].quoted
    assert answer.text.startswith("最相关的规定（请核对是否适用）：") and "没有" not in answer.text


def test_a_long_quote_is_cut_at_a_clause_within_300_characters() -> None:
    citation = Citation("book", "规则", 1, "总则", 1, "第一条", 1.0)
    clauses = [f"第{n}项工作由有关部门负责办理，" for n in range(40)]
    quote = Quote(citation, ("".join(clauses) + "具体办法另行制定。",), True)
    assert len(quote.quoted) <= MAX_QUOTE_CHARS + 2 and quote.quoted.endswith("，……")
    assert quote.quoted.removesuffix("……") in "".join(quote.sentences)
    short = Quote(citation, ("离包外出，须事先向区长请示。",), True)
    assert short.quoted == "离包外出，须事先向区长请示。"


def test_the_clause_about_the_meeting_asked_is_quoted_and_nothing_that_only_repeats_the_subject(
    engine: RulesEngine,
) -> None:
    answer = engine.ask("开常务会议的议题谁来定？")
    [quote] = answer.quotes
    assert quote.citation.article_number == 49
    assert "提请区人民政府常务会议和区长办公会议的议题" in quote.quoted
    assert "提请区人民政府全体会议的议题" not in quote.quoted
    # Art. 46 (who sits in the 常务会议, its tasks) is offered, not quoted under the answer.
    assert 46 in [c.article_number for c in answer.related]


def test_a_question_in_two_parts_quotes_the_article_answering_each(engine: RulesEngine) -> None:
    answer = engine.ask("常务会议多久开一次，议题由谁确定？")
    assert not answer.declined and answer.missing_detail is None
    assert sorted(c.article_number for c in answer.citations) == [46, 49]
    assert "一般每月召开一次" in answer.text and "报常务副区长、区长确定" in answer.text


def test_the_quote_includes_the_sentence_that_names_what_was_asked(engine: RulesEngine) -> None:
    [quote] = engine.ask("会议纪要多长时间内印发？").quotes
    quoted = "".join(quote.sentences)
    assert "纪要由会议主持人签发" in quoted and "5个工作日内印发" in quoted
