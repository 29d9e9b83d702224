"""Retrieval evaluation over JSONL question sets: recall@k, MRR, the three kinds of answer,
latency, and k-fold cross-validation of the answer policy.

Each line is {"question": "...", "articles": [79]}; an empty list means the rules do not cover
the question and the right behaviour is to decline. A declined in-scope question is a miss at
every k. A question counts as found at k when any of its listed articles is among the first k
articles the answer cites or retrieval ranks; a tentative answer whose first cited article is
right counts as found at rank 1.

Cross-validation (`zhengwu eval --cv 5`) judges the way the settings are chosen, not one setting:
the questions are split into folds; for each, the channel weights (WEIGHT_GRID) and answer policy
(POLICY_GRID) that do best on the other folds answer the held-out fold, and only held-out answers
are scored. The choice on all the questions is what the shipped defaults are set to.
"""

import itertools
import json
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from retrieval.decline import AnswerPolicy, Signals, Verdict
from retrieval.engine import MAX_QUESTION_CHARS, RulesEngine
from retrieval.search import CHANNEL_WEIGHTS, Channels

WEIGHT_GRID = {  # dense (article and sentence alike), BM25 words, BM25 bigrams
    "dense": (0.25, 0.5, 0.75, 1.0),
    "words": (0.5, 1.0),
    "bigrams": (0.5, 1.0),
}
POLICY_GRID = {
    "similarity_threshold": (0.85, 0.86, 0.87, 0.88, 0.89),
    "floor": (0.4, 0.47, 0.55),
    "tentative_floor": (0.0, 0.15, 0.3, 0.45, 1.01),  # 1.01: never tentative
    "tentative_similarity": (0.86, 0.87, 0.88, 0.89, 0.9),
}
# An out-of-scope question answered costs as much as this many in-scope questions found; a
# tentative answer costs a little (staff would rather read a direct answer).
_OOS_ANSWERED_COST = 4.0
_TENTATIVE_COST = 0.1


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


@dataclass(frozen=True)
class _Observation:
    """One question's retrieval under one set of channel weights, kept so that many policies can
    be tried without asking again."""

    question: str
    expected: list[int]
    ranked: list[int]
    signals: Signals
    latency_ms: float

    def outcome(self, policy: AnswerPolicy) -> QuestionOutcome:
        verdict = policy.verdict(self.signals) if self.ranked else Verdict.DECLINED
        rank = None
        if verdict != Verdict.DECLINED and self.expected:
            rank = next((i + 1 for i, n in enumerate(self.ranked) if n in self.expected), None)
        return QuestionOutcome(self.question, self.expected, self.ranked, verdict, rank)


def load_questions(path: Path) -> list[dict]:
    questions = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
            questions.append({"question": str(entry["question"]), "articles": [int(a) for a in entry["articles"]]})
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}:{number}: expected {{'question': str, 'articles': [int]}}, got {line!r}") from exc
    return questions


def _channels(engine: RulesEngine, questions: list[dict]) -> list[tuple[dict, Channels, float]]:
    asked = []
    for entry in questions:
        started = time.perf_counter()
        channels = engine.searcher.channels(entry["question"][:MAX_QUESTION_CHARS])
        asked.append((entry, channels, (time.perf_counter() - started) * 1000))
    return asked


def _observe(
    engine: RulesEngine, asked: list[tuple[dict, Channels, float]], weights: dict[str, float]
) -> list[_Observation]:
    observations = []
    for entry, channels, channel_ms in asked:
        started = time.perf_counter()
        result = engine.searcher.rank(channels, weights)
        signals = engine.signals(result)
        latency = channel_ms + (time.perf_counter() - started) * 1000
        ranked = [h.ref.article.number for h in result.hits]
        observations.append(_Observation(entry["question"], entry["articles"], ranked, signals, latency))
    return observations


def evaluate(engine: RulesEngine, questions: list[dict]) -> tuple[EvaluationReport, list[QuestionOutcome]]:
    """Ask every question with the engine's weights and policy and score the answers."""
    observations = _observe(engine, _channels(engine, questions), CHANNEL_WEIGHTS)
    outcomes = [o.outcome(engine.policy) for o in observations]
    return _report(outcomes, [o.latency_ms for o in observations]), outcomes


@dataclass(frozen=True)
class Choice:
    """Channel weights and an answer policy, as chosen on some questions."""

    weights: dict[str, float]
    policy: AnswerPolicy


def cross_validate(
    engine: RulesEngine, questions: list[dict], folds: int, seed: int = 0
) -> tuple[EvaluationReport, list[Choice], Choice]:
    """Held-out-fold numbers of choosing weights and policy on the other folds, the choice of each
    fold, and the choice on all the questions (what the shipped defaults should be)."""
    asked = _channels(engine, questions)
    by_weights = [(weights, _observe(engine, asked, weights)) for weights in _weight_grid()]
    policies = _policy_grid()
    scores = [(w, obs, policy, _scores(obs, policy)) for w, obs in by_weights for policy in policies]
    order = list(range(len(questions)))
    random.Random(seed).shuffle(order)
    outcomes: list[QuestionOutcome] = []
    latencies: list[float] = []
    chosen: list[Choice] = []
    for fold in range(folds):
        test = np.zeros(len(questions), dtype=bool)
        test[order[fold::folds]] = True
        weights, observations, policy, _ = max(scores, key=lambda entry: float(entry[3][~test].sum()))
        chosen.append(Choice(weights, policy))
        outcomes += [observations[i].outcome(policy) for i in np.flatnonzero(test)]
        latencies += [observations[i].latency_ms for i in np.flatnonzero(test)]
    weights, _, policy, _ = max(scores, key=lambda entry: float(entry[3].sum()))
    return _report(outcomes, latencies), chosen, Choice(weights, policy)


def _weight_grid() -> list[dict[str, float]]:
    return [
        {"dense_article": dense, "dense_sentence": dense, "bm25_words": words, "bm25_bigrams": grams}
        for dense, words, grams in itertools.product(*WEIGHT_GRID.values())
    ]


def _policy_grid() -> list[AnswerPolicy]:
    names = list(POLICY_GRID)
    return [
        AnswerPolicy(**dict(zip(names, values, strict=True))) for values in itertools.product(*POLICY_GRID.values())
    ]


def _scores(observations: list[_Observation], policy: AnswerPolicy) -> np.ndarray:
    """Each question's contribution to the objective under `policy` (vectorised over questions)."""
    share = np.array([o.signals.share for o in observations])
    similarity = np.array([o.signals.similarity for o in observations])
    right_first = np.array([bool(o.ranked) and o.ranked[0] in o.expected for o in observations])
    out_of_scope = np.array([not o.expected for o in observations])
    confident, tentative = policy.classify(share, similarity)
    answered = confident | tentative
    in_scope_score = (right_first & answered).astype(float) - _TENTATIVE_COST * tentative
    return np.where(out_of_scope, -_OOS_ANSWERED_COST * answered, in_scope_score)


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
        p50_ms=float(np.percentile(latencies, 50)) if latencies else 0.0,
        p95_ms=float(np.percentile(latencies, 95)) if latencies else 0.0,
        n=len(outcomes),
    )
