"""The lexical channel: BM25 over jieba words and over character bigrams, sentence by sentence.

Scoring sentences and keeping each article's best one rewards questions whose words meet in one
clause of an article, which long articles would otherwise dilute.
"""

import math
from collections import Counter

import bm25s
import numpy as np

from retrieval.corpus import Corpus
from retrieval.text import bigrams, concepts, words

# A missing verb ("遇到", "承担") says less about scope than a missing noun ("工资", "食堂").
_NON_TOPIC_WEIGHT = 0.4


def _bm25(tokenised: list[list[str]]) -> bm25s.BM25:
    index = bm25s.BM25(k1=1.2, b=0.5)
    index.index(tokenised, show_progress=False)
    return index


def _explained(term: str, alternatives: tuple[str, ...], terms: set[str]) -> bool:
    if term in terms or any(alt in terms for alt in alternatives):
        return True
    grams = bigrams(term)
    return bool(grams) and all(g in terms for g in grams)


def _terms(text: str) -> set[str]:
    return set(words(text)) | set(bigrams(text))


class LexicalIndex:
    """BM25 scores per sentence, pooled to articles, plus term statistics for declining."""

    def __init__(self, corpus: Corpus) -> None:
        texts = [p.indexed_text for p in corpus.sentence_passages]
        self._size = len(corpus.articles)
        self._owner = np.array([p.article_index for p in corpus.sentence_passages])
        self._words = _bm25([words(t) for t in texts])
        self._bigrams = _bm25([bigrams(t) for t in texts])
        self.article_terms = [_terms(p.indexed_text) for p in corpus.article_passages]
        # Each article's whole sentences (corpus.sentences), to see whether one clause holds a question.
        self.sentence_terms = [[_terms(s) for s in sentences] for sentences in corpus.sentences]
        document_frequency = Counter(term for terms in self.article_terms for term in terms)
        self._idf = {t: math.log(1 + self._size / df) for t, df in document_frequency.items()}
        self.unknown_idf = math.log(1 + self._size)

    def idf(self, term: str) -> float:
        return self._idf.get(term, self.unknown_idf)

    def share_explained(self, question: str, terms: set[str]) -> float:
        """The rarity-weighted share of the question's content words that `terms` explain
        (directly, through the thesaurus, or character by character; nouns count more than verbs)."""
        total = found = 0.0
        for concept in concepts(question):
            weight = self.idf(concept.term) * (1.0 if concept.is_topic else _NON_TOPIC_WEIGHT)
            total += weight
            if _explained(concept.term, concept.alternatives, terms):
                found += weight
        return found / total if total else 0.0

    def search(self, expanded_question: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Best-sentence BM25 per article for words and bigrams, and the per-sentence sum."""
        word_scores = self._scores(self._words, words(expanded_question))
        bigram_scores = self._scores(self._bigrams, bigrams(expanded_question))
        return self._pool(word_scores), self._pool(bigram_scores), word_scores + bigram_scores

    def _scores(self, index: bm25s.BM25, tokens: list[str]) -> np.ndarray:
        # "？", "👍", "……" leave no token; bm25s cannot score an empty query, and nothing matches it.
        return index.get_scores(tokens) if tokens else np.zeros(len(self._owner))

    def _pool(self, sentence_scores: np.ndarray) -> np.ndarray:
        pooled = np.zeros(self._size)
        np.maximum.at(pooled, self._owner, sentence_scores)
        return pooled
