"""What the engine learns from example questions: the adapter, the out-of-scope examples, the cache."""

from pathlib import Path

import numpy as np
import pytest

from knowledge import load_library
from retrieval.adapter import fit_adapter, unit
from retrieval.engine import RulesEngine
from retrieval.examples import EXAMPLE_FILES, QUESTIONS_DIR, Examples, load_examples, out_of_scope_subjects
from retrieval.learned import Learned, load_or_learn
from retrieval.logistic import LogisticModel


def test_held_out_question_sets_are_never_learned_from() -> None:
    held_out = sorted(QUESTIONS_DIR.glob("heldout*.jsonl"))
    assert len(held_out) == 6
    assert not set(held_out) & set(EXAMPLE_FILES)


def test_every_example_names_an_article_of_the_shipped_rulebook() -> None:
    book = load_library()[0]
    examples = load_examples()
    assert {key for keys in examples.articles for key in keys} <= {(book.key, a.number) for a in book.articles}
    assert out_of_scope_subjects()[0] in examples.questions, "the catalogue of subjects is learned from too"


def test_the_adapter_moves_a_question_towards_its_article_and_is_the_identity_without_examples() -> None:
    rng = np.random.default_rng(1)
    questions, targets = unit(rng.normal(size=(30, 8))), unit(rng.normal(size=(30, 8)))
    adapter = fit_adapter(questions, targets, ridge=0.3)
    before = np.mean(np.sum(questions * targets, axis=1))
    after = np.mean(np.sum(unit(questions @ adapter) * targets, axis=1))
    assert after > before + 0.2
    assert np.array_equal(fit_adapter(np.zeros((0, 8)), np.zeros((0, 8))), np.eye(8))


def test_an_everyday_question_ranks_its_article_higher_once_the_engine_has_learned(engine: RulesEngine) -> None:
    question = "正职不在家的时候谁替他拍板？"  # 第九条: 区长外出学习……由常务副区长主持
    channels = engine.searcher.channels(question)
    index = engine.corpus.find(engine.books[0].key, 9)
    untaught = engine.searcher.taught_scores(channels.vector, None)["dense_adapted"]
    taught = channels.scores["dense_adapted"]
    assert (taught > taught[index]).sum() < (untaught > untaught[index]).sum()


def test_what_was_learned_is_reused_after_a_restart_and_a_damaged_file_is_recomputed(tmp_path: Path) -> None:
    computed: list[int] = []

    def compute() -> Learned:
        computed.append(1)
        scope = LogisticModel((1.0, 2.0, 3.0, -4.0, 5.0), -5.0)
        ranking, reranker = LogisticModel((1.0, 1.0, 1.0, 1.0), -2.0), LogisticModel(tuple([0.5] * 10), -7.0)
        return Learned(np.eye(3), np.zeros((1, 3)), np.ones((2, 3)), scope, ranking, reranker)

    first = load_or_learn(tmp_path, "k", compute)
    again = load_or_learn(tmp_path, "k", compute)
    assert len(computed) == 1 and np.array_equal(first.adapter, again.adapter) and again.scope == first.scope
    assert again.ranking == first.ranking and again.reranker == first.reranker
    (tmp_path / "learned-k.npz").write_bytes(b"not numpy")
    assert np.array_equal(load_or_learn(tmp_path, "k", compute).out_of_scope, np.ones((2, 3)))
    assert len(computed) == 2


@pytest.mark.parametrize("question", ["住房公积金能不能提出来付首付？", "食堂几点开饭？"])
def test_a_question_near_an_out_of_scope_subject_is_declined(engine: RulesEngine, question: str) -> None:
    assert engine.ask(question).declined


def test_examples_text_changes_when_an_answer_changes() -> None:
    assert Examples(["q"], [[("book", 1)]]).text() != Examples(["q"], [[("book", 2)]]).text()
