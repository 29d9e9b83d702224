"""Whether the rules answer a question at all.

Cosine scores alone do not separate out-of-scope questions (a question about the canteen still
scores 0.85 against some article). The main signal is lexical and explainable: the share of the
question's content words, weighted by how rare they are in the rules (nouns above verbs), that the
best articles actually contain (directly, through the thesaurus, or character by character). A
question about 公积金 or 食堂 leaves its rarest word unexplained and is declined. In the band where
one missing word is not decisive, the best sentence's cosine similarity breaks the tie.
"""

from dataclasses import dataclass

from retrieval.lexical import LexicalIndex
from retrieval.search import SearchResult
from retrieval.text import bigrams, concepts

# Below this share the question is declined whatever the embeddings say.
COVERAGE_FLOOR = 0.47
# Between the floor and this share, the dense channel decides: the question must also be close in
# meaning to some sentence of the rules (a cosine threshold calibrated for the embedding model).
COVERAGE_CONFIDENT = 0.8
_ARTICLES_CONSIDERED = 3
# A missing verb ("遇到", "承担") says less about scope than a missing noun ("工资", "食堂").
_NON_TOPIC_WEIGHT = 0.4


@dataclass(frozen=True)
class Coverage:
    """How much of the question the best articles explain."""

    share: float

    def answers(self, best_similarity: float, similarity_threshold: float) -> bool:
        """True when the rules cover the question: enough words explained, and close enough in meaning."""
        if self.share < COVERAGE_FLOOR:
            return False
        return self.share >= COVERAGE_CONFIDENT or best_similarity >= similarity_threshold


def _explained(term: str, alternatives: tuple[str, ...], article_terms: set[str]) -> bool:
    if term in article_terms or any(alt in article_terms for alt in alternatives):
        return True
    grams = bigrams(term)
    return bool(grams) and all(g in article_terms for g in grams)


def coverage(result: SearchResult, lexical: LexicalIndex) -> Coverage:
    """Rarity-weighted share of the question's content words found in the top articles."""
    if result.referenced:
        return Coverage(1.0)
    terms = set().union(*(lexical.article_terms[h.index] for h in result.hits[:_ARTICLES_CONSIDERED]))
    total = explained = 0.0
    for concept in concepts(result.question):
        weight = lexical.idf(concept.term) * (1.0 if concept.is_topic else _NON_TOPIC_WEIGHT)
        total += weight
        if _explained(concept.term, concept.alternatives, terms):
            explained += weight
    return Coverage(explained / total if total else 0.0)
