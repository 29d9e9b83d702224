"""Retrieval evaluation over JSONL question sets: recall@k, MRR, the three kinds of answer,
latency, and k-fold cross-validation of the answer policy.

Each line is {"question": "...", "articles": [79]}; an empty list means the rules do not cover
the question and the right behaviour is to decline. A declined in-scope question is a miss at
every k. A question counts as found at k when any of its listed articles is among the first k
articles the answer cites or retrieval ranks; a tentative answer whose first cited article is
right counts as found at rank 1.

Cross-validation (`zhengwu eval --cv 5`) judges the way the settings are learned and chosen, not
one setting: the questions are split into folds; for each, the engine learns its question adapter
and out-of-scope examples from the other folds (retrieval.learned), and the channel weights
(WEIGHT_GRID), scope regression and cut-offs (CUTOFF_GRID) that do best on the other folds answer
the held-out fold. Only held-out answers are scored. The choice on all the questions is what the
shipped defaults are set to.
"""

import itertools
import json
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace

import numpy as np

from retrieval.decline import AnswerPolicy, Signals, Verdict
from retrieval.engine import MAX_QUESTION_CHARS, RulesEngine, fit_models
from retrieval.examples import examples_of, is_example, load_questions
from retrieval.learned import Learned
from retrieval.logistic import LogisticModel
from retrieval.search import CHANNEL_WEIGHTS, Channels, SearchResult

__all__ = ["Choice", "EvaluationReport", "QuestionOutcome", "cross_validate", "evaluate", "load_questions"]

WEIGHT_GRID = {  # dense (article and sentence alike), adapted dense, BM25 words, BM25 bigrams
    "dense": (0.25, 0.5),
    "adapted": (0.0, 1.0, 2.0, 4.0),
    "words": (0.5, 1.0),
    "bigrams": (0.5, 1.0),
}
# Where confident and tentative answers begin, in log-odds of the scope model, and the lead of the
# best article over the next (in fused score) a confident answer needs.
CUTOFF_GRID = np.linspace(-4.0, 4.0, 33)
# Where confident answers begin in log-odds of the ranking model (is the best article right?).
SURE_GRID = np.linspace(-2.0, 3.0, 11)
# What one question earns, by what staff get: a confident answer with the right article first is
# worth 1, and with a wrong one costs 1.5 (staff trust it and act on the wrong article: the worst
# outcome); a hedge quotes the nearest clause for the asker to check, worth 0.6 when it is the right
# one and 0.3 when the right article is only among those it offers. An out-of-scope question
# answered costs as much as four found.
_CONFIDENT_WRONG_COST = 1.5
_TENTATIVE_FIRST = 0.6
_TENTATIVE_OFFERED = 0.3
_OOS_ANSWERED_COST = 4.0
_OFFERED = 3


@dataclass(frozen=True)
class EvaluationReport:
    """The numbers `zhengwu eval` prints; field names are the --json keys."""

    recall_at_1: float
    recall_at_3: float
    mrr: float
    oos_declined: float
    false_declines: float
    confident: float
    tentative: float
    declined: float
    straight_right: float  # of in-scope questions: answered confidently with the right article first
    misinformation: float  # of all questions: confident with a wrong first article, or out of scope
    p50_ms: float
    p95_ms: float
    n: int

    def to_json(self) -> str:
        return json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in asdict(self).items()})

    def to_text(self) -> str:
        return (
            f"questions: {self.n}\n"
            f"recall@1: {self.recall_at_1:.3f}\nrecall@3: {self.recall_at_3:.3f}\nMRR: {self.mrr:.3f}\n"
            f"out-of-scope declined: {self.oos_declined:.3f}\nin-scope wrongly declined: {self.false_declines:.3f}\n"
            f"answers confident / tentative / declined: {self.confident:.3f} / {self.tentative:.3f} / "
            f"{self.declined:.3f}\n"
            f"straight right answers (of in-scope): {self.straight_right:.3f}\n"
            f"confident misinformation (of all): {self.misinformation:.3f}\n"
            f"latency p50: {self.p50_ms:.1f} ms\nlatency p95: {self.p95_ms:.1f} ms"
        )


@dataclass(frozen=True)
class QuestionOutcome:
    """What happened to one question, for the per-question listing."""

    question: str
    expected: list[int]
    ranked: list[int]
    verdict: Verdict
    rank: int | None

    @property
    def declined(self) -> bool:
        return self.verdict == Verdict.DECLINED

    @property
    def straight_right(self) -> bool:
        return self.verdict == Verdict.CONFIDENT and self.rank == 1

    @property
    def misinformation(self) -> bool:
        """Said with confidence and wrong: staff would act on it."""
        return self.verdict == Verdict.CONFIDENT and (not self.expected or self.rank != 1)


