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
engine that has not learned from it, so it suits whatever embedding model is configured.

Being in scope is not being right: "区政府由哪些人组成" is plainly covered, yet its best article
may lead the next by a hair. A second regression of the same kind, fitted on the in-scope examples
only, gives the log-odds that the best article is the right one, from how clearly it leads, how
many channels put it first, how much of the question one of its sentences holds word for word,
the word share, and the re-ranker's own probability for it. Two cut-offs on the scope log-odds and one on the ranking log-odds make the
three answers: confident (the quoted sentences), tentative ("最相关的规定（请核对是否适用）：" with
the nearest clause) and declined. The cut-offs are chosen by `zhengwu eval --cv` on the tuning
sets (retrieval.evaluation), never by hand on a test set.
"""

from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from retrieval.asked import Detail
from retrieval.lexical import LexicalIndex
from retrieval.logistic import LogisticModel
from retrieval.search import SearchResult

_ARTICLES_CONSIDERED = 3


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
    agreement: float = 1.0  # the share of channels that rank the best article first
    clause_share: float = 1.0  # of the question's topic words one sentence of the best article holds
    confidence: float = 1.0  # the re-ranker's probability that the best article answers (or its fused score)
    named: bool = False  # the question names its article ("第79条"): nothing to decide
    # The question asks for a number the best article's answering sentences do not hold
    # (retrieval.asked): never answered, however close the subject.
    missing_detail: Detail | None = None

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

    def ranking_features(self) -> np.ndarray:
        """What says whether the best article is the right one, once the question is in scope."""
        probability = min(max(self.confidence, 1e-4), 1 - 1e-4)
        return np.array(
            [self.margin, self.agreement, self.clause_share, self.share, np.log(probability / (1 - probability))]
        )


@dataclass(frozen=True)
class AnswerPolicy:
    """Where answers begin (in log-odds of the scope model), and which of them are confident:
    those far enough in scope whose best article is likely enough the right one (log-odds of the
    ranking model). The cut-offs are the choice of `zhengwu eval --cv 5` on all the tuning
    questions (retrieval/questions/README.md)."""

    scope: LogisticModel
    ranking: LogisticModel
    confident_at: float = 0.0
    tentative_at: float = -0.5
    sure_at: float = -0.5

    def verdict(self, signals: Signals) -> Verdict:
        if signals.named:
            return Verdict.CONFIDENT
        if signals.missing_detail is not None:
            return Verdict.DECLINED
        confident, tentative = self.classify(signals.features()[None, :], signals.ranking_features()[None, :])
        return Verdict.CONFIDENT if confident[0] else Verdict.TENTATIVE if tentative[0] else Verdict.DECLINED

    def classify(self, features: np.ndarray, ranking_features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Which questions (rows of features) are answered confidently and which tentatively."""
        return self.cut(self.scope.log_odds(features), self.ranking.log_odds(ranking_features))

    def cut(self, log_odds: np.ndarray, ranking_log_odds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        answered = log_odds >= np.minimum(self.tentative_at, self.confident_at)
        confident = (log_odds >= self.confident_at) & (ranking_log_odds >= self.sure_at)
        return confident, answered & ~confident


def word_share(result: SearchResult, lexical: LexicalIndex) -> float:
    """The rarity-weighted share of the question's content words found in the top articles."""
    terms = set().union(*(lexical.article_terms[h.index] for h in result.hits[:_ARTICLES_CONSIDERED]))
    return lexical.share_explained(result.question, terms)


def clause_share(result: SearchResult, lexical: LexicalIndex) -> float:
    """The largest share of the question's content words that one sentence of the best article holds:
    a question answered word for word by a clause."""
    if not result.hits:
        return 0.0
    sentences = lexical.sentence_terms[result.hits[0].index]
    return max((lexical.share_explained(result.question, terms) for terms in sentences), default=0.0)


def _nearest(examples: np.ndarray, vector: np.ndarray | None) -> float:
    return float((examples @ vector).max()) if len(examples) and vector is not None else 0.0


def signals(result: SearchResult, lexical: LexicalIndex, in_scope: np.ndarray, out_of_scope: np.ndarray) -> Signals:
    """The signals of one search result; the examples are unit vectors of questions."""
    if result.referenced:
        return Signals(1.0, 1.0, 1.0, 0.0, 1.0, named=True)
    scores = result.scores
    fused = [h.score for h in result.hits[:2]] + [0.0, 0.0]
    best = result.hits[0].index if result.hits else -1
    agreement = sum(int(np.argmax(s)) == best for s in scores.values()) / len(scores) if scores else 0.0
    return Signals(
        word_share(result, lexical),
        float(scores["dense_sentence"].max()) if scores else 0.0,
        float(scores["dense_article"].max()) if scores else 0.0,
        _nearest(out_of_scope, result.vector),
        _nearest(in_scope, result.vector),
        (fused[0] - fused[1]) / fused[0] if fused[0] > 0 else 0.0,
        agreement,
        clause_share(result, lexical),
        fused[0],
    )
