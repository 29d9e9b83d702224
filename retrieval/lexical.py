"""The lexical channel: BM25 over jieba words and over character bigrams, sentence by sentence.

Scoring sentences and keeping each article's best one rewards questions whose words meet in one
clause of an article, which long articles would otherwise dilute.
"""

import functools
import hashlib
import logging
import math
import os
import pickle
import threading
from collections import Counter
from pathlib import Path

import bm25s
import numpy as np

from retrieval import text
from retrieval.corpus import Corpus
from retrieval.text import DOMAIN_DICTIONARY, bigrams, concepts, words

log = logging.getLogger(__name__)

# A missing verb ("遇到", "承担") says less about scope than a missing noun ("工资", "食堂").
_NON_TOPIC_WEIGHT = 0.4


def _bm25(tokenised: list[list[str]]) -> bm25s.BM25:
    index = bm25s.BM25(k1=1.2, b=0.5)
    index.index(tokenised, show_progress=False)
    return index


def _explained(term: str, alternatives: tuple[str, ...], terms: set[str]) -> bool:
    if term in terms or any(alt in terms for alt in alternatives):
        return True
    grams = _term_bigrams(term)
    return bool(grams) and all(g in terms for g in grams)


@functools.lru_cache(maxsize=4096)
def _term_bigrams(term: str) -> tuple[str, ...]:
    """A question word's bigrams, asked of every candidate article's clauses (jieba, so kept)."""
    return tuple(bigrams(term))


class Tokens:
    """The words and bigrams of each text, kept in a file in `folder` (None: not kept). Tokenising
    the passages of 10,000 articles takes jieba minutes; with the file a restart tokenises nothing
    and a revision only its new texts. The file is named by a hash of the tokeniser (retrieval.text
    and the domain dictionary), so a change to either starts afresh."""

    def __init__(self, folder: Path | None) -> None:
        self._path: Path | None = None
        self._known: dict[str, tuple[list[str], list[str]]] = {}
        self._used: set[str] = set()
        self._stored: set[str] = set()  # the texts the file holds
        if folder is None:
            return
        tokeniser = Path(text.__file__).read_bytes() + DOMAIN_DICTIONARY.read_bytes()
        self._path = folder / f"tokens-{hashlib.sha256(tokeniser).hexdigest()[:16]}.pickle"
        try:
            with self._path.open("rb") as stored:  # written by this process or another of the bot's
                self._known = pickle.load(stored)
            self._stored = set(self._known)
        except (OSError, EOFError, pickle.UnpicklingError) as exc:
            if self._path.exists():
                log.warning("tokenising again: %s", exc)

    def words(self, passage: str) -> list[str]:
        return self._of(passage)[0]

    def terms(self, passage: str) -> set[str]:
        found = self._of(passage)
        return set(found[0]) | set(found[1])

    def bigrams(self, passage: str) -> list[str]:
        return self._of(passage)[1]

    def _of(self, passage: str) -> tuple[list[str], list[str]]:
        self._used.add(passage)
        found = self._known.get(passage)
        if found is None:
            found = self._known[passage] = (words(passage), bigrams(passage))
        return found

    def save(self) -> None:
        """Keep the tokens of the texts used since loading (those of texts no book holds any more
        are dropped), unless they are what the file holds."""
        if self._path is None or self._used == self._stored:
            return
        kept = {passage: self._known[passage] for passage in self._used}
        # Processes sharing the folder write their own files; the last rename wins.
        temporary = self._path.with_suffix(f".{os.getpid()}-{threading.get_ident()}.tmp")
        with temporary.open("wb") as out:
            pickle.dump(kept, out, protocol=pickle.HIGHEST_PROTOCOL)
        temporary.replace(self._path)
        self._stored = set(kept)


class LexicalIndex:
    """BM25 scores per sentence, pooled to articles, plus term statistics for declining."""

    def __init__(self, corpus: Corpus, tokens: Tokens | None = None) -> None:
        tokens = tokens or Tokens(None)
        texts = [p.indexed_text for p in corpus.sentence_passages]
        self._size = len(corpus.articles)
        self._passages = len(corpus.sentence_passages)
        # Passages are in article order: each article's best passage is a maximum over its run.
        self._pooled = np.array([i for i, pieces in enumerate(corpus.pieces_of) if pieces], dtype=int)
        self._starts = np.array([pieces.start for pieces in corpus.pieces_of if pieces], dtype=int)
        self._words = _bm25([tokens.words(t) for t in texts])
        self._bigrams = _bm25([tokens.bigrams(t) for t in texts])
        self.article_terms = [tokens.terms(p.indexed_text) for p in corpus.article_passages]
        # Each article's whole sentences (corpus.sentences), to see whether one clause holds a question.
        self.sentence_terms = [[tokens.terms(s) for s in sentences] for sentences in corpus.sentences]
        tokens.save()
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
        return index.get_scores(tokens) if tokens else np.zeros(self._passages)

    def _pool(self, sentence_scores: np.ndarray) -> np.ndarray:
        pooled = np.zeros(self._size)
        if len(self._starts):  # np.maximum.at took 10-20 ms a question at 10,000 articles
            pooled[self._pooled] = np.maximum(np.maximum.reduceat(sentence_scores, self._starts), 0.0)
        return pooled
