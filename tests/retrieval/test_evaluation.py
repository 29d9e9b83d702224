"""The evaluation command reports the agreed keys, and the shipped question set stays answered."""

import json
from pathlib import Path

import numpy as np
import pytest

from bot.cli import main
from retrieval.asked import Detail
from retrieval.benchmark import SHIPPED_QUESTIONS
from retrieval.decline import AnswerPolicy, Signals, Verdict
from retrieval.engine import RulesEngine
from retrieval.evaluation import cross_validate, evaluate, load_questions
from retrieval.logistic import LogisticModel

KEYS = {
    "recall_at_1",
    "recall_at_3",
    "mrr",
    "oos_declined",
    "false_declines",
    "confident",
    "tentative",
    "declined",
    "straight_right",
    "misinformation",
    "p50_ms",
    "p95_ms",
    "n",
}


def test_shipped_question_set_meets_the_quality_bar(engine: RulesEngine) -> None:
    report, outcomes = evaluate(engine, load_questions(SHIPPED_QUESTIONS))
    misses = [o.question for o in outcomes if o.expected and o.rank != 1]
    assert report.recall_at_1 >= 0.95, misses
    assert report.recall_at_3 >= 0.99, misses
    assert report.oos_declined == 1.0
    assert report.false_declines <= 0.02


def test_declined_in_scope_question_is_a_miss_at_every_k(engine: RulesEngine, tmp_path: Path) -> None:
    questions = [{"question": "食堂几点开饭？", "articles": [79]}, {"question": "第79条", "articles": [79]}]
    report, _ = evaluate(engine, questions)
    assert report.recall_at_1 == report.recall_at_3 == 0.5
    assert report.false_declines == 0.5


def test_eval_command_prints_json_with_exactly_the_agreed_keys(
    tmp_path: Path, chroma_dir: Path, capsys, monkeypatch
) -> None:
    questions = tmp_path / "q.jsonl"
    questions.write_text(
        '{"question": "会议纪要由谁签发？", "articles": [50]}\n{"question": "食堂几点开饭？", "articles": []}\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("ZHENGWU_RETRIEVAL_CHROMA_DIR", str(chroma_dir))
    assert main(["eval", str(questions), "--json"]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    report = json.loads(last)
    assert set(report) == KEYS
    assert report["n"] == 2
    assert report["recall_at_1"] == 1.0
    assert report["oos_declined"] == 1.0


def test_learning_also_from_a_set_without_folds_is_refused_with_a_reason(tmp_path: Path, capsys) -> None:
    questions = tmp_path / "q.jsonl"
    questions.write_text('{"question": "会议纪要由谁签发？", "articles": [50]}\n', encoding="utf-8")
    assert main(["eval", str(questions), "--learn-also", str(questions)]) != 0
    assert "--learn-also needs --cv" in capsys.readouterr().err


def test_malformed_question_file_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"question": "x", "articles": [1]}\n{"question": "y"}\n', encoding="utf-8")
    try:
        load_questions(path)
    except ValueError as exc:
        assert f"{path}:2" in str(exc)
    else:
        raise AssertionError("a line without 'articles' was accepted")


def test_cross_validation_scores_only_held_out_folds_and_says_what_each_fold_chose(engine: RulesEngine) -> None:
    questions = load_questions(SHIPPED_QUESTIONS)
    learned_only = [{"question": "副区长去外地开会之前要先跟谁说一声？", "articles": [79]}]
    report, outcomes, chosen, overall = cross_validate(engine, questions, folds=4, learned_only=learned_only)
    assert report.n == len(questions), "every question is answered exactly once, in its held-out fold"
    assert sorted(o.question for o in outcomes) == sorted(q["question"] for q in questions), "never a learned-only one"
    assert len(chosen) == 4
    assert abs(report.confident + report.tentative + report.declined - 1.0) < 1e-9
    assert overall.weights.keys() == chosen[0].weights.keys()


# A scope model whose log-odds are 2 × share - 1, and a ranking model whose log-odds are
# 10 × margin - 1, so that each case sits clearly on one side.
_BY_SHARE = AnswerPolicy(
    LogisticModel((2.0, 0.0, 0.0, 0.0, 0.0), -1.0),
    LogisticModel((10.0, 0.0, 0.0, 0.0, 0.0), -1.0),
    confident_at=0.5,
    tentative_at=-0.5,
    sure_at=0.0,
)


@pytest.mark.parametrize(
    ("signals", "verdict"),
    [
        (Signals(1.0, 0.9, 0.9, 0.8, 0.9, margin=0.5), Verdict.CONFIDENT),
        (Signals(1.0, 0.9, 0.9, 0.8, 0.9, margin=0.05), Verdict.TENTATIVE),  # two articles nearly tied
        (Signals(0.6, 0.9, 0.9, 0.8, 0.9, margin=0.5), Verdict.TENTATIVE),  # in scope, but not sure enough
        (Signals(0.2, 0.9, 0.9, 0.8, 0.9, margin=0.5), Verdict.DECLINED),
        (Signals(1.0, 0.9, 0.9, 0.8, 0.9, margin=0.5, missing_detail=Detail.DAYS), Verdict.DECLINED),
        (Signals(0.0, 0.0, 0.0, 1.0, 0.0, margin=0.0, named=True), Verdict.CONFIDENT),  # "第79条"
    ],
)
def test_the_three_way_policy(signals: Signals, verdict: Verdict) -> None:
    assert _BY_SHARE.verdict(signals) == verdict


def test_the_learned_scope_model_answers_a_covered_question_and_declines_an_official_sounding_other(
    engine: RulesEngine,
) -> None:
    covered = Signals(1.0, 0.92, 0.90, 0.80, 0.93, margin=0.5)
    near_a_subject_not_covered = Signals(0.1, 0.86, 0.84, 0.95, 0.85, margin=0.5)
    assert engine.policy.verdict(covered) == Verdict.CONFIDENT
    assert engine.policy.verdict(near_a_subject_not_covered) == Verdict.DECLINED


def test_the_scope_model_learns_which_side_a_signal_points_to() -> None:
    rng = np.random.default_rng(0)
    inside = rng.normal([0.8, 0.9, 0.88, 0.80, 0.93], 0.02, size=(40, 5))
    outside = rng.normal([0.2, 0.86, 0.84, 0.92, 0.86], 0.02, size=(10, 5))
    model = LogisticModel.fit(np.vstack([inside, outside]), np.array([True] * 40 + [False] * 10))
    assert (model.log_odds(inside) > 0).mean() > 0.95 and (model.log_odds(outside) < 0).mean() > 0.95
    assert model.coefficients[0] > 0 > model.coefficients[3], "words found count for, an out-of-scope neighbour against"
    assert model.coefficients[4] > 0, "an in-scope neighbour counts for"