@dataclass(frozen=True)
class _Observation:
    """One question's retrieval under one set of channel weights, kept so that many policies can
    be tried without asking again."""

    question: str
    expected: list[int]
    ranked: list[int]
    signals: Signals
    latency_ms: float

    @classmethod
    def of(cls, entry: dict, result: SearchResult, signals: Signals, latency_ms: float) -> "_Observation":
        ranked = [h.ref.article.number for h in result.hits]
        return cls(entry["question"], entry["articles"], ranked, signals, latency_ms)

    def outcome(self, policy: AnswerPolicy) -> QuestionOutcome:
        verdict = policy.verdict(self.signals) if self.ranked else Verdict.DECLINED
        rank = None
        if verdict != Verdict.DECLINED and self.expected:
            rank = next((i + 1 for i, n in enumerate(self.ranked) if n in self.expected), None)
        return QuestionOutcome(self.question, self.expected, self.ranked, verdict, rank)


def _channels(engine: RulesEngine, questions: list[dict]) -> list[tuple[dict, Channels, float]]:
    asked = []
    for entry in questions:
        started = time.perf_counter()
        channels = engine.searcher.channels(entry["question"][:MAX_QUESTION_CHARS])
        asked.append((entry, channels, (time.perf_counter() - started) * 1000))
    return asked


def _observe(
    engine: RulesEngine, asked: list[tuple[dict, Channels, float]], weights: dict[str, float], learned: Learned
) -> list[_Observation]:
    """Rank and take the signals of every question with `weights` and what `learned` holds."""
    observations = []
    for entry, channels, channel_ms in asked:
        started = time.perf_counter()
        result = engine.searcher.rank(channels, weights, learned=learned, reranker=learned.reranker)
        signals = engine.signals(result, learned)
        observations.append(
            _Observation.of(entry, result, signals, channel_ms + (time.perf_counter() - started) * 1000)
        )
    return observations


def evaluate(engine: RulesEngine, questions: list[dict]) -> tuple[EvaluationReport, list[QuestionOutcome]]:
    """Ask every question with the engine's weights, examples and policy and score the answers."""
    observations = _observe(engine, _channels(engine, questions), CHANNEL_WEIGHTS, engine.learned)
    outcomes = [o.outcome(engine.policy) for o in observations]
    return _report(outcomes, [o.latency_ms for o in observations]), outcomes


@dataclass(frozen=True)
class Choice:
    """Channel weights and an answer policy, as chosen on some questions."""

    weights: dict[str, float]
    policy: AnswerPolicy
    reranker: LogisticModel | None = None


def cross_validate(
    engine: RulesEngine, questions: list[dict], folds: int, seed: int = 0, learned_only: list[dict] | None = None
) -> tuple[EvaluationReport, list[QuestionOutcome], list[Choice], Choice]:
    """Held-out-fold numbers of learning and choosing on the other folds, each question's held-out
    outcome, the choice of each fold, and the choice on all the questions (what the shipped
    defaults should be).

    For each fold the engine learns its adapter, its in- and out-of-scope examples and its scope
    model from the other folds' questions (and the catalogue of subjects), and the weights and
    cut-offs that do best on those questions answer the held-out fold. `learned_only` questions
    are in every fold's training part and never scored: what a new example set adds is then
    measured on the same questions as before it.
    """
    scored = len(questions)
    asked = _channels(engine, questions + (learned_only or []))
    order = list(range(scored))
    random.Random(seed).shuffle(order)
    outcomes: list[QuestionOutcome] = []
    latencies: list[float] = []
    chosen: list[Choice] = []
    for fold in range(folds):
        test = np.zeros(len(asked), dtype=bool)
        test[order[fold::folds]] = True
        choice, observations = _choose(engine, asked, np.flatnonzero(~test))
        chosen.append(choice)
        outcomes += [observations[i].outcome(choice.policy) for i in np.flatnonzero(test)]
        latencies += [observations[i].latency_ms for i in np.flatnonzero(test)]
    overall, _ = _choose(engine, asked, np.arange(len(asked)))
    return _report(outcomes, latencies), outcomes, chosen, overall


def _choose(
    engine: RulesEngine, asked: list[tuple[dict, Channels, float]], train: np.ndarray
) -> tuple[Choice, list[_Observation]]:
    """The best choice on the `train` questions, and every question observed with what they teach.

    As at start (RulesEngine.learn), the training questions and the catalogue of out-of-scope
    subjects are the examples, each judged by an engine taught by the others only: a question the
    adapter was fitted on ranks better than a new one would.
    """
    entries = [asked[i][0] for i in train]
    kept = [n for n, entry in enumerate(entries) if is_example(entry)]
    examples = examples_of(entries)
    subjects = examples.questions[len(kept) :]
    channels = [asked[train[n]][1] for n in kept] + [engine.searcher.channels(s) for s in subjects]
    taught_without = engine.teach_in_folds(examples)  # the same for every weighting
    taught = engine.teach(examples)
    best: tuple[float, Choice] | None = None
    for weights in _weight_grid():
        folds, reranker = engine.rerankers(taught_without, channels, examples, weights)
        judged_examples = engine.judge_unlearned(folds, channels, weights)
        scope, ranking = fit_models(examples, judged_examples)
        judged = dict(zip(kept, judged_examples[: len(kept)], strict=True))
        # Questions that are no example (retrieval.examples) are judged by what all the examples teach.
        for n in set(range(len(entries))) - set(kept):
            result = engine.searcher.rank(asked[train[n]][1], weights, learned=taught, reranker=reranker)
            judged[n] = (result, engine.signals(result, taught))
        # The policy is chosen on the questions only; a catalogue line is not something staff ask.
        table = _Table.of([_Observation.of(e, *judged[n], 0.0) for n, e in enumerate(entries)])
        log_odds, ranking_log_odds = scope.log_odds(table.features), ranking.log_odds(table.ranking_features)
        for policy in _policies(scope, ranking):
            score = float(table.scores(policy, log_odds, ranking_log_odds).sum())
            if best is None or score > best[0]:
                best = (score, Choice(weights, policy, reranker))
    assert best is not None
    policy = best[1].policy
    learned = replace(taught, scope=policy.scope, ranking=policy.ranking, reranker=best[1].reranker)
    return best[1], _observe(engine, asked, best[1].weights, learned)


