"""A question that asks for a number is answered only by a clause that holds one."""

import pytest

from retrieval.asked import Detail, asked_detail, holds
from retrieval.engine import RulesEngine


@pytest.mark.parametrize(
    ("question", "detail"),
    [
        ("政府信息公开申请的答复期限是多少个工作日？", Detail.DAYS),
        ("会议纪要多长时间内印发？", Detail.DAYS),
        ("公务接待每人每餐标准是多少？", Detail.MONEY),
        ("公文种类有几种？", Detail.COUNT),
        ("常务会议多久开一次？", Detail.FREQUENCY),
        ("区政府有几位副区长？", Detail.PEOPLE),
        ("规范性文件施行满几年要重新评估？", Detail.DAYS),
        ("周例会固定在每周的哪一天开？", Detail.DATE),
        ("全体会议一般每年几月份召开？", Detail.DATE),
        ("报送的纸质材料要准备几份？", Detail.MEASURE),
        ("一次常务会议最多安排几个？", Detail.MEASURE),
        ("几个部门一起管的事，由谁牵头？", None),  # 几个: "a few", not "how many"
        ("我们局每月往上报好几份简报，合适吗？", None),
        ("我要请三天假，找谁批？", None),  # states a number, asks for a person
        ("副区长离包外出要向谁请示？", None),
    ],
)
def test_the_kind_of_number_a_question_asks_for(question: str, detail: Detail | None) -> None:
    assert asked_detail(question) == detail


def test_a_clause_holds_a_number_of_the_kind_asked_or_not() -> None:
    assert holds(Detail.DAYS, "原则上须在会议结束后5个工作日内印发。")
    assert not holds(Detail.DAYS, "离包外出，须事先向区长请示，经批准方可出行。")
    assert holds(Detail.FREQUENCY, "一般每月召开一次，必要时可临时召开。")
    assert not holds(Detail.MONEY, "严格执行公务接待标准。")
    assert holds(Detail.DATE, "本规则自发布之日起施行。")
    assert not holds(Detail.MEASURE, "文稿要精简，篇幅要简短。")


def test_a_number_the_rules_do_not_give_is_declined_with_what_they_do_say(engine: RulesEngine) -> None:
    answer = engine.ask("副区长离包外出要提前几天向区长请示？")
    assert answer.declined and answer.missing_detail == Detail.DAYS
    assert [q.citation.article_number for q in answer.quotes] == [79]
    assert "须事先向区长请示" in answer.quotes[0].quoted
    assert answer.text.startswith("《规则》没有规定具体期限（天数）")


def test_an_amount_on_a_subject_the_rules_do_not_govern_is_declined_without_quoting_a_stranger(
    engine: RulesEngine,
) -> None:
    # The subject (procurement thresholds) is nowhere in the rules: nothing may be quoted as what
    # "the rules only say" about it.
    answer = engine.ask("区政府采购限额标准是多少万元？")
    assert answer.declined and answer.quotes == ()
    assert "规则只规定了" not in answer.text


def test_a_number_the_rules_give_is_answered_from_the_clause_that_holds_it(engine: RulesEngine) -> None:
    answer = engine.ask("部门之间征求意见，几个工作日内要回复？")
    assert not answer.declined and answer.missing_detail is None
    assert "5个工作日内回复" in answer.quotes[0].quoted and answer.quotes[0].citation.article_number == 60


def test_an_answer_for_the_askers_own_position(engine: RulesEngine) -> None:
    answer = engine.ask("出差要先跟谁打招呼？", asker_position="副区长")
    assert answer.citations[0].article_number == 79
    assert answer.applies_to == "副区长" and answer.text.startswith("您是副区长")
    assert engine.ask("局长出差要先跟谁打招呼？", asker_position="副区长").applies_to is None
