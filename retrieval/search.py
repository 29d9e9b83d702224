"""Hybrid search: dense (Chroma), adapted dense and lexical (BM25) channels fused per article.

A sixth channel, the closest example question naming each article (retrieval.learned), is not
fused: it speaks through the re-ranker, which weighs it against the others.

Each channel's scores are rescaled per question so that the median article maps to 0 and the best
to 1, then summed. Scaling against the median (not the minimum) keeps one channel with a flat
score profile from swamping the others.
"""

import functools
import operator
from dataclasses import dataclass, field, replace

import numpy as np

from retrieval.adapter import unit
from retrieval.corpus import ArticleRef, Corpus
from retrieval.dense import DenseIndex
from retrieval.learned import Learned
from retrieval.lexical import LexicalIndex
from retrieval.logistic import LogisticModel
from retrieval.reference import referenced_articles
from retrieval.rerank import CANDIDATES, FEATURES, ClauseFeatures, candidate_features
from retrieval.text import expand_query, focus

# Chosen by `zhengwu eval --cv 5` over the tuning sets (retrieval/questions/README.md).
CHANNEL_WEIGHTS = {
    "dense_article": 0.25,
    "dense_sentence": 0.25,
    "dense_adapted": 1.0,
    "bm25_words": 0.5,
    "bm25_bigrams": 1.0,
}
_DENSE_ARTICLES = 50
_DENSE_SENTENCES = 150


@dataclass(frozen=True)
class ArticleHit:
    """One ranked article with its fused score and the per-channel scores behind it."""

    index: int
    ref: ArticleRef
    score: float
    channels: dict[str, float]


@dataclass(frozen=True)
class SearchResult:
    """Ranked articles for a question, plus the sentence scores answers are cut from."""

    question: str
    hits: list[ArticleHit]
    referenced: bool
    sentence_dense: dict[str, float] = field(default_factory=dict)
    sentence_lexical: np.ndarray | None = None
    scores: dict[str, np.ndarray] = field(default_factory=dict)
    vector: np.ndarray | None = None  # the question's unit embedding


def _rescale(scores: np.ndarray) -> np.ndarray:
    top, middle = float(scores.max()), float(np.median(scores))
    if top - middle <= 1e-9:
        return np.zeros_like(scores, dtype=float)
    return (scores - middle) / (top - middle)


def _best(scores: np.ndarray, count: int) -> np.ndarray:
    """The positions of the `count` highest scores, highest first, ties in position order: the
    start of a stable sort of them all, without sorting 10,000 articles for ten."""
    if len(scores) <= count:
        return np.argsort(-scores, kind="stable")
    threshold = np.partition(scores, len(scores) - count)[len(scores) - count]
    contenders = np.flatnonzero(scores >= threshold)
    return contenders[np.argsort(-scores[contenders], kind="stable")][:count]


