"""Whether the rules answer a question: confidently, tentatively, or not at all.

Cosine scores alone do not separate out-of-scope questions (a question about the canteen still
scores 0.85 against some article). The main signal is lexical and explainable: the share of the
question's content words, weighted by how rare they are in the rules (nouns above verbs), that the
best articles actually contain (directly, through the thesaurus, or character by character). A
question about 公积金 or 食堂 leaves its rarest word unexplained and is declined. In the band where
one missing word is not decisive, the best sentence's cosine similarity breaks the tie.

Between an answer and a decline lies the tentative answer ("规则中没有找到直接规定，可能相关的
是……"): fewer words explained but a close sentence. It cites the nearest articles and says plainly
that it is unsure. Where each of the three begins is chosen by `zhengwu eval --cv` on the tuning
sets (retrieval.evaluation), never by hand on a test set.
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


class Verdict(StrEnum):
    CONFIDENT = "confident"
    TENTATIVE = "tentative"
    DECLINED = "declined"


@dataclass(frozen=True)
class Signals:
    """What the decision rests on, for one question."""

    share: float  # of the question's weighted words the best articles contain
    similarity: float  # cosine of the best article's best sentence


@dataclass(frozen=True)
class AnswerPolicy:
    """The thresholds of the three-way decision (chosen by `zhengwu eval --cv` on the tuning sets)."""

    similarity_threshold: float = 0.87
    # Below this share the question is never answered confidently, whatever the embeddings say.
    floor: float = 0.47
    # From this share on, the words alone are enough.
    confident: float = 0.8
    # Not confident, but this many words explained and a sentence this close: a tentative answer.
    tentative_floor: float = 0.3
    tentative_similarity: float = 0.88

    def verdict(self, signals: Signals) -> Verdict:
        confident, tentative = self.classify(np.float64(signals.share), np.float64(signals.similarity))
        return Verdict.CONFIDENT if confident else Verdict.TENTATIVE if tentative else Verdict.DECLINED

    def classify(self, share: np.ndarray, similarity: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Which questions are answered confidently and which tentatively (arrays, for evaluation)."""
        confident = (share >= self.floor) & ((share >= self.confident) | (similarity >= self.similarity_threshold))
        tentative = ~confident & (share >= self.tentative_floor) & (similarity >= self.tentative_similarity)
        return confident, tentative


def _explained(term: str, alternatives: tuple[str, ...], article_terms: set[str]) -> bool:
    if term in article_terms or any(alt in article_terms for alt in alternatives):
        return True
    grams = bigrams(term)
    return bool(grams) and all(g in article_terms for g in grams)


def signals(result: SearchResult, lexical: LexicalIndex) -> Signals:
    """The rarity-weighted share of the question's content words found in the top articles, and
    the best sentence similarity."""
    if result.referenced:
        return Signals(1.0, 1.0)
    similarity = result.hits[0].channels.get("dense_sentence", 0.0) if result.hits else 0.0
    terms = set().union(*(lexical.article_terms[h.index] for h in result.hits[:_ARTICLES_CONSIDERED]))
    total = explained = 0.0
    for concept in concepts(result.question):
        weight = lexical.idf(concept.term) * (1.0 if concept.is_topic else _NON_TOPIC_WEIGHT)
        total += weight
        if _explained(concept.term, concept.alternatives, terms):
            explained += weight
    return Signals(explained / total if total else 0.0, similarity)
