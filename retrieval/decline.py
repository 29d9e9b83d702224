"""Whether the rules answer a question: confidently, tentatively, or not at all.

No single score separates out-of-scope questions (a question about the canteen still scores 0.85
cosine against some article) from in-scope ones in everyday words (画圈 for 圈阅). Five signals do
better together, combined by a logistic regression into the log-odds that the rules cover the
question:

- the rarity-weighted share of the question's content words that the best articles contain
  (directly, through the thesaurus, or character by character; nouns count more than verbs);
- the cosine of the closest rule sentence and of the closest whole article;
- the cosine of the closest out-of-scope example (retrieval.examples: questions the rules do not
  cover and the catalogue of such subjects), which pulls 公积金 and 食堂 down however official
  they sound;
- the cosine of the closest in-scope example question, which vouches for wording the rules never
  use but staff have used before.

The regression is fitted at start on the example questions (retrieval.learned), each judged by an
engine that has not learned from it, so it suits whatever embedding model is configured. Two
cut-offs on the log-odds and one on how clearly the best article leads make the three answers:
confident (the quoted sentences), tentative ("规则中没有找到直接规定，可能相关的是……" with the
nearest articles) and declined. The cut-offs are chosen by `zhengwu eval --cv` on the tuning sets
(retrieval.evaluation), never by hand on a test set.
"""

from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from retrieval.lexical import LexicalIndex
from retrieval.search import SearchResult
from retrieval.text import bigrams, concepts

_ARTICLES_CONSIDERED = 3
# A missing verb ("遇到", "承担") says less about scope than a missing noun ("工资", "食堂").
_NON_TOPIC_WEIGHT = 0.4
# Regularisation of the scope regression, in units of standardised features.
_L2 = 1.0


class Verdict(StrEnum):
    CONFIDENT = "confident"
    TENTATIVE = "tentative"
    DECLINED = "declined"


@dataclass(frozen=True)
class Signals:
    """What the decision rests on, for one question."""

    share: float  # of the question's weighted words the best articles contain
    similarity: float  # cosine of the closest rule sentence
    article_similarity: float  # cosine of the closest whole article
    out_of_scope_similarity: float  # cosine of the closest out-of-scope example
    example_similarity: float  # cosine of the closest in-scope example
    margin: float = 1.0  # how far the best article's fused score leads the second's, as a share of it
    named: bool = False  # the question names its article ("第79条"): nothing to decide

    def features(self) -> np.ndarray:
        return np.array(
            [
                self.share,
                self.similarity,
                self.article_similarity,
                self.out_of_scope_similarity,
                self.example_similarity,
            ]
        )


@dataclass(frozen=True)
class ScopeModel:
    """Logistic regression over Signals.features(): the log-odds that the rules cover a question."""

    coefficients: tuple[float, ...]
    intercept: float

    def log_odds(self, features: np.ndarray) -> np.ndarray:
        return features @ np.array(self.coefficients) + self.intercept

    @classmethod
    def fit(cls, features: np.ndarray, in_scope: np.ndarray, steps: int = 2000) -> "ScopeModel":
        """Class-balanced, L2-regularised fit by gradient descent on standardised features."""
        mean, scale = features.mean(axis=0), features.std(axis=0) + 1e-9
        standard = (features - mean) / scale
        positives = max(1, int(in_scope.sum()))
        weight = np.where(in_scope, 1.0, positives / max(1, len(in_scope) - positives))
        w, b = np.zeros(features.shape[1]), 0.0
        for _ in range(steps):
            error = (1 / (1 + np.exp(-(standard @ w + b))) - in_scope) * weight
            w -= 0.1 * (standard.T @ error + _L2 * w) / len(in_scope)
            b -= 0.1 * float(error.mean())
        coefficients = w / scale
        return cls(tuple(float(c) for c in coefficients), float(b - mean @ coefficients))


@dataclass(frozen=True)
class AnswerPolicy:
    """Where answers begin (in log-odds of the scope model), and which of them are confident:
    those far enough in scope whose best article leads the next one clearly. The defaults are the
    choice of `zhengwu eval --cv 5` on all the tuning questions (retrieval/questions/README.md)."""

    scope: ScopeModel
    confident_at: float = 0.75
    tentative_at: float = 0.0
    margin_at: float = 0.2

    def verdict(self, signals: Signals) -> Verdict:
        if signals.named:
            return Verdict.CONFIDENT
        confident, tentative = self.classify(signals.features()[None, :], np.array([signals.margin]))
        return Verdict.CONFIDENT if confident[0] else Verdict.TENTATIVE if tentative[0] else Verdict.DECLINED

    def classify(self, features: np.ndarray, margins: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Which questions (rows of features) are answered confidently and which tentatively."""
        return self.cut(self.scope.log_odds(features), margins)

    def cut(self, log_odds: np.ndarray, margins: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        answered = log_odds >= np.minimum(self.tentative_at, self.confident_at)
        confident = (log_odds >= self.confident_at) & (margins >= self.margin_at)
        return confident, answered & ~confident


def _explained(term: str, alternatives: tuple[str, ...], article_terms: set[str]) -> bool:
    if term in article_terms or any(alt in article_terms for alt in alternatives):
        return True
    grams = bigrams(term)
    return bool(grams) and all(g in article_terms for g in grams)


def word_share(result: SearchResult, lexical: LexicalIndex) -> float:
    """The rarity-weighted share of the question's content words found in the top articles."""
    terms = set().union(*(lexical.article_terms[h.index] for h in result.hits[:_ARTICLES_CONSIDERED]))
    total = explained = 0.0
    for concept in concepts(result.question):
        weight = lexical.idf(concept.term) * (1.0 if concept.is_topic else _NON_TOPIC_WEIGHT)
        total += weight
        if _explained(concept.term, concept.alternatives, terms):
            explained += weight
    return explained / total if total else 0.0


def _nearest(examples: np.ndarray, vector: np.ndarray | None) -> float:
    return float((examples @ vector).max()) if len(examples) and vector is not None else 0.0


def signals(result: SearchResult, lexical: LexicalIndex, in_scope: np.ndarray, out_of_scope: np.ndarray) -> Signals:
    """The signals of one search result; the examples are unit vectors of questions."""
    if result.referenced:
        return Signals(1.0, 1.0, 1.0, 0.0, 1.0, named=True)
    scores = result.scores
    fused = [h.score for h in result.hits[:2]] + [0.0, 0.0]
    return Signals(
        word_share(result, lexical),
        float(scores["dense_sentence"].max()) if scores else 0.0,
        float(scores["dense_article"].max()) if scores else 0.0,
        _nearest(out_of_scope, result.vector),
        _nearest(in_scope, result.vector),
        (fused[0] - fused[1]) / fused[0] if fused[0] > 0 else 0.0,
    )
