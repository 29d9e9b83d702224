"""The index on a Chroma server (`[retrieval] chroma_url`), shared by several processes: of two
that start together on rulebooks the server has no index of, one embeds and the other waits for it,
so the passages are embedded once and stored once; a build left by a process that died is taken
over; a revision embeds only what it changed."""

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import chromadb
import numpy as np
import pytest

from knowledge import parse_rulebook
from retrieval import dense
from retrieval.corpus import Corpus
from retrieval.dense import DenseIndex
from retrieval.progress import PASSAGES
from tests.bot.processes import WAIT_S, chroma_server
from tests.knowledge.revisions import RULEBOOK, revised, write_text
from tests.retrieval.test_dense_reuse import CountingEmbedder


class HeldEmbedder(CountingEmbedder):
    """Embeds only once another process is seen waiting for the build: the two starts overlap."""

    def __init__(self) -> None:
        super().__init__()
        self.builder: int | None = None
        self.other_waits = threading.Event()

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        self.builder = threading.get_ident()
        assert self.other_waits.wait(WAIT_S), "the second process never waited for the build"
        return super().embed_passages(texts)

    def progress(self, stage: str, done: int, total: int) -> None:
        if stage == PASSAGES and self.builder not in (None, threading.get_ident()):
            self.other_waits.set()


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("chroma_server")
    with chroma_server(folder / "db", folder / "chroma.log") as url:
        yield url


def _family_sizes(url: str, model_id: str) -> dict[str, int]:
    """Passages stored per index of the model (its articles' collection and its sentences')."""
    host, port = url.removeprefix("http://").split(":")
    sizes: dict[str, int] = {}
    for collection in chromadb.HttpClient(host, int(port)).list_collections():
        if model_id in collection.name:
            index = collection.name.removesuffix("-s")
            sizes[index] = sizes.get(index, 0) + collection.count()
    return sizes


def test_two_processes_starting_together_embed_once(server_url: str, tmp_path: Path) -> None:
    corpus = Corpus([parse_rulebook(RULEBOOK)])
    embedder = HeldEmbedder()
    embedder.model_id = "held-test-model"
    with ThreadPoolExecutor(2) as pool:
        started = [
            pool.submit(DenseIndex, tmp_path / name, corpus, embedder, embedder.progress, server_url)
            for name in ("first", "second")
        ]
        first, second = (future.result() for future in started)
    passages = corpus.article_passages + corpus.sentence_passages
    assert sorted([first.rebuilt, second.rebuilt]) == [False, True]
    assert sorted(embedder.embedded) == sorted(p.indexed_text for p in passages), "each passage embedded once"
    assert list(_family_sizes(server_url, "held-test-model").values()) == [len(passages)], "one index, stored once"
    assert np.allclose(first.article_vectors(), second.article_vectors())
    question = second.embed_question("副区长离开本地要向谁请示")
    best = int(np.argmax(first.search(question, 5, 5)[0]))
    assert best == int(np.argmax(second.search(question, 5, 5)[0]))

    # A revision: one process builds the new index from the vectors of the old.
    new = Corpus([parse_rulebook(write_text(tmp_path / "2024.txt", revised()), key=RULEBOOK.stem)])
    embedder.embedded.clear()
    embedder.other_waits.set()
    again = DenseIndex(tmp_path / "third", new, embedder, url=server_url)
    changed = {p.indexed_text for p in new.article_passages + new.sentence_passages} - {
        p.indexed_text for p in passages
    }
    assert again.rebuilt and set(embedder.embedded) == changed and 3 <= len(changed) < 20
    assert sorted(_family_sizes(server_url, "held-test-model").values()) == sorted(
        [len(passages), len(new.article_passages + new.sentence_passages)]
    ), "the index it replaces is kept for a process still answering from it"


def test_a_build_left_by_a_dead_process_is_taken_over(
    server_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = Corpus([parse_rulebook(RULEBOOK)])
    embedder = CountingEmbedder()
    embedder.model_id = "orphan-test-model"

    class Dies(Exception):
        pass

    def die(texts: list[str]) -> np.ndarray:
        raise Dies

    with monkeypatch.context() as patch:
        patch.setattr(embedder, "embed_passages", die)
        with pytest.raises(Dies):
            DenseIndex(tmp_path / "dead", corpus, embedder, url=server_url)
    assert list(_family_sizes(server_url, "orphan-test-model").values()) == [0], "left half-built"

    monkeypatch.setattr(dense, "STALLED_S", 1.0)
    index = DenseIndex(tmp_path / "next", corpus, embedder, url=server_url)
    passages = corpus.article_passages + corpus.sentence_passages
    assert index.rebuilt and len(embedder.embedded) == len(passages)
    assert list(_family_sizes(server_url, "orphan-test-model").values()) == [len(passages)]