class HybridSearcher:
    """Searches one corpus; built once at start, then shared by every question."""

    def __init__(self, corpus: Corpus, dense: DenseIndex, lexical: LexicalIndex) -> None:
        self.corpus = corpus
        self.dense = dense
        self.lexical = lexical
        self.article_vectors = unit(dense.article_vectors())
        # None until the engine has learned from its examples: the adapter is the identity and no
        # example vouches for an article.
        self.learned: Learned | None = None
        # None until the engine has learned from its examples: the fused order stands.
        self.reranker: LogisticModel | None = None
        self.clauses = ClauseFeatures(corpus, lexical)

    def search(self, question: str, limit: int = 5) -> SearchResult:
        return self.rank(self.channels(question), CHANNEL_WEIGHTS, limit, reranker=self.reranker)

    def channels(self, question: str) -> "Channels":
        """Every article's score in every channel (or the articles the question names by number)."""
        numbers = referenced_articles(question)
        if numbers:
            named = [
                i for n in numbers for book in self.corpus.books if (i := self.corpus.find(book.key, n)) is not None
            ]
            # The named articles, or none at all when no rulebook has them ("第999条"): a question
            # about an article that does not exist is not searched for something else.
            return Channels(question, {}, named)
        focused = focus(question)
        vector = unit(self.dense.embed_question(focused))
        whole, best_sentence, sentence_dense = self.dense.search(vector, _DENSE_ARTICLES, _DENSE_SENTENCES)
        bm25_words, bm25_bigrams, sentence_lexical = self.lexical.search(expand_query(focused))
        scores = {
            "dense_article": whole,
            "dense_sentence": best_sentence,
            "bm25_words": bm25_words,
            "bm25_bigrams": bm25_bigrams,
        }
        return Channels(
            question, scores | self.taught_scores(vector, self.learned), [], sentence_dense, sentence_lexical, vector
        )

    def taught_scores(self, vector: np.ndarray, learned: Learned | None) -> dict[str, np.ndarray]:
        """The channels the examples teach: the cosine of every article with the question moved by
        the adapter, and the closest example naming each article."""
        if learned is None:
            return {"dense_adapted": self.article_vectors @ vector, "examples": np.zeros(len(self.article_vectors))}
        return {
            "dense_adapted": self.article_vectors @ unit(vector @ learned.adapter),
            "examples": learned.example_scores(vector, len(self.article_vectors)),
        }

    def rank(
        self,
        channels: "Channels",
        weights: dict[str, float],
        limit: int = 5,
        learned: Learned | None = None,
        reranker: LogisticModel | None = None,
    ) -> SearchResult:
        """Fuse the channels with `weights` into the best `limit` articles (with the taught
        channels recomputed for `learned`, if given); a `reranker` orders the first CANDIDATES of
        the fused ranking by the probability it gives each, which becomes the hit's score."""
        channels = self._adapt(channels, learned)
        if channels.named or not channels.scores:
            hits = [ArticleHit(i, self.corpus.articles[i], 1.0, {"reference": 1.0}) for i in channels.named]
            return SearchResult(channels.question, hits[:limit], referenced=bool(hits))
        order, rows, fused = self._candidates(channels, weights)
        score = fused
        if reranker is not None:
            score = np.zeros_like(fused)
            score[order] = reranker.probability(rows)
            order = order[np.argsort(-score[order], kind="stable")]
        hits = [
            ArticleHit(
                int(i),
                self.corpus.articles[int(i)],
                float(score[i]),
                {name: float(scores[i]) for name, scores in channels.scores.items()},
            )
            for i in order[:limit]
        ]
        return SearchResult(
            channels.question,
            hits,
            False,
            channels.sentence_dense,
            channels.sentence_lexical,
            channels.scores,
            channels.vector,
        )

    def candidates(
        self, channels: "Channels", weights: dict[str, float], learned: Learned | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The first CANDIDATES articles of the fused ranking and their re-ranker features (what
        the re-ranker learns from); none for a question that names its articles."""
        channels = self._adapt(channels, learned)
        if channels.named or not channels.scores:
            return np.zeros(0, dtype=int), np.zeros((0, FEATURES))
        order, rows, _ = self._candidates(channels, weights)
        return order, rows

    def _adapt(self, channels: "Channels", learned: Learned | None) -> "Channels":
        if learned is None or channels.vector is None:
            return channels
        return replace(channels, scores=channels.scores | self.taught_scores(channels.vector, learned))

    def _candidates(self, channels: "Channels", weights: dict[str, float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        rescaled = {name: _rescale(scores) for name, scores in channels.scores.items()}
        # The examples channel is no fusion weight's: it speaks through the re-ranker.
        # The weighted channels added in order (sum() would start from the int 0; weights always name channels).
        terms = [weight * rescaled[name] for name, weight in weights.items()]
        fused: np.ndarray = functools.reduce(operator.add, terms)
        order = _best(fused, CANDIDATES)
        return order, candidate_features(channels.question, rescaled, fused, order, self.clauses), fused


@dataclass(frozen=True)
class Channels:
    """A question's scores per channel before fusion, kept so evaluation can try other weights."""

    question: str
    scores: dict[str, np.ndarray]
    named: list[int]
    sentence_dense: dict[str, float] = field(default_factory=dict)
    sentence_lexical: np.ndarray | None = None
    vector: np.ndarray | None = None
