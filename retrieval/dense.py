"""The dense channel: passages embedded into a persistent ChromaDB collection.

The collection's metadata records a content hash of the passages and the model; a start with the
same hash reuses the stored vectors instead of embedding again. When the hash differs (a book was
published or revised), the collection is rebuilt, but a passage whose text is stored already keeps
its vector: only what changed is embedded (a three-article revision embeds those articles' passages).
"""

import functools
import logging
import re
from pathlib import Path

import chromadb
import numpy as np
from chromadb.config import Settings

from retrieval.corpus import Corpus, Passage
from retrieval.embeddings import Embedder
from retrieval.progress import PASSAGES, Progress, silent

log = logging.getLogger(__name__)
# The embedder reads only the start of a question: its cost grows with the square of the length
# (a pasted page took seconds), and a real question is a sentence or two.
QUERY_WINDOW = 256
# Small enough that a first start can say how far it is every few seconds.
_BATCH = 32
# Passages written to Chroma per call (below its maximum batch size).
_ADD_BATCH = 1000


def _stored_vectors(collection: chromadb.Collection) -> dict[str, np.ndarray]:
    """The stored vector of each stored passage text (none from a collection stored without texts)."""
    if collection.count() == 0:
        return {}
    found = collection.get(include=["documents", "embeddings"])
    documents, embeddings = found.get("documents") or [], found.get("embeddings")
    if embeddings is None:
        return {}
    return {text: np.asarray(vector) for text, vector in zip(documents, embeddings, strict=False) if text}


class DenseIndex:
    """Cosine search over article and sentence passages stored in Chroma."""

    def __init__(self, path: Path, corpus: Corpus, embedder: Embedder, progress: Progress = silent) -> None:
        self._corpus = corpus
        self._embedder = embedder
        path.mkdir(parents=True, exist_ok=True)
        client = chromadb.PersistentClient(path=str(path), settings=Settings(anonymized_telemetry=False))
        name = "rules-" + re.sub(r"[^a-zA-Z0-9]+", "-", embedder.model_id).strip("-")[:50]
        content_hash = corpus.content_hash(embedder.model_id)
        collection = client.get_or_create_collection(name, metadata={"hnsw:space": "cosine"})
        self.rebuilt = (collection.metadata or {}).get("content_hash") != content_hash
        if self.rebuilt:
            stored = _stored_vectors(collection)
            client.delete_collection(name)
            collection = client.create_collection(name, metadata={"hnsw:space": "cosine", "content_hash": content_hash})
            self._embed_into(collection, corpus.article_passages + corpus.sentence_passages, progress, stored)
        self._collection = collection
        # A question is embedded once, though both the search and the comparison with the office's
        # curated answers need its vector (thread-safe; callers never change the array).
        self._embed_window = functools.lru_cache(maxsize=4096)(self._embedder.embed_query)

    def _embed_into(
        self,
        collection: chromadb.Collection,
        passages: list[Passage],
        progress: Progress,
        stored: dict[str, np.ndarray],
    ) -> None:
        """Store every passage; embed those whose text has no stored vector (`stored`, by text).
        The text goes in as the document, so that the next rebuild can reuse the vector."""
        new = [p for p in passages if p.indexed_text not in stored]
        log.info("embedding %d of %d passages with %s", len(new), len(passages), self._embedder.model_id)
        progress(PASSAGES, 0, len(new))
        for start in range(0, len(new), _BATCH):
            batch = new[start : start + _BATCH]
            vectors = self._embedder.embed_passages([p.indexed_text for p in batch])
            stored |= {p.indexed_text: vector for p, vector in zip(batch, vectors, strict=True)}
            progress(PASSAGES, start + len(batch), len(new))
        for start in range(0, len(passages), _ADD_BATCH):
            batch = passages[start : start + _ADD_BATCH]
            collection.add(
                ids=[p.id for p in batch],
                embeddings=np.array([stored[p.indexed_text] for p in batch], dtype=np.float32),
                documents=[p.indexed_text for p in batch],
                metadatas=[{"kind": p.kind, "article": p.article_index} for p in batch],
            )

    def article_vectors(self) -> np.ndarray:
        """The stored embedding of every article, in corpus order."""
        stored = self._collection.get(where={"kind": "article"}, include=["embeddings", "metadatas"])
        vectors = np.zeros((len(self._corpus.articles), len(stored["embeddings"][0])))
        for meta, vector in zip(stored["metadatas"], stored["embeddings"], strict=True):
            vectors[int(meta["article"])] = vector
        return vectors

    def embed_question(self, question: str) -> np.ndarray:
        return self._embed_window(question[:QUERY_WINDOW])

    def search(
        self, question_vector: np.ndarray, articles: int, sentences: int
    ) -> tuple[np.ndarray, np.ndarray, dict[str, float]]:
        """Cosine similarity per article (whole text, best sentence) and per returned sentence id.

        Articles Chroma did not return score 0, below anything it did return.
        """
        vector = question_vector.tolist()
        size = len(self._corpus.articles)
        whole, best_sentence = np.zeros(size), np.zeros(size)
        sentence_scores: dict[str, float] = {}
        for kind, limit in (("article", articles), ("sentence", sentences)):
            result = self._collection.query(
                query_embeddings=[vector], n_results=limit, where={"kind": kind}, include=["metadatas", "distances"]
            )
            for pid, meta, distance in zip(
                result["ids"][0], result["metadatas"][0], result["distances"][0], strict=True
            ):
                similarity = 1.0 - float(distance)
                index = int(meta["article"])
                if kind == "article":
                    whole[index] = similarity
                else:
                    sentence_scores[pid] = similarity
                    best_sentence[index] = max(best_sentence[index], similarity)
        return whole, best_sentence, sentence_scores
