"""What the engine learns from its example questions, cached beside the Chroma index.

Embedding the few hundred examples takes seconds; a restart with the same rulebooks, model and
examples loads the stored result instead, so the first answer after a restart stays fast.
"""

import hashlib
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from retrieval.adapter import RIDGE, fit_adapter, unit
from retrieval.corpus import Corpus
from retrieval.examples import Examples
from retrieval.logistic import LogisticModel

log = logging.getLogger(__name__)
# Bump when what is stored changes meaning.
_FORMAT_VERSION = "5"


@dataclass(frozen=True)
class Learned:
    """The question adapter, the unit vectors of the in-scope and out-of-scope examples, the scope
    model and the ranking model (retrieval.decline)."""

    adapter: np.ndarray
    in_scope: np.ndarray
    out_of_scope: np.ndarray
    scope: LogisticModel | None = None  # fitted after the other two (RulesEngine.learn)
    ranking: LogisticModel | None = None  # likewise
    reranker: LogisticModel | None = None  # retrieval.rerank; None while no example is in scope
    # (row of in_scope, article index) for every article an in-scope example names.
    example_articles: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), dtype=int))

    def example_scores(self, vector: np.ndarray, articles: int) -> np.ndarray:
        """Per article, the cosine of the closest in-scope example that names it: a question worded
        like one staff asked before points to that question's article. An article no example names
        (an office's own rulebook has none) scores the median: no evidence either way, instead of
        ranking every new book below the examples' one."""
        scores = np.full(articles, -np.inf)
        if len(self.example_articles):
            similarity = self.in_scope @ vector
            rows, indices = self.example_articles[:, 0], self.example_articles[:, 1]
            np.maximum.at(scores, indices, similarity[rows])
        named = np.isfinite(scores)
        return np.where(named, scores, np.median(scores[named]) if named.any() else 0.0)


def teach(examples: Examples, vectors: np.ndarray, corpus: Corpus, article_vectors: np.ndarray) -> Learned:
    """Fit the adapter on the in-scope examples (each towards its articles' mean vector) and keep
    the out-of-scope ones; `vectors` are the examples' embeddings, in order."""
    rows = unit(vectors)
    inputs: list[np.ndarray] = []
    targets: list[np.ndarray] = []
    outside: list[np.ndarray] = []
    links: list[tuple[int, int]] = []
    for vector, keys in zip(rows, examples.articles, strict=True):
        if not keys:
            outside.append(vector)
            continue
        found = [i for book, n in keys if (i := corpus.find(book, n)) is not None]
        if found:
            links += [(len(inputs), i) for i in found]
            inputs.append(vector)
            targets.append(article_vectors[found].mean(axis=0))
    size = article_vectors.shape[1]
    adapter = fit_adapter(np.reshape(inputs, (-1, size)), np.reshape(targets, (-1, size)), RIDGE)
    in_scope, example_articles = np.reshape(inputs, (-1, size)), np.reshape(np.array(links, dtype=int), (-1, 2))
    return Learned(adapter, in_scope, np.reshape(outside, (-1, size)), example_articles=example_articles)


def cache_key(*parts: str) -> str:
    return hashlib.sha256("\n".join((_FORMAT_VERSION, str(RIDGE), *parts)).encode()).hexdigest()[:16]


def load_or_learn(folder: Path, key: str, compute: Callable[[], Learned]) -> Learned:
    """The stored result for `key`, or compute and store it (a damaged file is recomputed)."""
    path = folder / f"learned-{key}.npz"
    try:
        with np.load(path) as stored:
            scope = LogisticModel(tuple(float(c) for c in stored["coefficients"]), float(stored["intercept"]))
            ranking = LogisticModel(tuple(float(c) for c in stored["ranking"]), float(stored["ranking_intercept"]))
            reranker = None
            if len(stored["reranker"]):
                reranker = LogisticModel(
                    tuple(float(c) for c in stored["reranker"]), float(stored["reranker_intercept"])
                )
            return Learned(
                stored["adapter"],
                stored["in_scope"],
                stored["out_of_scope"],
                scope,
                ranking,
                reranker,
                stored["example_articles"],
            )
    except (OSError, KeyError, ValueError) as exc:
        if path.exists():
            log.warning("recomputing %s: %s", path, exc)
    learned = compute()
    assert learned.scope is not None and learned.ranking is not None
    # Several processes may share the folder and learn the same at once: each writes its own file,
    # and the last rename wins with an identical result.
    temporary = path.with_suffix(f".{os.getpid()}-{threading.get_ident()}.tmp.npz")
    scope, ranking = learned.scope, learned.ranking
    np.savez(
        temporary,
        adapter=learned.adapter,
        in_scope=learned.in_scope,
        out_of_scope=learned.out_of_scope,
        example_articles=learned.example_articles,
        coefficients=scope.coefficients,
        intercept=scope.intercept,
        ranking=ranking.coefficients,
        ranking_intercept=ranking.intercept,
        reranker=learned.reranker.coefficients if learned.reranker else (),
        reranker_intercept=learned.reranker.intercept if learned.reranker else 0.0,
    )
    temporary.replace(path)
    return learned
