"""The lexical channel: BM25 over jieba words and over character bigrams, sentence by sentence.

Scoring sentences and keeping each article's best one rewards questions whose words meet in one
clause of an article, which long articles would otherwise dilute.
"""

import functools
import hashlib
import itertools
import logging
import math
import os
import pickle
import threading
from collections import Counter
from dataclasses import dataclass
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


def _write(path: Path, content: object) -> None:
    """Pickle `content` to `path`. Processes sharing the folder write their own files; the last
    rename wins."""
    temporary = path.with_suffix(f".{os.getpid()}-{threading.get_ident()}.tmp")
    with temporary.open("wb") as out:
        pickle.dump(content, out, protocol=pickle.HIGHEST_PROTOCOL)
    temporary.replace(path)


def _read(path: Path | None, what: str) -> object | None:
    """What `_write` kept in `path`; None if nothing is (or it is damaged: then said so)."""
    if path is None:
        return None
    try:
        with path.open("rb") as stored:  # written by this process or another of the bot's
            return pickle.load(stored)
    except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ImportError) as exc:
        if path.exists():
            log.warning("%s again: %s", what, exc)
        return None


class Tokens:
    """The words and bigrams of each text, kept in a file in `folder` (None: not kept). Tokenising
    the passages of 10,000 articles takes jieba minutes; with the file a revision tokenises only
    its new texts (and a restart nothing: it loads the index LexicalIndex keeps, without reading
    this file). The file is named by a hash of the tokeniser (retrieval.text and the domain
    dictionary), so a change to either starts afresh."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder
        self._path: Path | None = None
        self._known: dict[str, tuple[list[str], list[str]]] | None = None  # read at the first text asked for
        self._used: set[str] = set()
        self._stored: set[str] = set()  # the texts the file holds
        tokeniser = Path(text.__file__).read_bytes() + DOMAIN_DICTIONARY.read_bytes()
        self.tokeniser = hashlib.sha256(tokeniser).hexdigest()[:16]
        if folder is not None:
            self._path = folder / f"tokens-{self.tokeniser}.pickle"

    def _texts(self) -> dict[str, tuple[list[str], list[str]]]:
        if self._known is None:
            stored = _read(self._path, "tokenising")
            self._known = stored if isinstance(stored, dict) else {}
            self._stored = set(self._known)
        return self._known

    def words(self, passage: str) -> list[str]:
        return self._of(passage)[0]

    def terms(self, passage: str) -> set[str]:
        found = self._of(passage)
        return set(found[0]) | set(found[1])

    def bigrams(self, passage: str) -> list[str]:
        return self._of(passage)[1]

    def _of(self, passage: str) -> tuple[list[str], list[str]]:
        known = self._texts()
        self._used.add(passage)
        found = known.get(passage)
        if found is None:
            found = known[passage] = (words(passage), bigrams(passage))
        return found

    def save(self) -> None:
        """Keep the tokens of the texts used since loading (those of texts no book holds any more
        are dropped), unless they are what the file holds."""
        if self._path is None or self._known is None or self._used == self._stored:
            return
        kept = {passage: self._known[passage] for passage in self._used}
        _write(self._path, kept)
        self._stored = set(kept)


class _TermSets:
    """Each text's set of terms, kept as one joined string: unpickling 100,000 sets took seconds of
    every start at 10,000 articles, and a question looks at the terms of a dozen articles."""

    _SEPARATOR = "\x00"

    def __init__(self, sets: list[set[str]]) -> None:
        self._joined = [self._SEPARATOR.join(terms) for terms in sets]

    def __getitem__(self, index: int) -> set[str]:
        joined = self._joined[index]
        return set(joined.split(self._SEPARATOR)) if joined else set()

    def __len__(self) -> int:
        return len(self._joined)


class _SentenceTerms:
    """The term sets of each article's sentences (LexicalIndex.sentence_terms), kept as _TermSets."""

    def __init__(self, articles: list[list[set[str]]]) -> None:
        self._sets = _TermSets([terms for sentences in articles for terms in sentences])
        self._starts = list(itertools.accumulate((len(sentences) for sentences in articles), initial=0))

    def __getitem__(self, index: int) -> list[set[str]]:
        return [self._sets[i] for i in range(self._starts[index], self._starts[index + 1])]


@dataclass(frozen=True)
class _State:
    """What LexicalIndex builds from the tokens, and keeps."""

    words: bm25s.BM25
    bigrams: bm25s.BM25
    idf: dict[str, float]
    article_terms: _TermSets  # of each article passage
    sentence_terms: _SentenceTerms  # of each article's whole sentences (corpus.sentences)


def _made_of(corpus: Corpus, tokens: Tokens) -> str:
    """A hash of everything the lexical index is made of: the texts, the tokeniser and this code."""
    texts = [p.indexed_text for p in corpus.sentence_passages + corpus.article_passages]
    texts += [f"{len(sentences)}\x01" + "\x01".join(sentences) for sentences in corpus.sentences]
    made_of = "\x00".join([tokens.tokeniser, bm25s.__version__, *texts]).encode() + Path(__file__).read_bytes()
    return hashlib.sha256(made_of).hexdigest()[:16]


def _build(corpus: Corpus, tokens: Tokens) -> _State:
    texts = [p.indexed_text for p in corpus.sentence_passages]
    article_terms = [tokens.terms(p.indexed_text) for p in corpus.article_passages]
    # Each article's whole sentences, to see whether one clause holds a question.
    sentence_terms = [[tokens.terms(s) for s in sentences] for sentences in corpus.sentences]
    words_index = _bm25([tokens.words(t) for t in texts])
    bigrams_index = _bm25([tokens.bigrams(t) for t in texts])
    tokens.save()
    document_frequency = Counter(term for terms in article_terms for term in terms)
    size = len(corpus.articles)
    idf = {t: math.log(1 + size / df) for t, df in document_frequency.items()}
    return _State(words_index, bigrams_index, idf, _TermSets(article_terms), _SentenceTerms(sentence_terms))


class LexicalIndex:
    """BM25 scores per sentence, pooled to articles, plus term statistics for declining."""

    def __init__(self, corpus: Corpus, tokens: Tokens | None = None) -> None:
        """The index is kept in the tokens' folder too, named there by everything it is made of:
        building it (BM25 over 47,000 passages at 10,000 articles) was most of a restart."""
        tokens = tokens or Tokens(None)
        self._size = len(corpus.articles)
        self._passages = len(corpus.sentence_passages)
        # Passages are in article order: each article's best passage is a maximum over its run.
        self._pooled = np.array([i for i, pieces in enumerate(corpus.pieces_of) if pieces], dtype=int)
        self._starts = np.array([pieces.start for pieces in corpus.pieces_of if pieces], dtype=int)
        kept = tokens.folder / f"lexical-{_made_of(corpus, tokens)}.pickle" if tokens.folder else None
        state = _read(kept, "indexing")
        if not isinstance(state, _State):
            state = _build(corpus, tokens)
            if kept is not None:
                _write(kept, state)
                for older in kept.parent.glob("lexical-*.pickle"):
                    if older != kept:
                        older.unlink(missing_ok=True)
        self._words, self._bigrams, self._idf = state.words, state.bigrams, state.idf
        self.article_terms, self.sentence_terms = state.article_terms, state.sentence_terms
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
