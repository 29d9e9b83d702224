"""A rebuilt dense index embeds only the passages whose text is new: publishing a revision of one
book costs the embedding of its changed articles, not of every book again."""

import hashlib
from pathlib import Path

import numpy as np
import pytest

from knowledge import parse_rulebook
from retrieval.corpus import Corpus
from retrieval.dense import DenseIndex
from tests.knowledge.revisions import RULEBOOK, revised, write_text


class CountingEmbedder:
    """A stand-in model: a fixed vector per text, and a count of the passages it embedded."""

    model_id = "counting-test-model"

    def __init__(self) -> None:
        self.embedded: list[str] = []

    def _vector(self, text: str) -> np.ndarray:
        seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big")
        vector = np.random.default_rng(seed).standard_normal(16).astype(np.float32)
        return vector / np.linalg.norm(vector)

    def embed_query(self, text: str) -> np.ndarray:
        return self._vector(text)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        self.embedded += texts
        return np.array([self._vector(t) for t in texts])


def test_a_revision_embeds_only_the_passages_it_changed(tmp_path: Path) -> None:
    old = Corpus([parse_rulebook(RULEBOOK)])
    embedder = CountingEmbedder()
    first = DenseIndex(tmp_path / "chroma", old, embedder)
    assert first.rebuilt and len(embedder.embedded) == len(old.article_passages) + len(old.sentence_passages)
    before = first.article_vectors()

    new_book = parse_rulebook(write_text(tmp_path / "2024.txt", revised()), key=RULEBOOK.stem)
    new = Corpus([new_book])
    embedder.embedded.clear()
    again = DenseIndex(tmp_path / "chroma", new, embedder)
    assert again.rebuilt
    changed = {p.indexed_text for p in new.article_passages + new.sentence_passages} - {
        p.indexed_text for p in old.article_passages + old.sentence_passages
    }
    assert set(embedder.embedded) == changed and 3 <= len(changed) < 20
    # Every article has its vector: the unchanged ones as before, the changed ones their new text's.
    vectors = again.article_vectors()
    assert np.allclose(vectors[0], before[0], atol=1e-6)
    number_79 = next(i for i, ref in enumerate(new.articles) if ref.article.number == 79)
    assert np.allclose(vectors[number_79], embedder._vector(new.article_passages[number_79].indexed_text), atol=1e-6)
    assert not np.allclose(vectors[number_79], before[number_79])


def test_a_restart_reads_the_article_vectors_from_the_file_beside_the_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = Corpus([parse_rulebook(RULEBOOK)])
    vectors = DenseIndex(tmp_path / "chroma", corpus, CountingEmbedder()).article_vectors()
    (kept,) = (tmp_path / "chroma").glob("rules-*.npy")
    again = DenseIndex(tmp_path / "chroma", corpus, CountingEmbedder())
    assert not again.rebuilt
    read_from_chroma = again._read_article_vectors
    with monkeypatch.context() as patched:
        patched.setattr(again, "_read_article_vectors", lambda: pytest.fail("read from Chroma"))
        assert np.array_equal(again.article_vectors(), vectors)

    kept.write_bytes(b"damaged")
    monkeypatch.setattr(again, "_read_article_vectors", read_from_chroma)
    assert np.array_equal(again.article_vectors(), vectors)
    assert np.array_equal(np.load(kept), vectors)
