"""The dense channel: passages embedded into a ChromaDB collection, in a local folder or on a
Chroma server (`[retrieval] chroma_url`) that several bot processes, the CLI and the console share.

A collection is named by a content hash of the passages and the model, so every process that reads
the same rulebooks finds the same one, and a start with the same hash reuses its vectors. Building
one is claimed by creating it (creation is atomic on the server: only one process succeeds), and it
is marked ready only when every passage is in it; the other processes wait for that instead of
embedding again or reading a half-built index. A builder that dies is noticed by its collection no
longer growing, and another takes over. A new collection (a book was published or revised) reuses
the vector of every passage whose text the newest ready one holds: only what changed is embedded (a
three-article revision embeds those articles' passages). The collection it replaces is kept, as a
process that has not yet swapped its engine may still search it; older ones are deleted.
"""

import hashlib
import logging
import os
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import chromadb
import numpy as np
from chromadb.api import ClientAPI
from chromadb.config import Settings
from chromadb.errors import ChromaError, NotFoundError

from retrieval.corpus import Corpus, Passage
from retrieval.embeddings import Embedder
from retrieval.errors import IndexUnavailableError
from retrieval.progress import PASSAGES, Progress, silent

log = logging.getLogger(__name__)
# The embedder reads only the start of a question: its cost grows with the square of the length
# (a pasted page took seconds), and a real question is a sentence or two.
QUERY_WINDOW = 256
# Passages embedded per call: small enough that a first start can say how far it is every few
# seconds, and that a collection being built grows often enough to tell a live builder from a dead one.
_BATCH = 32
# Passages written to Chroma per call (below its maximum batch size), and read per call.
_ADD_BATCH = 1000
_PAGE = 5000
# Sentences are kept in a collection of their own beside the articles' (named with this suffix):
# a query filtered by kind within one collection scans it (0.4-0.8 s at 10,000 articles), a query
# of a collection of one kind is an HNSW search (milliseconds).
_SENTENCES = "-s"
# Bump when the collections' layout changes: an index of another layout is then only a source of
# vectors for the new one.
_LAYOUT = "2"
# Metadata of a collection: building or ready, and when it was finished (to find the newest).
_STATE, _BUILDING, _READY, _BUILT_AT = "state", "building", "ready", "built_at"
# A collection being built that has not grown for this long was left by a process that died.
STALLED_S = 120.0
# Attempts to claim a collection that neither can be created nor exists.
_CLAIMS = 3
# How often a process waiting for another's build looks again.
_POLL_S = 0.5


def open_client(path: Path, url: str | None) -> ClientAPI:
    """The Chroma server at `url` (http://host:port), or else the local folder `path`. The folder
    exists either way: it keeps the article vectors beside the index (DenseIndex.article_vectors)."""
    settings = Settings(anonymized_telemetry=False)
    path.mkdir(parents=True, exist_ok=True)
    if not url:
        return chromadb.PersistentClient(path=str(path), settings=settings)
    parts = urlsplit(url)
    assert parts.hostname is not None, "bot.config checks the address"
    port = parts.port or (443 if parts.scheme == "https" else 8000)
    try:
        return chromadb.HttpClient(parts.hostname, port, parts.scheme == "https", settings=settings)
    except (ValueError, ChromaError) as exc:
        raise IndexUnavailableError(f"the Chroma server at {url} does not answer: {exc}") from None


def _stored_vectors(collection: chromadb.Collection | None) -> dict[str, np.ndarray]:
    """The stored vector of each stored passage text (none from a collection stored without texts)."""
    vectors: dict[str, np.ndarray] = {}
    if collection is None:
        return vectors
    for documents, embeddings, _ in _pages(collection, ["documents", "embeddings"]):
        vectors |= {text: np.asarray(vector) for text, vector in zip(documents, embeddings, strict=False) if text}
    return vectors


def _pages(
    collection: chromadb.Collection, include: list
) -> Iterator[tuple[list[str], list[Any] | np.ndarray, list[Any]]]:
    """(documents, embeddings, metadatas) of every passage stored, a page at a time: Chroma refuses
    to return tens of thousands at once (too many SQL variables)."""
    for offset in range(0, collection.count(), _PAGE):
        found = collection.get(include=include, limit=_PAGE, offset=offset)
        embeddings = found.get("embeddings")
        if embeddings is None:
            return
        yield found.get("documents") or [], embeddings, found.get("metadatas") or []