def _weight_grid() -> list[dict[str, float]]:
    names = ("dense_article", "dense_sentence", "dense_adapted", "bm25_words", "bm25_bigrams")
    return [
        dict(zip(names, (dense, dense, adapted, words, grams), strict=True))
        for dense, adapted, words, grams in itertools.product(*WEIGHT_GRID.values())
    ]


def _policies(scope: LogisticModel, ranking: LogisticModel) -> list[AnswerPolicy]:
    return [
        AnswerPolicy(scope, ranking, float(confident), float(tentative), float(sure))
        for confident, tentative, sure in itertools.product(CUTOFF_GRID, CUTOFF_GRID, SURE_GRID)
        if tentative <= confident
    ]


@dataclass(frozen=True)
class _Table:
    """The observations as arrays, so that hundreds of policies are scored without a loop."""

    features: np.ndarray
    ranking_features: np.ndarray
    named: np.ndarray
    first: np.ndarray  # the right article ranked first
    offered: np.ndarray  # ... or among the articles a tentative answer offers
    out_of_scope: np.ndarray
    missing_detail: np.ndarray  # asks for a number the answering sentences do not hold: declined

    @classmethod
    def of(cls, observations: list[_Observation]) -> "_Table":
        return cls(
            np.array([o.signals.features() for o in observations]),
            np.array([o.signals.ranking_features() for o in observations]),
            np.array([o.signals.named for o in observations]),
            np.array([bool(o.ranked) and o.ranked[0] in o.expected for o in observations]),
            np.array([any(n in o.expected for n in o.ranked[:_OFFERED]) for o in observations]),
            np.array([not o.expected for o in observations]),
            np.array([o.signals.missing_detail is not None for o in observations]),
        )

    def scores(self, policy: AnswerPolicy, log_odds: np.ndarray, ranking_log_odds: np.ndarray) -> np.ndarray:
        """Each question's contribution to the objective under `policy`."""
        confident, tentative = policy.cut(log_odds, ranking_log_odds)
        confident, tentative = confident & ~self.missing_detail, tentative & ~self.missing_detail
        confident, tentative = confident | self.named, tentative & ~self.named
        offered_only = self.offered & ~self.first
        found = confident * (self.first - _CONFIDENT_WRONG_COST * ~self.first) + tentative * (
            _TENTATIVE_FIRST * self.first + _TENTATIVE_OFFERED * offered_only
        )
        return np.where(self.out_of_scope, -_OOS_ANSWERED_COST * (confident | tentative), found)


def _report(outcomes: list[QuestionOutcome], latencies: list[float]) -> EvaluationReport:
    in_scope = [o for o in outcomes if o.expected]
    out_of_scope = [o for o in outcomes if not o.expected]

    def share(items: list[QuestionOutcome], test: Callable[[QuestionOutcome], bool]) -> float:
        return sum(1 for o in items if test(o)) / len(items) if items else 0.0

    return EvaluationReport(
        recall_at_1=share(in_scope, lambda o: o.rank == 1),
        recall_at_3=share(in_scope, lambda o: o.rank is not None and o.rank <= 3),
        mrr=sum(1 / o.rank for o in in_scope if o.rank) / len(in_scope) if in_scope else 0.0,
        oos_declined=share(out_of_scope, lambda o: o.declined),
        false_declines=share(in_scope, lambda o: o.declined),
        confident=share(outcomes, lambda o: o.verdict == Verdict.CONFIDENT),
        tentative=share(outcomes, lambda o: o.verdict == Verdict.TENTATIVE),
        declined=share(outcomes, lambda o: o.declined),
        straight_right=share(in_scope, lambda o: o.straight_right),
        misinformation=share(outcomes, lambda o: o.misinformation),
        p50_ms=float(np.percentile(latencies, 50)) if latencies else 0.0,
        p95_ms=float(np.percentile(latencies, 95)) if latencies else 0.0,
        n=len(outcomes),
    )