def _built_at(collection: chromadb.Collection) -> float | None:
    """When a collection was finished; None while it is being built. One written before collections
    had states (a single collection per model, rebuilt in place) counts as the oldest ready one."""
    metadata = collection.metadata or {}
    if metadata.get(_STATE) == _BUILDING:
        return None
    return float(metadata.get(_BUILT_AT, 0.0))


def _companion(client: ClientAPI, name: str) -> chromadb.Collection | None:
    """The sentences' collection beside an article collection (None beside one from before they
    were kept apart, which holds both kinds)."""
    try:
        return client.get_collection(name + _SENTENCES)
    except NotFoundError:
        return None


def _size(client: ClientAPI, name: str) -> int:
    """How many passages an index being built holds so far."""
    companion = _companion(client, name)
    return client.get_collection(name).count() + (companion.count() if companion else 0)


def _delete(client: ClientAPI, name: str) -> None:
    """Delete a collection another process may have deleted already."""
    try:
        client.delete_collection(name)
    except NotFoundError:
        pass


class DenseIndex:
    """Cosine search over article and sentence passages stored in Chroma."""

    def __init__(
        self, path: Path, corpus: Corpus, embedder: Embedder, progress: Progress = silent, url: str | None = None
    ) -> None:
        """The index in the folder `path`, or on the Chroma server at `url` when one is given."""
        self._corpus = corpus
        self._embedder = embedder
        client = open_client(path, url)
        self._family = "rules-" + re.sub(r"[^a-zA-Z0-9]+", "-", embedder.model_id).strip("-")[:40]
        content = f"{_LAYOUT}\n{corpus.content_hash(embedder.model_id)}"
        name = f"{self._family}-{hashlib.sha256(content.encode()).hexdigest()[:16]}"
        self.rebuilt = False  # whether this process built the collection (and embedded what was new)
        self._vectors_file = path / f"{name}.npy"
        # The article of each passage id, as the passages' metadata says: reading the metadata of
        # the 200 passages a question finds was half the time of its two Chroma queries.
        self._article_of = {p.id: p.article_index for p in corpus.article_passages + corpus.sentence_passages}
        self._articles = self._open(client, name, progress)
        self._sentences = client.get_collection(name + _SENTENCES)
        # The search and the comparison with the office's curated answers both need a question's
        # vector: make_embedder's embedder remembers questions (retrieval.embeddings), so it is
        # embedded once without a second cache here.
        self._embed_window = self._embedder.embed_query

    def _open(self, client: ClientAPI, name: str, progress: Progress) -> chromadb.Collection:
        """The ready article collection `name` (its sentences beside it): built here if no process
        has claimed it, else awaited."""
        total = len(self._corpus.article_passages) + len(self._corpus.sentence_passages)
        watched: tuple[str, int, float] | None = None  # the build awaited: its id, size, and since when
        vanished = 0
        while True:
            try:
                collection = client.create_collection(name, metadata={"hnsw:space": "cosine", _STATE: _BUILDING})
            except ChromaError as exc:
                claimed = exc  # it exists: ready, or another process is building it
            else:
                self._build(client, collection, progress)
                return collection
            try:
                collection = client.get_collection(name)
                if _built_at(collection) is not None:
                    return collection
                # Counting a ready index took ~0.2 s per 10,000 passages at every start: only a build is counted.
                size = _size(client, name)
            except NotFoundError:
                vanished += 1
                if vanished > _CLAIMS:
                    raise claimed from None  # not a collection that exists: creating it fails
                watched = None
                continue  # deleted (as stalled) since: claim it
            now = time.monotonic()
            progress(PASSAGES, size, total)
            if watched is None or watched[:2] != (str(collection.id), size):
                watched = (str(collection.id), size, now)
            elif now - watched[2] > STALLED_S:
                log.warning("collection %s has not grown for %.0f s: building it again", name, now - watched[2])
                _delete(client, name + _SENTENCES)
                _delete(client, name)
                continue
            time.sleep(_POLL_S)

    def _build(self, client: ClientAPI, articles: chromadb.Collection, progress: Progress) -> None:
        """Fill the claimed collection and its sentences', reusing the newest ready index's vectors,
        mark it ready, and delete the indexes before the one it replaces."""
        self.rebuilt = True
        family = re.compile(re.escape(self._family) + r"(-[0-9a-f]{16})?")
        others = [c for c in client.list_collections() if family.fullmatch(c.name) and c.name != articles.name]
        ready = sorted((c for c in others if _built_at(c) is not None), key=lambda c: _built_at(c) or 0.0)
        stored: dict[str, np.ndarray] = {}
        if ready:
            stored = _stored_vectors(ready[-1]) | _stored_vectors(_companion(client, ready[-1].name))
        _delete(client, articles.name + _SENTENCES)  # left by a builder that died
        sentences = client.create_collection(articles.name + _SENTENCES, metadata={"hnsw:space": "cosine"})
        passages = self._corpus.article_passages + self._corpus.sentence_passages
        self._embed_into({"article": articles, "sentence": sentences}, passages, progress, stored)
        articles.modify(metadata={_STATE: _READY, _BUILT_AT: time.time()})
        for older in ready[:-1]:
            _delete(client, older.name + _SENTENCES)
            _delete(client, older.name)

    def _embed_into(
        self,
        collections: dict[str, chromadb.Collection],
        passages: list[Passage],
        progress: Progress,
        stored: dict[str, np.ndarray],
    ) -> None:
        """Store every passage in the collection of its kind; embed those whose text has no stored
        vector (`stored`, by text). The text goes in as the document, so that the next build can
        reuse the vector. Passages are written as they are embedded, so that a process waiting for
        this build sees it grow."""
        new_count = len({p.indexed_text for p in passages} - stored.keys())
        log.info("embedding %d of %d passages with %s", new_count, len(passages), self._embedder.model_id)
        progress(PASSAGES, 0, new_count)
        embedded = 0
        chunk: list[Passage] = []
        new: dict[str, None] = {}  # texts to embed, once each (books repeat their boilerplate)
        for position, passage in enumerate(passages, 1):
            chunk.append(passage)
            if passage.indexed_text not in stored:
                new[passage.indexed_text] = None
            if len(new) < _BATCH and len(chunk) < _ADD_BATCH and position < len(passages):
                continue
            if new:
                vectors = self._embedder.embed_passages(list(new))
                stored |= dict(zip(new, vectors, strict=True))
                embedded += len(new)
                progress(PASSAGES, embedded, new_count)
            for kind, collection in collections.items():
                batch = [p for p in chunk if p.kind == kind]
                if batch:
                    collection.add(
                        ids=[p.id for p in batch],
                        embeddings=np.array([stored[p.indexed_text] for p in batch], dtype=np.float32),
                        documents=[p.indexed_text for p in batch],
                        metadatas=[{"article": p.article_index} for p in batch],
                    )
            chunk, new = [], {}

    def article_vectors(self) -> np.ndarray:
        """The stored embedding of every article, in corpus order. They are also kept in a file
        beside the index, named as its collection (whose content never changes): reading them
        from Chroma page by page took seconds of every start at 10,000 articles."""
        try:
            vectors = np.load(self._vectors_file)
            if vectors.shape[0] == len(self._corpus.articles):
                return vectors
        except (OSError, ValueError) as exc:
            if self._vectors_file.exists():
                log.warning("reading the article vectors from the index: %s", exc)
        vectors = self._read_article_vectors()
        # Processes sharing the folder write their own files; the last rename wins with the same vectors.
        temporary = self._vectors_file.with_suffix(f".{os.getpid()}-{threading.get_ident()}.tmp.npy")
        np.save(temporary, vectors)
        temporary.replace(self._vectors_file)
        for older in self._vectors_file.parent.glob(f"{self._family}-*.npy"):
            if older != self._vectors_file and not older.name.endswith(".tmp.npy"):
                older.unlink(missing_ok=True)
        return vectors

    def _read_article_vectors(self) -> np.ndarray:
        vectors: np.ndarray | None = None
        for _, embeddings, metadatas in _pages(self._articles, ["embeddings", "metadatas"]):
            if vectors is None:
                vectors = np.zeros((len(self._corpus.articles), len(embeddings[0])))
            for meta, vector in zip(metadatas, embeddings, strict=True):
                vectors[int(meta["article"])] = vector
        assert vectors is not None, "an index holds every article"
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
        for collection, limit in ((self._articles, articles), (self._sentences, sentences)):
            result = collection.query(query_embeddings=[vector], n_results=limit, include=["distances"])
            distances = result["distances"]
            assert distances is not None  # included, so returned
            for pid, distance in zip(result["ids"][0], distances[0], strict=True):
                similarity = 1.0 - float(distance)
                index = self._article_of[pid]
                if collection is self._articles:
                    whole[index] = similarity
                else:
                    sentence_scores[pid] = similarity
                    best_sentence[index] = max(best_sentence[index], similarity)
        return whole, best_sentence, sentence_scores
